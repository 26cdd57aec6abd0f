package step

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/powershell"
)

// Every hostile value reaches a Windows check's script as data: its $in
// decodes to exactly the value, and the body never holds it.
func TestWinCheckValuesAreData(t *testing.T) {
	yes := true
	for _, v := range append(hostile, "o'brien ‘x’ ‛y‚ $(calc)", "Spool*", "[a]") {
		for _, c := range []*plan.CheckSpec{
			{Name: "d", DNS: &plan.DNSCheck{Name: v}},
			{Name: "t", TCP: &plan.TCPCheck{Host: v, Port: 1}},
			{Name: "s", Service: &plan.ServiceCheck{Name: v, Running: &yes}},
			{Name: "u", User: &plan.UserCheck{Name: v, Exists: true}},
			{Name: "g", Group: &plan.GroupCheck{Name: v, Exists: true}},
		} {
			s, err := winCheckScript(c)
			if err != nil {
				t.Fatal(err)
			}
			_, data, err := powershell.ParseScript(s.Text())
			if err != nil {
				t.Fatalf("%s %q: %v", s.Op, v, err)
			}
			var in map[string]any
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatal(err)
			}
			key := "name"
			if c.TCP != nil {
				key = "host"
			}
			if in[key] != v {
				t.Errorf("%s: $in.%s = %q, want %q", s.Op, key, in[key], v)
			}
			if len(v) > 3 && strings.Contains(s.Body, v) {
				t.Errorf("%s: the body holds %q", s.Op, v)
			}
		}
	}
	if _, err := winCheckScript(&plan.CheckSpec{Name: "c", Command: &plan.CommandCheck{Run: "true"}}); err == nil {
		t.Errorf("a command check has a Windows script")
	}
}

