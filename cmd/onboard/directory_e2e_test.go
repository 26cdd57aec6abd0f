package main

// End-to-end tests of directory accounts and domain join against the lab's
// Samba AD DC and OpenLDAP slapd. What onboard did is checked with a
// separate LDAP connection, not with onboard's own adapter.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/result"
)

// ldapAs opens the lab directory as its admin.
func ldapAs(t *testing.T, d lab.Directory) *ldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(d.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(d.BindDN, d.BindPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

// entry finds one entry by a filter under the base DN.
func entry(t *testing.T, c *ldap.Conn, base, filter string, attrs ...string) *ldap.Entry {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s: %v", filter, err)
	}
	var es []*ldap.Entry
	for _, e := range res.Entries {
		es = append(es, e)
	}
	if len(es) != 1 {
		t.Fatalf("search %s found %d entries", filter, len(es))
	}
	return es[0]
}

func labDir(t *testing.T, l *lab.Lab, name string) lab.Directory {
	d, ok := l.Directory(name)
	if !ok {
		t.Fatalf("the lab has no directory %s", name)
	}
	return d
}

const adHire = `person:
  employee_id: %s
  given_name: %s
  surname: %s
  preferred_name: %s
  title: Engineer
  department: Platform
  manager: ghopper
  start_date: 2026-12-01
profile: engineering
account:
  directory: corp-ad
  must_change_password: %v
  password: {deliver: "file:pw/%s.pw"}
  attributes: {physicalDeliveryOfficeName: "2F"}
%s`

// A full onboarding against Active Directory: the account with every
// attribute, its groups, a password that binds, a pre-staged computer and
// a Linux workstation joined and proven with adcli; the re-run changes
// nothing.
func TestActiveDirectoryOnboarding(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ad := labDir(t, l, "corp-ad")
	pb := e.write("jose.yaml", fmt.Sprintf(adHire, "E100", "José", "O'Brien-Łukasiewicz", "José + Co, Jr.", false, "E100",
		`machine:
  host: ws7
  domain_join: {prestage: true, ou: "OU=Workstations,DC=corp,DC=example,DC=test"}
`))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	if !r.Ready("E100") {
		t.Fatal("not ready for handover")
	}
	for _, h := range r.Handover {
		if h.ID == "E100:activate:jobrien-lukasiewicz" && !strings.Contains(h.Reason, "a bind with the initial password works") {
			t.Errorf("the handover check did not prove a bind: %q", h.Reason)
		}
	}
	c := ldapAs(t, ad)
	u := entry(t, c, ad.BaseDN, "(sAMAccountName=jobrien-lukasiewicz)", "cn", "givenName", "sn", "displayName", "title",
		"department", "manager", "employeeID", "userPrincipalName", "userAccountControl", "physicalDeliveryOfficeName", "memberOf")
	if !strings.HasSuffix(u.DN, ",OU=Staff,DC=corp,DC=example,DC=test") {
		t.Errorf("DN %s", u.DN)
	}
	want := map[string]string{"givenName": "José", "sn": "O'Brien-Łukasiewicz", "displayName": "José + Co, Jr. O'Brien-Łukasiewicz",
		"title": "Engineer", "department": "Platform", "employeeID": "E100", "userPrincipalName": "jobrien-lukasiewicz@corp.example.test",
		"physicalDeliveryOfficeName": "2F"}
	for a, v := range want {
		if got := u.GetAttributeValue(a); got != v {
			t.Errorf("%s = %q, want %q", a, got, v)
		}
	}
	if m := u.GetAttributeValue("manager"); !strings.HasPrefix(strings.ToLower(m), "cn=grace hopper,") {
		t.Errorf("manager = %q", m)
	}
	if uac := u.GetAttributeValue("userAccountControl"); uac != "512" {
		t.Errorf("userAccountControl = %s, want 512 (enabled)", uac)
	}
	groups := strings.Join(u.GetAttributeValues("memberOf"), ";")
	for _, g := range []string{"CN=engineering,", "CN=vpn-users,", "CN=github-users,"} {
		if !strings.Contains(groups, g) {
			t.Errorf("not a member of %s: %s", g, groups)
		}
	}
	// The delivered password binds, and it is a 0600 file.
	pwFile := filepath.Join(e.dir, "pw/E100.pw")
	st, err := os.Stat(pwFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	pw, _ := os.ReadFile(pwFile)
	uc, err := ldap.DialURL(ad.URL, ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: false, RootCAs: caPool(t, ad)}))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if err := uc.Bind(u.DN, strings.TrimSpace(string(pw))); err != nil {
		t.Errorf("bind as the new user with the delivered password: %v", err)
	}
	// The machine is joined: its own test, and the computer object.
	wsExec(t, l, "ws7", "adcli testjoin --domain=corp.example.test --domain-controller="+ad.Addr+" --host-keytab=/etc/krb5.keytab")
	comp := entry(t, c, ad.BaseDN, "(sAMAccountName=WS7$)", "dNSHostName")
	if comp.GetAttributeValue("dNSHostName") != "ws7.corp.example.test" || !strings.Contains(comp.DN, "OU=Workstations") {
		t.Errorf("computer %s: %q", comp.DN, comp.GetAttributeValue("dNSHostName"))
	}
	// The password never reached any output.
	if strings.Contains(stderr, strings.TrimSpace(string(pw))) {
		t.Errorf("the password is in stderr")
	}

	code, r, stderr = e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("re-run exit %d: %s", code, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("re-run: %s %s (%s)", s.ID, s.Outcome, s.Reason)
		}
	}
	if after, _ := os.ReadFile(pwFile); string(after) != string(pw) {
		t.Errorf("the re-run reset the password")
	}

	// The audit finds the setup as handed over...
	code, out, stderr := e.onboard("audit", "E100")
	if code != exitOK || !strings.Contains(out, "NO DRIFT") {
		t.Fatalf("audit of an untouched setup: exit %d\n%s%s", code, out, stderr)
	}
	// ...then someone changes it behind onboard's back.
	group := entry(t, c, ad.BaseDN, "(cn=vpn-users)", "cn")
	mod := ldap.NewModifyRequest(group.DN, nil)
	mod.Delete("member", []string{u.DN})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	compMod := ldap.NewModifyRequest(comp.DN, nil)
	compMod.Replace("userAccountControl", []string{"4098"}) // workstation trust, disabled
	if err := c.Modify(compMod); err != nil {
		t.Fatal(err)
	}
	wsExec(t, l, "ws7", "dpkg -r acme-chat >/dev/null && lpadmin -x Office-2F")
	// ...and adds things: a group and a printer queue nobody planned.
	extra := entry(t, c, ad.BaseDN, "(cn=sales)", "cn")
	add := ldap.NewModifyRequest(extra.DN, nil)
	add.Add("member", []string{u.DN})
	if err := c.Modify(add); err != nil {
		t.Fatal(err)
	}
	wsExec(t, l, "ws7", "lpadmin -p Rogue -v ipp://127.0.0.1:1/ipp/print")
	html := filepath.Join(e.dir, "audit.html")
	code, out, stderr = e.onboard("audit", "--report", html, "E100")
	if code != exitDrift {
		t.Fatalf("audit after drift: exit %d, want %d\n%s%s", code, exitDrift, out, stderr)
	}
	for _, want := range []string{"DRIFT FOUND", "not a member of vpn-users", "acme-chat is not installed", "queue Office-2F does not exist", "is disabled",
		"Added since handover", "also a member of sales in corp-ad", "printer queue Rogue on ws7"} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit does not say %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "Audit of completed setups") {
		t.Errorf("audit HTML report: %v", err)
	}
}

