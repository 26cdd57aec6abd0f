package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The Samba Active Directory domain controller dc1 of CORP.EXAMPLE.TEST,
// provisioned afresh into Config.Dir/ad/samba at every lab start. What it
// takes on this kind of machine (each was seen):
//   - provision writes the machine's DNS server as "dns forwarder": the line
//     is deleted;
//   - samba_dnsupdate reads /etc/resolv.conf: the host bind-mounts a private
//     one naming the DC itself;
//   - libwbclient has /run/samba compiled in, and Samba logs to
//     /var/log/samba: private folders are bind-mounted over both, and the
//     ntp signd socket goes into the DC's folder (Samba makes it, mode 0750;
//     it refuses a folder of another mode);
//   - Samba's self-made certificate has no subjectAltName, which Go refuses:
//     the lab CA's certificate replaces it ("tls cafile" empty: no client
//     certificates);
//   - samba-dcerpcd outlives the samba master: stopping the DC kills every
//     process of its host.
//
// Simple binds without TLS are refused (use LDAPS or StartTLS), and the
// default password policy (7 characters, complexity) stays: tests change it
// with SambaTool.

const (
	adRealm    = "CORP.EXAMPLE.TEST"
	adDomain   = "corp.example.test"
	adNetBIOS  = "CORP"
	adHostname = "dc1"
	adBaseDN   = "DC=corp,DC=example,DC=test"
	adAdminDN  = "CN=Administrator,CN=Users," + adBaseDN
	adDir      = "ad"
	adPWFile   = "ad-admin.pw"
)

// activeDirectory is the component that provisions and starts the DC when
// Config.ActiveDirectory is set.
type activeDirectory struct{}

func (activeDirectory) name() string { return "active directory" }

func (activeDirectory) start(ctx context.Context, l *Lab) error {
	if !l.cfg.ActiveDirectory {
		return nil
	}
	h := l.net.dc
	dir := filepath.Join(l.cfg.Dir, adDir)
	target, runDir, logDir := l.sambaDir(), filepath.Join(dir, "run"), filepath.Join(dir, "log")
	for _, d := range []string{target, runDir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte(fmt.Sprintf("nameserver %s\nsearch %s\n", h.addr, adDomain)), 0o644); err != nil {
		return err
	}
	cert, key, err := l.issueCert(ctx, "dc1", h.addr, h.dnsName)
	if err != nil {
		return err
	}
	d := Directory{
		Name:             ADName,
		Kind:             KindActiveDirectory,
		Addr:             h.addr,
		URL:              "ldaps://" + h.addr + ":636",
		StartTLSURL:      "ldap://" + h.addr + ":389",
		BaseDN:           adBaseDN,
		UsersDN:          "OU=Staff," + adBaseDN,
		GroupsDN:         "OU=Groups," + adBaseDN,
		ComputersDN:      "OU=Workstations," + adBaseDN,
		Domain:           adDomain,
		BindDN:           adAdminDN,
		BindPassword:     newPassword(),
		BindPasswordFile: filepath.Join(l.cfg.Dir, adPWFile),
		CACertFile:       l.CACertFile(),
	}
	if err := writePassword(d.BindPasswordFile, d.BindPassword); err != nil {
		return err
	}
	if err := l.startDirHost(ctx, h, dir,
		resolv, "/etc/resolv.conf", runDir, "/run/samba", logDir, "/var/log/samba"); err != nil {
		return err
	}
	t0 := time.Now()
	provision := strings.Join([]string{"samba-tool", "domain", "provision",
		"--targetdir=" + shq(target), "--realm=" + adRealm, "--domain=" + adNetBIOS,
		"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--adminpass=" + shq(d.BindPassword),
		"--host-name=" + adHostname, "--host-ip=" + h.addr, "--use-rfc2307",
		shq("--option=interfaces=lo eth0"), shq("--option=bind interfaces only=yes"),
		">" + shq(filepath.Join(dir, "provision.log")), "2>&1"}, " ")
	if _, _, err := l.execIn(ctx, h.netns, provision); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "provision.log"))
		return fmt.Errorf("provision: %w: %s", err, tail(string(log), 2000))
	}
	l.timing("samba provision", time.Since(t0))
	if err := fixSambaConf(l.sambaConf(), cert, key, filepath.Join(target, "ntp_signd")); err != nil {
		return err
	}
	t0 = time.Now()
	if err := l.startSamba(ctx); err != nil {
		return err
	}
	if err := l.waitSamba(ctx, d); err != nil {
		return err
	}
	l.timing("samba ready", time.Since(t0))
	if err := seedAD(ctx, d); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	l.setDirectory(d)
	return nil
}

func (l *Lab) sambaDir() string  { return filepath.Join(l.cfg.Dir, adDir, "samba") }
func (l *Lab) sambaConf() string { return filepath.Join(l.sambaDir(), "etc", "smb.conf") }

