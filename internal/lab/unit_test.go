package lab

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "lab" || c.Dir != "/var/tmp/onboard-lab/lab" || c.CacheDir != "/var/cache/onboard-lab" ||
		c.Subnet != 0 || c.Workstations != 2 || !reflect.DeepEqual(c.Printers, []string{"Office-2F", "Lobby"}) ||
		len(c.Packages) != 10 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"long name", Config{Name: "toolong7"}, "lab name"},
		{"upper-case name", Config{Name: "Lab"}, "lab name"},
		{"subnet out of range", Config{Subnet: 256}, "subnet"},
		{"negative workstations", Config{Workstations: -1}, "workstations"},
		{"too many workstations", Config{Workstations: 245}, "workstations"},
		{"queue with a space", Config{Printers: []string{"Office 2F"}}, "printer"},
		{"queue twice", Config{Printers: []string{"Lobby", "lobby"}}, "named twice"},
		{"comma in dir", Config{Dir: "/tmp/a,b"}, "folder"},
		{"bad package version", Config{Packages: []Package{{Name: "acme", Version: "x1"}}}, "package"},
		{"bad dependency", Config{Packages: []Package{{Name: "acme", Version: "1", Depends: []string{"A B"}}}}, "dependency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestNetPlan(t *testing.T) {
	c, _ := Config{Name: "abcdef", Subnet: 7, Workstations: 244}.withDefaults()
	p := newNetPlan(c)
	if p.bridge != "obl-abcdef" || p.bridgeAddr != "10.213.7.1" || p.svc.addr != "10.213.7.2" {
		t.Errorf("plan = %+v", p)
	}
	last := p.workstations[len(p.workstations)-1]
	if last.name != "ws244" || last.addr != "10.213.7.254" || last.veth != "obl-abcdef-w244" || last.peer != "02:6f:62:07:fe:01" {
		t.Errorf("last workstation = %+v", last)
	}
	if p.dc.addr != "10.213.7.3" || p.dc.netns != "obl-abcdef-dc" || p.ldap.addr != "10.213.7.4" || p.ldap.netns != "obl-abcdef-ldap" {
		t.Errorf("directory hosts = %+v, %+v", p.dc, p.ldap)
	}
	for _, h := range append(p.workstations, p.svc, p.dc.nsHost, p.ldap.nsHost) {
		if len(h.veth) > 15 {
			t.Errorf("%s: link name %q longer than the kernel's 15", h.name, h.veth)
		}
	}
}

func TestMirrorFromSources(t *testing.T) {
	tests := []struct {
		name     string
		deb822   string
		oneLine  string
		want     string
		wantNone bool
	}{
		{
			name: "deb822 with security first",
			deb822: "Types: deb\nURIs: http://security.mirror.example/debian-security\nSuites: bookworm-security\n\n" +
				"Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
			want: "http://mirror.example/debian",
		},
		{
			name:   "deb-src only is not used",
			deb822: "Types: deb-src\nURIs: http://src.mirror.example/debian\nSuites: bookworm\n",
			want:   "", wantNone: true,
		},
		{
			name:    "one-line with options",
			oneLine: "# deb http://old.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n",
			want:    "http://mirror.example/debian",
		},
		{
			name:    "other suite, not security",
			oneLine: "deb http://mirror.example/debian trixie main\n",
			want:    "http://mirror.example/debian",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs := append(parseDeb822Sources(tt.deb822), parseOneLineSources(tt.oneLine)...)
			got := pickMirror(srcs, "bookworm")
			if got != tt.want {
				t.Errorf("mirror = %q, want %q (sources %+v)", got, tt.want, srcs)
			}
		})
	}
}

func TestMirrorOfThisMachine(t *testing.T) {
	m, err := debianMirror()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m, "http") {
		t.Errorf("mirror = %q", m)
	}
}

func TestInventoryGolden(t *testing.T) {
	c, _ := Config{Name: "demo", Dir: "/srv/lab state/demo", Subnet: 3}.withDefaults()
	l := newLab(c)
	for _, h := range l.net.workstations {
		l.Workstations = append(l.Workstations, Workstation{Name: h.name, Addr: h.addr, Port: 22})
	}
	l.Printers = []Printer{
		{Name: "Office-2F", URI: "ipp://10.213.3.2:8631/ipp/print"},
		{Name: "Lobby", URI: "ipp://10.213.3.2:8632/ipp/print"},
	}
	golden(t, "inventory.golden.yaml", l.inventory())
}