func TestWinCheckVerdicts(t *testing.T) {
	yes, no := true, false
	sec := plan.Duration(2 * time.Second)
	for _, tt := range []struct {
		name  string
		st    State
		pass  bool
		words string
	}{
		{"dns found", winDNSVerdict(&plan.DNSCheck{Name: "a.lab", Resolves: true, Timeout: sec}, winDNS{Addresses: []string{"10.0.0.5", "10.0.0.5", "fd00::5"}}), true, "a.lab resolves to 10.0.0.5, fd00::5"},
		{"dns missing address", winDNSVerdict(&plan.DNSCheck{Name: "a.lab", Resolves: true, Addresses: []string{"10.0.0.9"}}, winDNS{Addresses: []string{"10.0.0.5"}}), false, "want 10.0.0.9 among them"},
		{"dns unwanted", winDNSVerdict(&plan.DNSCheck{Name: "a.lab"}, winDNS{Addresses: []string{"10.0.0.5"}}), false, "want it not to resolve"},
		{"dns nxdomain", winDNSVerdict(&plan.DNSCheck{Name: "a.lab", Resolves: true}, winDNS{ErrorID: "DNS_ERROR_RCODE_NAME_ERROR", Error: "a.lab : DNS name does not exist"}), false, "DNS name does not exist"},
		{"dns nxdomain wanted", winDNSVerdict(&plan.DNSCheck{Name: "a.lab"}, winDNS{ErrorID: "DNS_ERROR_RCODE_NAME_ERROR", Error: "x"}), true, "as wanted"},
		{"dns timeout never passes", winDNSVerdict(&plan.DNSCheck{Name: "a.lab"}, winDNS{ErrorID: "ERROR_TIMEOUT", Error: "timeout"}), false, "no answer"},
		{"dns other error", winDNSVerdict(&plan.DNSCheck{Name: "a.lab", Resolves: true}, winDNS{ErrorID: "WIN32 1460", Error: "boom"}), false, "WIN32 1460"},
		{"dns no records", winDNSVerdict(&plan.DNSCheck{Name: "a.lab", Resolves: true}, winDNS{}), false, "no A or AAAA"},
		{"tcp ok", winTCPVerdict(&plan.TCPCheck{Host: "fd00::1", Port: 25, Reachable: true}, winTCP{Result: "connected"}), true, "[fd00::1]:25 accepted"},
		{"tcp refused", winTCPVerdict(&plan.TCPCheck{Host: "h", Port: 25, Reachable: true}, winTCP{Result: "error", Error: "No connection could be made"}), false, "No connection could be made"},
		{"tcp timeout", winTCPVerdict(&plan.TCPCheck{Host: "h", Port: 25, Reachable: true, Timeout: sec}, winTCP{Result: "timeout"}), false, "within 2s"},
		{"tcp closed wanted", winTCPVerdict(&plan.TCPCheck{Host: "h", Port: 25}, winTCP{Result: "timeout"}), true, "as wanted"},
		{"service ok", winServiceVerdict(&plan.ServiceCheck{Name: "Spooler", Running: &yes, Enabled: &yes}, winService{Found: true, Name: "Spooler", Status: "Running", StartType: "Automatic"}), true, "running and enabled"},
		{"service pending is not running", winServiceVerdict(&plan.ServiceCheck{Name: "x", Running: &yes}, winService{Found: true, Name: "x", Status: "StartPending", StartType: "Automatic"}), false, "Status StartPending"},
		{"service manual is not enabled", winServiceVerdict(&plan.ServiceCheck{Name: "x", Enabled: &yes}, winService{Found: true, Name: "x", Status: "Running", StartType: "Manual"}), false, "not enabled"},
		{"service stopped wanted", winServiceVerdict(&plan.ServiceCheck{Name: "x", Running: &no, Enabled: &no}, winService{Found: true, Name: "x", Status: "Stopped", StartType: "Disabled"}), true, "stopped and not enabled"},
		{"service missing", winServiceVerdict(&plan.ServiceCheck{Name: "x", Running: &no}, winService{}), false, "not installed"},
		{"user ok", winUserVerdict(&plan.UserCheck{Name: "ada", Exists: true, Groups: []string{"users"}}, winUser{Found: true, Account: `WIN1\ada`, SID: "S-1-5-21-1", Enabled: &no, Groups: []string{"Users"}}), true, `WIN1\ada, SID S-1-5-21-1, disabled; local groups Users`},
		{"user not in group", winUserVerdict(&plan.UserCheck{Name: "ada", Exists: true, Groups: []string{"Administrators"}}, winUser{Found: true, Account: `CORP\ada`}), false, "not in Administrators"},
		{"user absent", winUserVerdict(&plan.UserCheck{Name: "ada", Exists: true}, winUser{}), false, "not known to the host"},
		{"user unwanted", winUserVerdict(&plan.UserCheck{Name: "ada"}, winUser{Found: true, Account: `WIN1\ada`}), false, "want no such user"},
		{"group ok", winGroupVerdict(&plan.GroupCheck{Name: "Users", Exists: true}, winGroup{Found: true, SID: "S-1-5-32-545", Members: []string{`NT AUTHORITY\INTERACTIVE`}}), true, `SID S-1-5-32-545, members NT AUTHORITY\INTERACTIVE`},
		{"group absent", winGroupVerdict(&plan.GroupCheck{Name: "x", Exists: true}, winGroup{}), false, "Get-LocalGroup found none"},
		{"group absent wanted", winGroupVerdict(&plan.GroupCheck{Name: "x"}, winGroup{}), true, "as wanted"},
	} {
		if tt.st.InPlace != tt.pass || !strings.Contains(tt.st.Reason, tt.words) {
			t.Errorf("%s: in place %v %q, want %v and %q", tt.name, tt.st.InPlace, tt.st.Reason, tt.pass, tt.words)
		}
	}
}