func caPool(t *testing.T, d lab.Directory) *x509.CertPool {
	pem, err := os.ReadFile(d.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// OpenLDAP: inetOrgPerson + posixAccount with a fresh uidNumber, the
// password set with Password Modify, groupOfNames membership.
func TestOpenLDAPOnboarding(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	pb := e.write("ann.yaml", `person:
  employee_id: E200
  given_name: Anne-Marie
  surname: d'Arc
  title: Account Executive
  manager: mbenioff
  start_date: 2026-12-01
account:
  directory: corp-ldap
  groups: [sales, crm-users]
  must_change_password: false
  password: {deliver: "file:pw/E200.pw"}
`)
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	c := ldapAs(t, d)
	u := entry(t, c, d.BaseDN, "(uid=adarc)", "objectClass", "uidNumber", "gidNumber", "homeDirectory", "cn", "employeeNumber", "manager")
	if u.DN != "uid=adarc,ou=People,dc=corp,dc=example,dc=test" {
		t.Errorf("DN %s", u.DN)
	}
	if uid := u.GetAttributeValue("uidNumber"); uid == "" || uid == "10001" || uid == "10002" {
		t.Errorf("uidNumber %q collides or is missing", uid)
	}
	if u.GetAttributeValue("homeDirectory") != "/home/adarc" || u.GetAttributeValue("employeeNumber") != "E200" {
		t.Errorf("entry: %v", u.Attributes)
	}
	for _, g := range []string{"sales", "crm-users"} {
		entry(t, c, d.BaseDN, fmt.Sprintf("(&(cn=%s)(member=%s))", g, ldap.EscapeFilter(u.DN)), "cn")
	}
	pw, _ := os.ReadFile(filepath.Join(e.dir, "pw/E200.pw"))
	uc, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: caPool(t, d)}))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if err := uc.Bind(u.DN, strings.TrimSpace(string(pw))); err != nil {
		t.Errorf("bind with the delivered password: %v", err)
	}
	code, r, _ = e.jsonRun(pb)
	if code != exitOK || result.Counts(r.Steps)[result.OK] != len(r.Steps) {
		t.Errorf("re-run: exit %d, %v", code, result.Counts(r.Steps))
	}
}