// TestInventoryGoldenDirectories is the default lab with both directories:
// the directories section is what docs/lab.md shows.
func TestInventoryGoldenDirectories(t *testing.T) {
	c, _ := Config{OpenLDAP: true, ActiveDirectory: true}.withDefaults()
	l := newLab(c)
	for _, h := range l.net.workstations {
		l.Workstations = append(l.Workstations, Workstation{Name: h.name, Addr: h.addr, Port: 22})
	}
	l.Printers = []Printer{
		{Name: "Office-2F", URI: "ipp://10.213.0.2:8631/ipp/print"},
		{Name: "Lobby", URI: "ipp://10.213.0.2:8632/ipp/print"},
	}
	// In start order (LDAP first); setDirectory keeps them sorted.
	l.setDirectory(Directory{
		Name: LDAPName, Kind: KindOpenLDAP, Addr: "10.213.0.4", URL: "ldaps://10.213.0.4:636",
		BaseDN: ldapBaseDN, UsersDN: "ou=People," + ldapBaseDN, GroupsDN: "ou=Groups," + ldapBaseDN,
		BindDN: ldapRootDN, BindPasswordFile: filepath.Join(c.Dir, ldapPWFile), CACertFile: l.CACertFile(),
	})
	l.setDirectory(Directory{
		Name: ADName, Kind: KindActiveDirectory, Addr: "10.213.0.3", URL: "ldaps://10.213.0.3:636",
		BaseDN: adBaseDN, UsersDN: "OU=Staff," + adBaseDN, GroupsDN: "OU=Groups," + adBaseDN,
		ComputersDN: "OU=Workstations," + adBaseDN, Domain: adDomain,
		BindDN: adAdminDN, BindPasswordFile: filepath.Join(c.Dir, adPWFile), CACertFile: l.CACertFile(),
	})
	golden(t, "inventory-directories.golden.yaml", l.inventory())
}

func TestPrerequisitesByPart(t *testing.T) {
	var plain, both Config
	both.OpenLDAP, both.ActiveDirectory = true, true
	var forPlain, forBoth []string
	for _, p := range prerequisites {
		if p.needed(plain) {
			forPlain = append(forPlain, p.pkg)
		}
		if p.needed(both) {
			forBoth = append(forBoth, p.pkg)
		}
	}
	for _, pkg := range []string{"slapd", "samba-ad-dc", "samba-ad-provision"} {
		if slices.Contains(forPlain, pkg) {
			t.Errorf("a lab without directories needs %s", pkg)
		}
		if !slices.Contains(forBoth, pkg) {
			t.Errorf("a lab with both directories does not check for %s", pkg)
		}
	}
	// Every lab has the CA, DNS, intranet and listeners.
	for _, pkg := range []string{"iproute2", "openssl", "dnsmasq-base", "nginx-light", "socat"} {
		if !slices.Contains(forPlain, pkg) {
			t.Errorf("a lab without directories does not need %s", pkg)
		}
	}
}

func TestLDAPSeed(t *testing.T) {
	seed := ldapSeed()
	for _, g := range seedGroups {
		want := "dn: cn=" + g + ",ou=Groups,dc=corp,dc=example,dc=test\nobjectClass: groupOfNames\ncn: " + g +
			"\nmember: cn=admin,dc=corp,dc=example,dc=test\n"
		if !strings.Contains(seed, want) {
			t.Errorf("seed lacks group %s with its placeholder member", g)
		}
	}
	for _, want := range []string{
		"dn: uid=ghopper,ou=People,dc=corp,dc=example,dc=test\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n",
		"cn: Grace Hopper\n", "uidNumber: 10001\ngidNumber: 10000\n",
		"dn: uid=mbenioff,ou=People,", "cn: Marc Benioff\n", "uidNumber: 10002\ngidNumber: 10000\n",
	} {
		if !strings.Contains(seed, want) {
			t.Errorf("seed lacks %q", want)
		}
	}
	// Each refint attribute is a value of its own.
	if n := strings.Count(ldapConfig, "olcRefintAttribute: "); n != 4 {
		t.Errorf("%d olcRefintAttribute lines, want 4 single values", n)
	}
}

func TestSSHA(t *testing.T) {
	h := ssha("secret")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "{SSHA}"))
	if !strings.HasPrefix(h, "{SSHA}") || err != nil || len(raw) != sha1.Size+8 {
		t.Fatalf("ssha = %q (%v)", h, err)
	}
	sum := sha1.Sum(append([]byte("secret"), raw[sha1.Size:]...))
	if !bytes.Equal(sum[:], raw[:sha1.Size]) {
		t.Error("ssha digest does not match password+salt")
	}
}

func TestNewPasswordMeetsADComplexity(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		pw := newPassword()
		if seen[pw] {
			t.Fatalf("password %q repeated", pw)
		}
		seen[pw] = true
		var upper, lower, digit, other bool
		for _, r := range pw {
			switch {
			case 'A' <= r && r <= 'Z':
				upper = true
			case 'a' <= r && r <= 'z':
				lower = true
			case '0' <= r && r <= '9':
				digit = true
			default:
				other = true
			}
		}
		if len(pw) < 7 || !upper || !lower || !digit || !other || shq(pw) != pw || !yamlPlain.MatchString(pw) {
			t.Errorf("password %q: not complex enough, or needs quoting", pw)
		}
	}
}

func TestFixSambaConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smb.conf")
	in := "# Global parameters\n[global]\n\tdns forwarder = 192.0.2.53\n\trealm = CORP.EXAMPLE.TEST\n\n[sysvol]\n\tpath = /x\n"
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fixSambaConf(path, "/lab/ca/dc1.pem", "/lab/ca/dc1.key", "/lab/ad/samba/ntp_signd"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "dns forwarder") {
		t.Errorf("dns forwarder kept:\n%s", got)
	}
	for _, want := range []string{
		"[global]\n\t# Set by the onboard lab.\n\ttls enabled = yes\n\ttls keyfile = /lab/ca/dc1.key\n\ttls certfile = /lab/ca/dc1.pem\n\ttls cafile =\n\tntp signd socket directory = /lab/ad/samba/ntp_signd\n\trealm = CORP.EXAMPLE.TEST\n",
		"[sysvol]\n\tpath = /x\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("smb.conf lacks %q:\n%s", want, got)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestShqTable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain/path-1.2_x", "plain/path-1.2_x"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a\nb", "'a\nb'"},
		{"Lab, Office-2F", "'Lab, Office-2F'"},
	}
	for _, tt := range tests {
		if got := shq(tt.in); got != tt.want {
			t.Errorf("shq(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzShq checks that sh reads a quoted value back unchanged.
func FuzzShq(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", `"$(rm -rf /)"`, "`x`", "a\\b", "\t\n", "--opt", "~user", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) {
			t.Skip("a NUL cannot be in a shell word")
		}
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shq(s)).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != s {
			t.Errorf("round trip of %q gave %q", s, out)
		}
	})
}

func TestPackagesTxt(t *testing.T) {
	listed := controllerPackages()
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	for _, p := range listed {
		if !valid.MatchString(p) {
			t.Errorf("packages.txt: %q is not a package name", p)
		}
	}
	for _, p := range prerequisites {
		if !slices.Contains(listed, p.pkg) {
			t.Errorf("packages.txt lacks %s (needed for %s%s)", p.pkg, p.command, p.file)
		}
	}
}

func TestImageKeyFollowsPackageList(t *testing.T) {
	k := imageKey()
	saved := imagePackages
	t.Cleanup(func() { imagePackages = saved })
	imagePackages = append(slices.Clone(saved), "adcli")
	if imageKey() == k {
		t.Error("adding a package to the image did not change its cache key")
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/srv/lab\040state/x`); got != "/srv/lab state/x" {
		t.Errorf("got %q", got)
	}
}

func TestLabNames(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want map[string]string
	}{
		{Config{Subnet: 9}, map[string]string{
			"intranet.corp.example.test": "10.213.9.5", "mail.corp.example.test": "10.213.9.6",
			"vpn.corp.example.test": "10.213.9.7", "print01.corp.example.test": "10.213.9.2",
			"ws1.corp.example.test": "10.213.9.11", "ws2.corp.example.test": "10.213.9.12",
		}},
		{Config{Subnet: 9, Workstations: 1, OpenLDAP: true, ActiveDirectory: true, Windows: 1}, map[string]string{
			"intranet.corp.example.test": "10.213.9.5", "mail.corp.example.test": "10.213.9.6",
			"vpn.corp.example.test": "10.213.9.7", "print01.corp.example.test": "10.213.9.2",
			"ws1.corp.example.test": "10.213.9.11", "dc1.corp.example.test": "10.213.9.3",
			"ldap.corp.example.test": "10.213.9.4", "win1.corp.example.test": "10.213.9.31",
		}},
	} {
		c, err := tc.cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := newLab(c).Names(); !maps.Equal(got, tc.want) {
			t.Errorf("%+v: Names() = %v, want %v", tc.cfg, got, tc.want)
		}
	}
}

func TestSetName(t *testing.T) {
	c, _ := Config{Subnet: 9, Dir: t.TempDir()}.withDefaults()
	l := newLab(c)
	for _, tc := range []struct{ name, addr string }{
		{"Mail", "10.213.9.1"}, {"mail.corp", "10.213.9.1"}, {"-x", "10.213.9.1"}, {"", "10.213.9.1"},
		{"mail", "10.213.8.1"}, {"mail", "192.0.2.1"}, {"mail", "mail"}, {"mail", "::1"},
	} {
		if err := l.SetName(context.Background(), tc.name, tc.addr); err == nil {
			t.Errorf("SetName(%q, %q) succeeded", tc.name, tc.addr)
		}
	}
	// Before the DNS server runs, SetName only records the name.
	if err := l.SetName(context.Background(), "mail", "10.213.9.1"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetName(context.Background(), "wiki", "10.213.9.5"); err != nil {
		t.Fatal(err)
	}
	if a, ok := l.Addr("mail.corp.example.test"); !ok || a != "10.213.9.1" {
		t.Errorf("Addr(mail) = %q %v", a, ok)
	}
	s, err := readState(c.Dir)
	if err != nil || s.Names["wiki"] != "10.213.9.5" {
		t.Errorf("state Names = %v, %v", s.Names, err)
	}
	golden(t, "dns-hosts.golden", l.hostsLines())
}

func TestDNSMasqConfigGolden(t *testing.T) {
	c, _ := Config{Name: "demo", Dir: "/var/tmp/onboard-lab/demo", Subnet: 3, ActiveDirectory: true}.withDefaults()
	golden(t, "dnsmasq.golden.conf", newLab(c).dnsmasqConfig())
}
