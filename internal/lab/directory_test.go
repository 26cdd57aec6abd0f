package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/inventory"
)

// TestDirectories starts a lab with both directory servers and checks them
// the way onboard will use them: LDAPS and StartTLS verified against the
// lab's CA, the seeded groups and managers, an AD user with a password, the
// password policy through samba-tool, a workstation joining the domain, a
// server stopped and started on the same data, and nothing left after Stop.
func TestDirectories(t *testing.T) {
	integration(t)
	start := time.Now()
	l := ForTest(t, Config{Name: "labd", Subnet: 249, Workstations: 1, Printers: []string{"Desk"},
		OpenLDAP: true, ActiveDirectory: true})
	t.Logf("lab with both directories up in %s; steps: %s", time.Since(start).Round(time.Millisecond), l.timingReport())
	ctx := context.Background()

	ad, ok := l.Directory(ADName)
	if !ok {
		t.Fatalf("no directory %s in %+v", ADName, l.Directories)
	}
	ol, ok := l.Directory(LDAPName)
	if !ok {
		t.Fatalf("no directory %s in %+v", LDAPName, l.Directories)
	}
	if len(l.Directories) != 2 || l.Directories[0].Name != ADName || l.Directories[1].Name != LDAPName {
		t.Errorf("Directories = %+v, want corp-ad then corp-ldap", l.Directories)
	}
	wantAD := Directory{Name: ADName, Kind: KindActiveDirectory, Addr: "10.213.249.3",
		URL: "ldaps://10.213.249.3:636", StartTLSURL: "ldap://10.213.249.3:389",
		BaseDN: "DC=corp,DC=example,DC=test", UsersDN: "OU=Staff,DC=corp,DC=example,DC=test",
		GroupsDN: "OU=Groups,DC=corp,DC=example,DC=test", ComputersDN: "OU=Workstations,DC=corp,DC=example,DC=test",
		Domain: "corp.example.test", BindDN: "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test",
		BindPassword: ad.BindPassword, BindPasswordFile: filepath.Join(l.Config().Dir, "ad-admin.pw"),
		CACertFile: filepath.Join(l.Config().Dir, "ca.pem")}
	if ad != wantAD {
		t.Errorf("AD directory = %+v\nwant %+v", ad, wantAD)
	}
	wantLDAP := Directory{Name: LDAPName, Kind: KindOpenLDAP, Addr: "10.213.249.4",
		URL: "ldaps://10.213.249.4:636", StartTLSURL: "ldap://10.213.249.4:389",
		BaseDN: "dc=corp,dc=example,dc=test", UsersDN: "ou=People,dc=corp,dc=example,dc=test",
		GroupsDN: "ou=Groups,dc=corp,dc=example,dc=test", BindDN: "cn=admin,dc=corp,dc=example,dc=test",
		BindPassword: ol.BindPassword, BindPasswordFile: filepath.Join(l.Config().Dir, "ldap-admin.pw"),
		CACertFile: filepath.Join(l.Config().Dir, "ca.pem")}
	if ol != wantLDAP {
		t.Errorf("LDAP directory = %+v\nwant %+v", ol, wantLDAP)
	}

	t.Run("admin passwords are random and in private files", func(t *testing.T) {
		if ad.BindPassword == ol.BindPassword || len(ad.BindPassword) < 16 {
			t.Errorf("passwords %q and %q: want two long different ones", ad.BindPassword, ol.BindPassword)
		}
		for _, d := range l.Directories {
			st, err := os.Stat(d.BindPasswordFile)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", d.BindPasswordFile, st.Mode().Perm())
			}
			if pw, err := readPassword(d.BindPasswordFile); err != nil || pw != d.BindPassword {
				t.Errorf("%s holds %q (%v), want the bind password", d.BindPasswordFile, pw, err)
			}
		}
		state, err := os.ReadFile(filepath.Join(l.Config().Dir, stateFile))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(state), ad.BindPassword) || strings.Contains(string(state), ol.BindPassword) {
			t.Error("the state file holds an admin password")
		}
	})

	t.Run("admin binds over LDAPS and StartTLS, verified against ca.pem", func(t *testing.T) {
		for _, d := range l.Directories {
			c := dialLDAPS(t, d)
			mustBind(t, c, d.BindDN, d.BindPassword)
			c.Close()

			c = dialStartTLS(t, d)
			mustBind(t, c, d.BindDN, d.BindPassword)
			c.Close()

			// A wrong password is refused.
			c = dialLDAPS(t, d)
			if err := c.Bind(d.BindDN, d.BindPassword+"x"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Errorf("%s: bind with a wrong password: %v, want invalid credentials", d.Name, err)
			}
			c.Close()
		}
	})

	t.Run("a client that does not trust the lab CA is refused", func(t *testing.T) {
		for _, d := range l.Directories {
			_, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()}))
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("%s: dial with an empty trust store: %v, want an unknown authority error", d.Name, err)
			}
		}
	})

	t.Run("seeded groups and managers", func(t *testing.T) {
		for _, d := range l.Directories {
			c := adminConn(t, d)
			defer c.Close()
			groupFilter := "(objectClass=groupOfNames)"
			if d.Kind == KindActiveDirectory {
				groupFilter = "(objectClass=group)"
			}
			res := search(t, c, d.GroupsDN, ldap.ScopeSingleLevel, groupFilter, "cn")
			var groups []string
			for _, e := range res {
				groups = append(groups, e.GetAttributeValue("cn"))
			}
			slices.Sort(groups)
			want := slices.Sorted(slices.Values(seedGroups))
			if !slices.Equal(groups, want) {
				t.Errorf("%s: groups in %s = %q, want %q", d.Name, d.GroupsDN, groups, want)
			}
			for _, m := range []struct{ uid, cn string }{{"ghopper", "Grace Hopper"}, {"mbenioff", "Marc Benioff"}} {
				filter := "(&(objectClass=inetOrgPerson)(objectClass=posixAccount)(uid=" + ldap.EscapeFilter(m.uid) + "))"
				if d.Kind == KindActiveDirectory {
					filter = "(&(objectClass=user)(sAMAccountName=" + ldap.EscapeFilter(m.uid) + "))"
				}
				res := search(t, c, d.UsersDN, ldap.ScopeWholeSubtree, filter, "cn", "displayName", "mail", "uidNumber", "gidNumber")
				if len(res) != 1 {
					t.Errorf("%s: %d entries for manager %s, want 1", d.Name, len(res), m.uid)
					continue
				}
				e := res[0]
				if e.GetAttributeValue("cn") != m.cn || e.GetAttributeValue("displayName") != m.cn ||
					e.GetAttributeValue("mail") != m.uid+"@corp.example.test" || e.GetAttributeValue("gidNumber") != "10000" {
					t.Errorf("%s: manager %s = %s", d.Name, m.uid, entryString(e))
				}
			}
		}
		// The OU for computers exists in AD.
		c := adminConn(t, ad)
		defer c.Close()
		if res := search(t, c, ad.ComputersDN, ldap.ScopeBaseObject, "(objectClass=organizationalUnit)", "ou"); len(res) != 1 {
			t.Errorf("no OU %s", ad.ComputersDN)
		}
	})

	t.Run("AD user with a password binds", func(t *testing.T) {
		addADUser(t, ad, "ada", "Ada Lovelace", "Analytical-Engine-1843")
		c := dialLDAPS(t, ad)
		defer c.Close()
		mustBind(t, c, "CN=Ada Lovelace,"+ad.UsersDN, "Analytical-Engine-1843")
		// WhoAmI is not supported: prove the bind with a search.
		res := search(t, c, ad.BaseDN, ldap.ScopeWholeSubtree, "(sAMAccountName=ada)", "memberOf", "userAccountControl")
		if len(res) != 1 || res[0].GetAttributeValue("userAccountControl") != "512" ||
			!slices.Contains(res[0].GetAttributeValues("memberOf"), "CN=engineering,"+ad.GroupsDN) {
			t.Errorf("ada as seen by ada: %v", res)
		}
		mustBind(t, c, "ada@corp.example.test", "Analytical-Engine-1843")
	})

	t.Run("simple bind without TLS is refused by AD", func(t *testing.T) {
		c, err := ldap.DialURL(ad.StartTLSURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Bind(ad.BindDN, ad.BindPassword); err == nil {
			t.Error("plain LDAP simple bind succeeded")
		}
	})

	t.Run("SambaTool changes the password policy", func(t *testing.T) {
		out, err := l.SambaTool(ctx, "domain", "passwordsettings", "show")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Minimum password length: 7") || !strings.Contains(out, "Password complexity: on") {
			t.Errorf("default policy:\n%s", out)
		}
		c := adminConn(t, ad)
		defer c.Close()
		// The default policy refuses a simple password (0000052D).
		err = addADUserErr(c, ad, "weak1", "Weak One", "simple")
		if err == nil || !strings.Contains(err.Error(), "0000052D") {
			t.Errorf("weak password: %v, want 0000052D", err)
		}
		// Samba allows at most 14.
		if _, err := l.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-length=14"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := l.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-length=7"); err != nil {
				t.Error(err)
			}
		})
		out, err = l.SambaTool(ctx, "domain", "passwordsettings", "show")
		if err != nil || !strings.Contains(out, "Minimum password length: 14") {
			t.Errorf("after set: %q, %v", out, err)
		}
		// The running DC applies it at once: 12 characters are too few now.
		err = addADUserErr(c, ad, "weak2", "Weak Two", "Twelve-Chr-1")
		if err == nil || !strings.Contains(err.Error(), "0000052D") {
			t.Errorf("12-character password under a 14-character policy: %v, want 0000052D", err)
		}
		if _, err := l.SambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-length=20"); err == nil {
			t.Error("samba-tool accepted a minimum length of 20 (Samba allows 0 to 14)")
		}
	})

	t.Run("workstation joins the domain with adcli", func(t *testing.T) {
		join := fmt.Sprintf("printf '%%s\\n' %s | adcli join --domain=corp.example.test --domain-controller=%s "+
			"--login-user=Administrator --stdin-password --host-fqdn=ws1.corp.example.test --host-keytab=/etc/krb5.keytab",
			shq(ad.BindPassword), ad.Addr)
		t0 := time.Now()
		if out, errOut, err := l.Exec(ctx, "ws1", join); err != nil {
			t.Fatalf("adcli join: %v\n%s%s", err, out, errOut)
		}
		t.Logf("adcli join in %s", time.Since(t0).Round(time.Millisecond))
		test := "adcli testjoin --domain=corp.example.test --domain-controller=" + ad.Addr + " --host-keytab=/etc/krb5.keytab"
		if out, errOut, err := l.Exec(ctx, "ws1", test); err != nil {
			t.Fatalf("adcli testjoin: %v\n%s%s", err, out, errOut)
		}
		c := adminConn(t, ad)
		defer c.Close()
		res := search(t, c, ad.BaseDN, ldap.ScopeWholeSubtree, "(sAMAccountName=WS1$)", "dNSHostName", "servicePrincipalName")
		if len(res) != 1 || res[0].GetAttributeValue("dNSHostName") != "ws1.corp.example.test" {
			t.Errorf("computer object: %v", res)
		}
	})

	t.Run("the lab's DNS leads a domain member to the DC", func(t *testing.T) {
		_, srvs, err := l.Resolver().LookupSRV(ctx, "ldap", "tcp", Domain)
		if err != nil || len(srvs) != 1 || srvs[0].Target != "dc1.corp.example.test." || srvs[0].Port != 389 {
			t.Errorf("SRV _ldap._tcp.%s: %v %v", Domain, srvs, err)
		}
		// adcli finds the DC by the SRV records alone, and asks it (CLDAP).
		out, errOut, err := l.Exec(ctx, "ws1", "adcli info corp.example.test")
		if err != nil || !strings.Contains(out, "domain-controller = dc1.corp.example.test") {
			t.Errorf("adcli info: %v\n%s%s", err, out, errOut)
		}
	})

	t.Run("sssd resolves domain users and lets only enabled ones log in", func(t *testing.T) {
		if err := l.JoinDomain(ctx, "ws1"); err != nil { // joined above: nothing to do
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := l.StartSSSD(ctx, "ws1"); err != nil {
			t.Fatal(err)
		}
		t.Logf("sssd answers %s after its start", time.Since(t0).Round(time.Millisecond))
		addADUser(t, ad, "hhire", "Hedy Hire", "Frequency-Hopping-1942")
		c := adminConn(t, ad)
		defer c.Close()
		dn := "CN=Hedy Hire," + ad.UsersDN
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("uidNumber", []string{"10050"})
		mod.Replace("gidNumber", []string{"10000"})
		mod.Replace("loginShell", []string{"/bin/sh"})
		mod.Replace("unixHomeDirectory", []string{"/home/hhire"})
		if err := c.Modify(mod); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := l.Exec(ctx, "ws1", "getent passwd hhire")
		if err != nil || !strings.HasPrefix(out, "hhire:*:10050:10000:") || !strings.HasSuffix(out, ":/home/hhire:/bin/sh\n") {
			t.Errorf("getent passwd hhire: %q %v %s", out, err, errOut)
		}
		// su as root asks no password, but the PAM account phase asks SSSD,
		// whose AD access provider refuses a disabled account.
		const login = "su -s /bin/sh hhire -c 'id -un; id -u'"
		if out, errOut, err := l.Exec(ctx, "ws1", login); err != nil || out != "hhire\n10050\n" {
			t.Errorf("login as hhire: %q %v %s", out, err, errOut)
		}
		mod = ldap.NewModifyRequest(dn, nil)
		mod.Replace("userAccountControl", []string{"514"})
		if err := c.Modify(mod); err != nil {
			t.Fatal(err)
		}
		var last string
		if !waitUntil(ctx, 20*time.Second, func() bool {
			out, errOut, err := l.Exec(ctx, "ws1", login)
			last = fmt.Sprintf("%q %v %s", out, err, errOut)
			return err != nil
		}) {
			t.Errorf("login as the disabled hhire still works after 20s: %s", last)
		}
		t.Logf("disabled login refused: %s", last)
	})

	t.Run("stopped directories refuse LDAPS and come back with their data", func(t *testing.T) {
		// An entry that must survive in OpenLDAP.
		c := adminConn(t, ol)
		add := ldap.NewAddRequest("uid=alovelace,"+ol.UsersDN, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{"alovelace"})
		add.Attribute("cn", []string{"Ada Lovelace"})
		add.Attribute("sn", []string{"Lovelace"})
		if err := c.Add(add); err != nil {
			t.Fatal(err)
		}
		c.Close()
		for _, d := range l.Directories {
			t0 := time.Now()
			if err := l.StopDirectory(ctx, d.Name); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s stopped in %s", d.Name, time.Since(t0).Round(time.Millisecond))
			if err := dialRefused(d.Addr + ":636"); err != nil {
				t.Error(err)
			}
			if c, err := d.dial(ctx); err == nil {
				c.Close()
				t.Errorf("%s: LDAPS still answers after StopDirectory", d.Name)
			}
			t0 = time.Now()
			if err := l.StartDirectory(ctx, d.Name); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s started again in %s", d.Name, time.Since(t0).Round(time.Millisecond))
			// Starting a running directory does nothing.
			if err := l.StartDirectory(ctx, d.Name); err != nil {
				t.Error(err)
			}
		}
		c = adminConn(t, ol)
		defer c.Close()
		if res := search(t, c, ol.UsersDN, ldap.ScopeSingleLevel, "(uid=alovelace)", "cn"); len(res) != 1 {
			t.Errorf("OpenLDAP after restart: %d entries for alovelace, want 1", len(res))
		}
		c2 := dialLDAPS(t, ad)
		defer c2.Close()
		mustBind(t, c2, "ada@corp.example.test", "Analytical-Engine-1843")
		if res := search(t, c2, ad.BaseDN, ldap.ScopeWholeSubtree, "(sAMAccountName=WS1$)", "cn"); len(res) != 1 {
			t.Errorf("AD after restart: %d computer objects for ws1, want 1", len(res))
		}
		// The joined workstation still passes against the restarted DC.
		test := "adcli testjoin --domain=corp.example.test --domain-controller=" + ad.Addr + " --host-keytab=/etc/krb5.keytab"
		if out, errOut, err := l.Exec(ctx, "ws1", test); err != nil {
			t.Errorf("adcli testjoin after restart: %v\n%s%s", err, out, errOut)
		}
	})

	t.Run("unknown directory", func(t *testing.T) {
		if err := l.StopDirectory(ctx, "corp-nis"); err == nil || !strings.Contains(err.Error(), `no directory "corp-nis"`) {
			t.Errorf("StopDirectory of an unknown name: %v", err)
		}
	})

	t.Run("open attaches with the directories and their passwords", func(t *testing.T) {
		o, err := Open(Config{Name: "labd"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(o.Directories, l.Directories) {
			t.Errorf("Open: directories %+v, want %+v", o.Directories, l.Directories)
		}
		if out, err := o.SambaTool(ctx, "user", "show", "ghopper", "--attributes=displayName"); err != nil || !strings.Contains(out, "displayName: Grace Hopper") {
			t.Errorf("SambaTool through Open: %q, %v", out, err)
		}
	})

	t.Run("inventory has both directories and loads", func(t *testing.T) {
		b, err := os.ReadFile(l.InventoryFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"directories:\n  corp-ad:\n    kind: active-directory\n    urls: [ldaps://10.213.249.3:636]\n",
			"    bind_password: file:" + ad.BindPasswordFile + "\n    ca_cert: " + ad.CACertFile + "\n",
			"  corp-ldap:\n    kind: openldap\n    urls: [ldaps://10.213.249.4:636]\n",
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("inventory lacks %q:\n%s", want, b)
			}
		}
		inv, err := inventory.Load(l.InventoryFile)
		if err != nil {
			t.Fatalf("onboard's inventory loader refuses the lab's inventory: %v", err)
		}
		if d := inv.Directories[ADName]; d.Kind != KindActiveDirectory || d.ComputersOU != ad.ComputersDN || d.Domain != ad.Domain {
			t.Errorf("loaded AD directory = %+v", d)
		}
		if d := inv.Directories[LDAPName]; d.Kind != KindOpenLDAP || d.UsersOU != ol.UsersDN {
			t.Errorf("loaded LDAP directory = %+v", d)
		}
	})

	t.Run("stop leaves no server behind", func(t *testing.T) {
		var procs []string
		for _, netns := range []string{l.net.dc.netns, l.net.ldap.netns} {
			ino, err := nsInode(netns)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := procsIn(map[uint64]bool{ino: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				procs = append(procs, procIdentity(p.pid))
			}
		}
		if len(procs) < 3 {
			t.Fatalf("only %d processes in the directory hosts before Stop: %q", len(procs), procs)
		}
		dir := l.Config().Dir
		t0 := time.Now()
		if err := l.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("lab with directories down in %s", time.Since(t0).Round(time.Millisecond))
		for _, id := range procs {
			pid, _, _ := strings.Cut(id, " ")
			n, _ := strconv.Atoi(pid)
			if procIdentity(n) == id {
				t.Errorf("process left after Stop: %s", id)
			}
		}
		assertGone(t, "labd", dir, l.Config().Subnet)
	})
}

// procIdentity names a process by PID, start time and command, so that a
// reused PID is not taken for the same process.
func procIdentity(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return ""
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return ""
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return fmt.Sprintf("%d start=%s %s", pid, f[19], strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
}

func tlsFor(t *testing.T, d Directory) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(d.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", d.CACertFile)
	}
	return &tls.Config{RootCAs: pool}
}

func dialLDAPS(t *testing.T, d Directory) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(tlsFor(t, d)))
	if err != nil {
		t.Fatalf("%s: dial %s: %v", d.Name, d.URL, err)
	}
	c.SetTimeout(30 * time.Second)
	return c
}