// The naming policy's collision rule, an existing account, and names
// built to inject LDAP filters.
func TestDirectoryNamesAndCollisions(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ad := labDir(t, l, "corp-ad")
	c := ldapAs(t, ad)

	// ghopper is taken by the seeded manager: another Grace Hopper gets ghopper2.
	grace := e.write("grace.yaml", fmt.Sprintf(adHire, "E300", "Grace", "Hopper", "Grace", true, "E300", ""))
	code, gr, stderr := e.jsonRun(grace)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, h := range gr.Handover {
		if h.Kind == "activate" && !strings.Contains(h.Reason, "initial password is accepted (must change at first logon)") {
			t.Errorf("handover of a must-change account: %q", h.Reason)
		}
	}
	g := entry(t, c, ad.BaseDN, "(employeeID=E300)", "sAMAccountName", "pwdLastSet")
	if g.GetAttributeValue("sAMAccountName") != "ghopper2" {
		t.Errorf("collision: got %s, want ghopper2", g.GetAttributeValue("sAMAccountName"))
	}
	if g.GetAttributeValue("pwdLastSet") != "0" {
		t.Errorf("must change password at next logon: pwdLastSet = %s", g.GetAttributeValue("pwdLastSet"))
	}
	// A re-run keeps the name it chose (the account of this employee id).
	if code, _, stderr := e.jsonRun(grace); code != exitOK {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}

	// An existing account named explicitly: stop, unless adopted.
	taken := e.write("taken.yaml", `person: {employee_id: E301, given_name: Marc, surname: Benioff, start_date: 2026-12-01}
account:
  directory: corp-ad
  username: mbenioff
  password: {deliver: "file:pw/E301.pw"}
`)
	code, r, _ := e.jsonRun(taken)
	if code != exitFailed {
		t.Fatalf("an existing account was not refused: exit %d", code)
	}
	if f := r.Steps[0].Failure; f == nil || !strings.Contains(f.Message, "taken by another account") || !strings.Contains(f.Message, "adopt") {
		t.Errorf("failure: %+v", f)
	}
	os.WriteFile(taken, []byte(strings.Replace(mustRead(t, taken), "username: mbenioff", "username: mbenioff\n  adopt: true", 1)), 0o644)
	if code, _, stderr := e.jsonRun(taken); code != exitOK {
		t.Fatalf("adopt: exit %d: %s", code, stderr)
	}
	m := entry(t, c, ad.BaseDN, "(sAMAccountName=mbenioff)", "employeeID", "userAccountControl")
	// Adopting keeps the account's other flags; it must now be enabled.
	if uac, _ := strconv.Atoi(m.GetAttributeValue("userAccountControl")); m.GetAttributeValue("employeeID") != "E301" || uac&2 != 0 {
		t.Errorf("adopted account: employeeID %q, userAccountControl %d", m.GetAttributeValue("employeeID"), uac)
	}

	// Names that try to widen a filter or break a DN are stored literally.
	evil := e.write("evil.yaml", `person:
  employee_id: E302
  given_name: "*)(uid=*"
  surname: 'Back\slash, +"<>;='
  start_date: 2026-12-01
account:
  directory: corp-ad
  username: evil
  password: {deliver: "file:pw/E302.pw"}
`)
	if code, _, stderr := e.jsonRun(evil); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	v := entry(t, c, ad.BaseDN, "(sAMAccountName=evil)", "givenName", "sn", "cn")
	if v.GetAttributeValue("givenName") != "*)(uid=*" || v.GetAttributeValue("sn") != `Back\slash, +"<>;=` {
		t.Errorf("stored: %v", v.Attributes)
	}
	// A NUL never reaches the directory: the playbook is refused.
	nul := e.write("nul.yaml", "person: {employee_id: E303, given_name: \"a\\0b\", surname: c, start_date: 2026-12-01}\n")
	if code, _, stderr := e.onboard(nul); code != exitInvalid || !strings.Contains(stderr, "NUL") {
		t.Errorf("NUL: exit %d: %s", code, stderr)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A group that does not exist, and a password the directory refuses: clear
// errors, and the account is never left enabled half-made.
func TestDirectoryFailuresLeaveNothingEnabled(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ad := labDir(t, l, "corp-ad")
	c := ldapAs(t, ad)
	pb := e.write("ned.yaml", `person: {employee_id: E400, given_name: Ned, surname: Ludd, start_date: 2026-12-01}
account:
  directory: corp-ad
  groups: [engineering, no-such-group]
  password: {deliver: "file:pw/E400.pw"}
`)
	code, r, _ := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d", code)
	}
	o := outcomes(r.Steps)
	if o["E400:membership:no-such-group"] != result.Failed || o["E400:activate:nludd"] != result.Skipped {
		t.Errorf("outcomes: %v", o)
	}
	for _, s := range r.Steps {
		if s.ID == "E400:membership:no-such-group" && (s.Failure == nil || !strings.Contains(s.Failure.Message, "no-such-group")) {
			t.Errorf("failure does not name the group: %+v", s.Failure)
		}
	}
	if uac := entry(t, c, ad.BaseDN, "(sAMAccountName=nludd)", "userAccountControl").GetAttributeValue("userAccountControl"); uac != "514" {
		t.Errorf("userAccountControl %s, want 514 (disabled)", uac)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pw/E400.pw")); err == nil {
		t.Errorf("a password was delivered for an account that was not activated")
	}

	// A fine-grained password policy (on the group) that onboard cannot
	// read from the domain: the directory refuses the password.
	if _, err := l.SambaTool(context.Background(), "domain", "passwordsettings", "pso", "create", "strict", "1", "--min-pwd-length=30"); err != nil {
		t.Fatal(err)
	}
	defer l.SambaTool(context.Background(), "domain", "passwordsettings", "pso", "delete", "strict")
	if _, err := l.SambaTool(context.Background(), "domain", "passwordsettings", "pso", "apply", "strict", "vpn-users"); err != nil {
		t.Fatal(err)
	}
	strict := e.write("pat.yaml", `person: {employee_id: E401, given_name: Pat, surname: Strict, start_date: 2026-12-01}
account:
  directory: corp-ad
  groups: [vpn-users]
  password: {deliver: "file:pw/E401.pw"}
`)
	code, r, stderr := e.jsonRun(strict)
	if code != exitFailed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var f *result.Failure
	for _, s := range r.Steps {
		if s.ID == "E401:activate:pstrict" {
			f = s.Failure
		}
	}
	if f == nil || !strings.Contains(f.Message, "policy") {
		t.Fatalf("activate failure: %+v", f)
	}
	if uac := entry(t, c, ad.BaseDN, "(sAMAccountName=pstrict)", "userAccountControl").GetAttributeValue("userAccountControl"); uac != "514" {
		t.Errorf("userAccountControl %s, want 514: a refused password left the account enabled", uac)
	}
}

// The domain controller stops in the middle of a run: a clear error, and
// the re-run completes.
func TestDomainControllerStopsMidRun(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pb := e.write("kim.yaml", fmt.Sprintf(adHire, "E500", "Kim", "Stanley", "Kim", true, "E500", ""))
	ctx := context.Background()
	stopped := make(chan struct{})
	var out syncBuffer
	w := &watchWriter{w: &out, match: `"type":"step-finished"`, then: func() {
		// After the account exists, take the DC away.
		if err := l.StopDirectory(ctx, "corp-ad"); err != nil {
			t.Error(err)
		}
		close(stopped)
	}}
	code := run(ctx, []string{"-i", e.inv, "--profiles", "../../playbooks/profiles", "-o", "json", "--retries", "1", pb}, strings.NewReader(""), w, &out)
	<-stopped
	if err := l.StartDirectory(ctx, "corp-ad"); err != nil {
		t.Fatal(err)
	}
	if code != exitFailed && code != exitUnreachable {
		t.Fatalf("exit %d with the DC stopped mid-run\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "corp-ad") {
		t.Errorf("the error does not name the directory:\n%s", out.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, r, stderr := e.jsonRun(pb)
		if code == exitOK {
			if !r.Ready("E500") {
				t.Errorf("not ready after the re-run")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-run after the DC came back: exit %d: %s", code, stderr)
		}
		time.Sleep(2 * time.Second)
	}
}

// syncBuffer is a buffer that stdout and stderr may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchWriter calls then once, when a written chunk first contains match.
type watchWriter struct {
	w     interface{ Write([]byte) (int, error) }
	match string
	then  func()
	done  bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	if !w.done && strings.Contains(string(p), w.match) {
		w.done = true
		w.then()
	}
	return w.w.Write(p)
}

// A computer account of the machine's name exists, but the machine is not
// joined: the join stops unless the playbook says to reuse it.
func TestStaleComputerAccount(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	if _, err := l.SambaTool(context.Background(), "computer", "create", "WS6"); err != nil {
		t.Fatal(err)
	}
	body := `person: {employee_id: E600, given_name: Sal, surname: Stale, start_date: 2026-12-01}
machine:
  host: ws6
  domain_join: {directory: corp-ad%s}
`
	pb := e.write("sal.yaml", fmt.Sprintf(body, ""))
	code, r, _ := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if f := r.Steps[0].Failure; f == nil || !strings.Contains(f.Message, "already exists") || !strings.Contains(f.Message, "stale: reuse") {
		t.Fatalf("failure: %+v", r.Steps[0].Failure)
	}
	// Pre-staging does not take over an account it did not make.
	e.write("sal.yaml", fmt.Sprintf(body, ", prestage: true"))
	code, r, _ = e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("prestage over a foreign computer account: exit %d", code)
	}
	for _, s := range r.Steps {
		if s.Kind == "computer" && (s.Failure == nil || !strings.Contains(s.Failure.Message, "did not pre-stage it")) {
			t.Errorf("computer step: %s %+v", s.Outcome, s.Failure)
		}
	}
	e.write("sal.yaml", fmt.Sprintf(body, ", stale: reuse"))
	if code, _, stderr := e.jsonRun(pb); code != exitOK {
		t.Fatalf("reuse: exit %d: %s", code, stderr)
	}
	wsExec(t, l, "ws6", "adcli testjoin --domain=corp.example.test --domain-controller="+labDir(t, l, "corp-ad").Addr+" --host-keytab=/etc/krb5.keytab")
}
