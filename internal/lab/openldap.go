package lab

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OpenLDAP: slapd with a cn=config made by slapadd (schemas core, cosine,
// nis, inetorgperson; modules back_mdb, memberof, refint) and the seed
// entries loaded by slapadd too, before slapd starts, so it is ready in a
// fraction of a second. slapd runs in the foreground (-d) in its own host,
// logging to Config.Dir/ldap/slapd.log.

const (
	ldapBaseDN = "dc=corp,dc=example,dc=test"
	ldapRootDN = "cn=admin," + ldapBaseDN
	ldapDir    = "ldap"
	ldapPWFile = "ldap-admin.pw"
)

// ldapConfig is the cn=config LDIF (arguments, in order: folder, CA
// certificate, server certificate, server key, data folder, rootdn,
// hashed root password). Users may bind and read; only the rootdn writes,
// except that a user may change their own password. Each
// olcRefintAttribute is a value of its own.
const ldapConfig = `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args
olcTLSCACertificateFile: %[2]s
olcTLSCertificateFile: %[3]s
olcTLSCertificateKeyFile: %[4]s
olcLogLevel: stats

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}memberof
olcModuleLoad: {2}refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/nis.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read
olcSizeLimit: 1000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: %[5]s
olcSuffix: ` + ldapBaseDN + `
olcRootDN: %[6]s
olcRootPW: %[7]s
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail eq
olcDbIndex: member,memberOf eq
olcDbIndex: uidNumber,gidNumber eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: memberof
olcRefintAttribute: member
olcRefintAttribute: manager
olcRefintAttribute: owner
`

// ldapPPolicy loads the ppolicy overlay (Config.PPolicy) with a default
// policy that names the password attribute and turns lockout on (with no
// limit on failed binds): what onboard needs of it is the administrative
// lock (pwdAccountLockedTime, which slapd enforces only under a policy
// with pwdLockout TRUE), pwdChangedTime and pwdReset. Appended
// to ldapConfig; the module list there gets the module, and the seed the
// policy entry (ldapPolicyEntry).
const ldapPPolicy = `
dn: olcOverlay={2}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {2}ppolicy
olcPPolicyDefault: cn=default,ou=Policies,` + ldapBaseDN + `
`

// ldapPolicyEntry is the default password policy's entry (Config.PPolicy).
const ldapPolicyEntry = `dn: ou=Policies,` + ldapBaseDN + `
objectClass: organizationalUnit
ou: Policies

dn: cn=default,ou=Policies,` + ldapBaseDN + `
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0

`

// ldapSeed is the directory's starting content. groupOfNames needs a
// member: the rootdn holds the place.
func ldapSeed() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: corp\no: Corp\n\n", ldapBaseDN)
	for _, ou := range []string{"People", "Groups", "Leavers"} {
		fmt.Fprintf(&b, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, ldapBaseDN, ou)
	}
	for _, g := range seedGroups {
		fmt.Fprintf(&b, "dn: cn=%s,ou=Groups,%s\nobjectClass: groupOfNames\ncn: %s\nmember: %s\n\n", g, ldapBaseDN, g, ldapRootDN)
	}
	for _, u := range seedManagers {
		fmt.Fprintf(&b, "dn: uid=%s,ou=People,%s\n", u.uid, ldapBaseDN)
		b.WriteString("objectClass: inetOrgPerson\nobjectClass: posixAccount\n")
		fmt.Fprintf(&b, "uid: %s\ncn: %s\ngivenName: %s\nsn: %s\ndisplayName: %s\nmail: %s@%s\ntitle: %s\nou: %s\n",
			u.uid, u.cn(), u.given, u.sn, u.cn(), u.uid, mailDomain, u.title, u.dept)
		fmt.Fprintf(&b, "uidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\nloginShell: /bin/bash\n\n",
			u.uidNumber, seedGIDNumber, u.uid)
	}
	return b.String()
}

// ssha hashes a password the way slappasswd does by default: {SSHA}.
func ssha(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// openLDAP is the component that starts slapd when Config.OpenLDAP is set.
type openLDAP struct{}

func (openLDAP) name() string { return "openldap" }

func (openLDAP) start(ctx context.Context, l *Lab) error {
	if !l.cfg.OpenLDAP {
		return nil
	}
	h := l.net.ldap
	dir := filepath.Join(l.cfg.Dir, ldapDir)
	confDir, dataDir := filepath.Join(dir, "slapd.d"), filepath.Join(dir, "data")
	for _, d := range []string{confDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	cert, key, err := l.issueCert(ctx, "ldap", h.addr, h.dnsName)
	if err != nil {
		return err
	}
	d := Directory{
		Name:             LDAPName,
		Kind:             KindOpenLDAP,
		Addr:             h.addr,
		URL:              "ldaps://" + h.addr + ":636",
		StartTLSURL:      "ldap://" + h.addr + ":389",
		BaseDN:           ldapBaseDN,
		UsersDN:          "ou=People," + ldapBaseDN,
		GroupsDN:         "ou=Groups," + ldapBaseDN,
		BindDN:           ldapRootDN,
		BindPassword:     newPassword(),
		BindPasswordFile: filepath.Join(l.cfg.Dir, ldapPWFile),
		CACertFile:       l.CACertFile(),
	}
	if err := writePassword(d.BindPasswordFile, d.BindPassword); err != nil {
		return err
	}
	config := filepath.Join(dir, "config.ldif")
	seed := filepath.Join(dir, "seed.ldif")
	body := fmt.Sprintf(ldapConfig, dir, l.CACertFile(), cert, key, dataDir, ldapRootDN, ssha(d.BindPassword))
	if l.cfg.PPolicy {
		body = strings.Replace(body, "olcModuleLoad: {2}refint\n", "olcModuleLoad: {2}refint\nolcModuleLoad: {3}ppolicy\n", 1) + ldapPPolicy
	}
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		return err
	}
	seedText := ldapSeed()
	if l.cfg.PPolicy {
		seedText += ldapPolicyEntry
	}
	if err := os.WriteFile(seed, []byte(seedText), 0o644); err != nil {
		return err
	}
	if err := run(ctx, "slapadd", "-n0", "-F", confDir, "-l", config); err != nil {
		return fmt.Errorf("make cn=config: %w", err)
	}
	if err := run(ctx, "slapadd", "-q", "-n1", "-F", confDir, "-l", seed); err != nil {
		return fmt.Errorf("load the seed entries: %w", err)
	}
	if err := l.startDirHost(ctx, h, dir); err != nil {
		return err
	}
	t0 := time.Now()
	if err := l.startSlapd(ctx); err != nil {
		return err
	}
	if err := l.waitDirectory(ctx, d); err != nil {
		return fmt.Errorf("%w: %s", err, l.slapdLog())
	}
	l.timing("slapd ready", time.Since(t0))
	l.setDirectory(d)
	return nil
}

// startSlapd starts slapd in the foreground in its host, detached.
func (l *Lab) startSlapd(ctx context.Context) error {
	dir := filepath.Join(l.cfg.Dir, ldapDir)
	script := fmt.Sprintf("rm -f %[1]s/slapd.pid; setsid slapd -d 256 -F %[1]s/slapd.d -h 'ldap:/// ldaps:///' </dev/null >>%[1]s/slapd.log 2>&1 &",
		shq(dir))
	if _, _, err := l.execIn(ctx, l.net.ldap.netns, script); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	return nil
}

func (l *Lab) slapdLog() string {
	b, _ := os.ReadFile(filepath.Join(l.cfg.Dir, ldapDir, "slapd.log"))
	return "slapd.log: " + tail(string(b), 1500)
}