func dialStartTLS(t *testing.T, d Directory) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(d.StartTLSURL)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", d.Name, d.StartTLSURL, err)
	}
	c.SetTimeout(30 * time.Second)
	cfg := tlsFor(t, d)
	cfg.ServerName = d.Addr // StartTLS does not fill it in
	if err := c.StartTLS(cfg); err != nil {
		c.Close()
		t.Fatalf("%s: StartTLS: %v", d.Name, err)
	}
	return c
}

func mustBind(t *testing.T, c *ldap.Conn, dn, pw string) {
	t.Helper()
	if err := c.Bind(dn, pw); err != nil {
		t.Fatalf("bind as %s: %v", dn, err)
	}
}

func adminConn(t *testing.T, d Directory) *ldap.Conn {
	t.Helper()
	c := dialLDAPS(t, d)
	mustBind(t, c, d.BindDN, d.BindPassword)
	return c
}

func search(t *testing.T, c *ldap.Conn, base string, scope int, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 30, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

func entryString(e *ldap.Entry) string {
	var b strings.Builder
	b.WriteString(e.DN)
	for _, a := range e.Attributes {
		fmt.Fprintf(&b, " %s=%q", a.Name, a.Values)
	}
	return b.String()
}

// adPassword is the unicodePwd value of a password: UTF-16LE of the quoted password.
func adPassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return string(b)
}