// A part Windows could not read is "cannot run", never a pass or a plain
// failure; NotConfigured is not an enabled firewall profile.
func TestWinBaselineFindings(t *testing.T) {
	var b WinBaseline
	if err := json.Unmarshal([]byte(`{"bitlocker":null,"bitlocker_error":"not recognized","defender":null,"defender_error":"service not running",`+
		`"firewall":[{"name":"Domain","enabled":"True"},{"name":"Public","enabled":"NotConfigured"}],"firewall_error":"","pending_reboot":[]}`), &b); err != nil {
		t.Fatal(err)
	}
	got := map[string]WinBaselineFinding{}
	for _, f := range b.Findings() {
		got[f.Item] = f
	}
	if f := got["bitlocker"]; !f.CannotRun || f.Pass || !strings.Contains(f.Found, "not recognized") {
		t.Errorf("bitlocker %+v", f)
	}
	if f := got["defender"]; !f.CannotRun || f.Pass {
		t.Errorf("defender %+v", f)
	}
	if f := got["firewall"]; f.Pass || f.CannotRun || !strings.Contains(f.Found, "Public NotConfigured") {
		t.Errorf("firewall %+v", f)
	}
	if f := got["pending-reboot"]; !f.Pass {
		t.Errorf("pending-reboot %+v", f)
	}
	var none WinBaseline
	for _, f := range none.Findings() {
		if f.Item == "firewall" && !f.CannotRun {
			t.Errorf("no firewall profiles read: %+v, want cannot run", f)
		}
	}
}

func TestWinHTTPVerdict(t *testing.T) {
	c := &plan.HTTPCheck{URL: "https://i/", Status: 200, Contains: []string{"Welcome"}, Timeout: plan.Duration(3 * time.Second)}
	for _, tt := range []struct {
		r     winHTTP
		pass  bool
		words string
	}{
		{winHTTP{Status: 200, Body: "Welcome!", Subject: "CN=i", Issuer: "CN=CA", Expires: "1/2/2027 3:04:05 PM", Trust: "None"}, true, "answered 200 with each of 1 expected texts in its body; certificate subject CN=i, issuer CN=CA, expires 1/2/2027 3:04:05 PM, trusted by the host"},
		{winHTTP{Status: 200, Body: "Bye"}, false, `does not contain "Welcome"`},
		{winHTTP{Status: 503}, false, "answered 503, want 200"},
		{winHTTP{ErrorStatus: "Timeout", Error: "The operation has timed out"}, false, "no answer within 3s"},
		{winHTTP{ErrorStatus: "TrustFailure", Error: "Could not establish trust", Subject: "CN=i", Trust: "RemoteCertificateChainErrors"}, false, "not trusted by the host: RemoteCertificateChainErrors"},
	} {
		st, err := winHTTPVerdict(c, tt.r)
		if err != nil || st.InPlace != tt.pass || !strings.Contains(st.Reason, tt.words) {
			t.Errorf("%+v: in place %v %q (%v), want %v and %q", tt.r, st.InPlace, st.Reason, err, tt.pass, tt.words)
		}
	}
}

// A cmdlet missing on the host (Resolve-DnsName on a stripped image) makes
// the check one that cannot run, never passed or merely failed.
func TestWinCmdletMissing(t *testing.T) {
	err := &CommandError{Host: "win1", Msg: "check dns", Out: Out{ExitCode: 1,
		Stderr: "Resolve-DnsName : The term 'Resolve-DnsName' is not recognized as the name of a cmdlet, function, script file, or operable program."}}
	st, ok := cmdletMissing(err)
	if !ok || !st.CannotRun || st.InPlace || !strings.Contains(st.Reason, "Resolve-DnsName") {
		t.Errorf("missing cmdlet: %v %+v", ok, st)
	}
	if _, ok := cmdletMissing(&CommandError{Out: Out{ExitCode: 1, Stderr: "Access is denied."}}); ok {
		t.Errorf("any other failure is an error, not cannot-run")
	}
}