// fixSambaConf drops the provisioned "dns forwarder" and sets the lab's
// certificate and the ntp signd folder.
func fixSambaConf(path, cert, key, ntpDir string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "dns forwarder") {
			continue
		}
		out = append(out, line)
		if strings.TrimSpace(line) == "[global]" {
			out = append(out,
				"\t# Set by the onboard lab.",
				"\ttls enabled = yes",
				"\ttls keyfile = "+key,
				"\ttls certfile = "+cert,
				"\ttls cafile =",
				"\tntp signd socket directory = "+ntpDir)
		}
	}
	return writeFileAtomic(path, []byte(strings.Join(out, "\n")), 0o644)
}

// startSamba starts the samba master (it daemonizes) in the DC's host.
func (l *Lab) startSamba(ctx context.Context) error {
	logPath := filepath.Join(l.cfg.Dir, adDir, "samba.out")
	script := fmt.Sprintf("rm -f /run/samba/*.pid; samba -D -s %s </dev/null >>%s 2>&1", shq(l.sambaConf()), shq(logPath))
	if _, _, err := l.execIn(ctx, l.net.dc.netns, script); err != nil {
		return fmt.Errorf("start samba: %w: %s", err, l.sambaLogs())
	}
	return nil
}

// waitSamba waits for an admin bind over LDAPS and for the KDC.
func (l *Lab) waitSamba(ctx context.Context, d Directory) error {
	if err := l.waitDirectory(ctx, d); err != nil {
		return fmt.Errorf("%w: %s", err, l.sambaLogs())
	}
	if err := waitTCP(ctx, net.JoinHostPort(d.Addr, "88"), 30*time.Second); err != nil {
		return fmt.Errorf("kdc: %w: %s", err, l.sambaLogs())
	}
	return nil
}

func (l *Lab) sambaLogs() string {
	dir := filepath.Join(l.cfg.Dir, adDir)
	out, _ := os.ReadFile(filepath.Join(dir, "samba.out"))
	log, _ := os.ReadFile(filepath.Join(dir, "log", "log.samba"))
	return fmt.Sprintf("samba: %s; log.samba: %s", tail(string(out), 500), tail(string(log), 1500))
}

// SambaTool runs samba-tool with args against the lab's DC (its smb.conf,
// inside its host) and returns what it printed on stdout, e.g.
// SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-length=20").
func (l *Lab) SambaTool(ctx context.Context, args ...string) (string, error) {
	if _, err := l.directory(ADName); err != nil {
		return "", err
	}
	q := make([]string, 0, len(args)+2)
	q = append(q, "samba-tool")
	for _, a := range args {
		q = append(q, shq(a))
	}
	q = append(q, "--configfile="+shq(l.sambaConf()))
	out, _, err := l.execIn(ctx, l.net.dc.netns, strings.Join(q, " "))
	if err != nil {
		return out, fmt.Errorf("samba-tool %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// seedAD adds the lab's OUs, groups and managers over LDAPS.
func seedAD(ctx context.Context, d Directory) error {
	c, err := d.adminConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var reqs []*ldap.AddRequest
	for _, ou := range []string{"Staff", "Groups", "Workstations", "Leavers"} {
		r := ldap.NewAddRequest("OU="+ou+","+adBaseDN, nil)
		r.Attribute("objectClass", []string{"organizationalUnit"})
		r.Attribute("ou", []string{ou})
		reqs = append(reqs, r)
	}
	for _, g := range seedGroups {
		r := ldap.NewAddRequest("CN="+g+","+d.GroupsDN, nil)
		r.Attribute("objectClass", []string{"group"})
		r.Attribute("cn", []string{g})
		r.Attribute("sAMAccountName", []string{g})
		reqs = append(reqs, r)
	}
	for _, u := range seedManagers {
		r := ldap.NewAddRequest("CN="+u.cn()+","+d.UsersDN, nil)
		r.Attribute("objectClass", []string{"user"})
		r.Attribute("sAMAccountName", []string{u.uid})
		r.Attribute("userPrincipalName", []string{u.uid + "@" + adDomain})
		r.Attribute("givenName", []string{u.given})
		r.Attribute("sn", []string{u.sn})
		r.Attribute("displayName", []string{u.cn()})
		r.Attribute("mail", []string{u.uid + "@" + mailDomain})
		r.Attribute("title", []string{u.title})
		r.Attribute("department", []string{u.dept})
		r.Attribute("uidNumber", []string{strconv.Itoa(u.uidNumber)})
		r.Attribute("gidNumber", []string{strconv.Itoa(seedGIDNumber)})
		r.Attribute("unixHomeDirectory", []string{"/home/" + u.uid})
		r.Attribute("loginShell", []string{"/bin/bash"})
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		if err := c.Add(r); err != nil {
			return fmt.Errorf("add %s: %w", r.DN, err)
		}
	}
	return nil
}