// addADUserErr adds a user the usual way: disabled (514), then its
// password, then enabled (512) and put in the engineering group. On error
// it deletes what it added.
func addADUserErr(c *ldap.Conn, d Directory, sam, cn, pw string) (err error) {
	dn := "CN=" + ldap.EscapeDN(cn) + "," + d.UsersDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"user"})
	add.Attribute("sAMAccountName", []string{sam})
	add.Attribute("userPrincipalName", []string{sam + "@" + d.Domain})
	add.Attribute("userAccountControl", []string{"514"})
	if err := c.Add(add); err != nil {
		return fmt.Errorf("add %s: %w", dn, err)
	}
	defer func() {
		if err != nil {
			_ = c.Del(ldap.NewDelRequest(dn, nil))
		}
	}()
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("unicodePwd", []string{adPassword(pw)})
	if err := c.Modify(mod); err != nil {
		return fmt.Errorf("set the password of %s: %w", dn, err)
	}
	mod = ldap.NewModifyRequest(dn, nil)
	mod.Replace("userAccountControl", []string{"512"})
	if err := c.Modify(mod); err != nil {
		return fmt.Errorf("enable %s: %w", dn, err)
	}
	mod = ldap.NewModifyRequest("CN=engineering,"+d.GroupsDN, nil)
	mod.Add("member", []string{dn})
	if err := c.Modify(mod); err != nil {
		return fmt.Errorf("add %s to engineering: %w", dn, err)
	}
	return nil
}

func addADUser(t *testing.T, d Directory, sam, cn, pw string) {
	t.Helper()
	c := adminConn(t, d)
	defer c.Close()
	if err := addADUserErr(c, d, sam, cn, pw); err != nil {
		t.Fatal(err)
	}
}
