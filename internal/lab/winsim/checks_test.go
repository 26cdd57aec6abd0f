package winsim_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
)

func checkStep(c *plan.CheckSpec) *plan.Step {
	return &plan.Step{ID: "check:" + c.Name, Kind: plan.KindCheck, Check: c}
}

// wantCheck runs a check against the host and asserts its verdict and
// that its reason names what Windows answered.
func wantCheck(t *testing.T, l *lab, c *plan.CheckSpec, pass bool, evidence ...string) {
	t.Helper()
	st := check(t, l, nil, checkStep(c))
	if st.InPlace != pass || st.CannotRun {
		t.Errorf("%s: in place %v (cannot run %v), want %v: %s", c.Name, st.InPlace, st.CannotRun, pass, st.Reason)
	}
	for _, e := range evidence {
		if !strings.Contains(st.Reason, e) {
			t.Errorf("%s: reason %q does not name %q", c.Name, st.Reason, e)
		}
	}
}

// closedPort is a port nothing listens on: one the kernel just gave out
// and took back.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestWindowsDNSCheck(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Hosts: map[string][]string{"intranet.corp.example.test": {"10.0.0.5"}}})
	sec := plan.Duration(2 * time.Second)
	wantCheck(t, l, &plan.CheckSpec{Name: "intranet", DNS: &plan.DNSCheck{Name: "intranet.corp.example.test", Resolves: true, Addresses: []string{"10.0.0.5"}, Timeout: sec}},
		true, "resolves to 10.0.0.5")
	wantCheck(t, l, &plan.CheckSpec{Name: "wrong address", DNS: &plan.DNSCheck{Name: "intranet.corp.example.test", Resolves: true, Addresses: []string{"10.0.0.6"}, Timeout: sec}},
		false, "want 10.0.0.6 among them")
	wantCheck(t, l, &plan.CheckSpec{Name: "nope", DNS: &plan.DNSCheck{Name: "nope.corp.example.test", Resolves: true, Timeout: sec}},
		false, "DNS name does not exist")
	wantCheck(t, l, &plan.CheckSpec{Name: "nope absent", DNS: &plan.DNSCheck{Name: "nope.corp.example.test", Timeout: sec}},
		true, "does not resolve, as wanted")
	// The name goes away: the same check now fails.
	l.host.SetHostsEntry("intranet.corp.example.test")
	wantCheck(t, l, &plan.CheckSpec{Name: "intranet gone", DNS: &plan.DNSCheck{Name: "intranet.corp.example.test", Resolves: true, Timeout: sec}},
		false, "does not resolve on the host")
}

func TestWindowsTCPCheck(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Hosts: map[string][]string{"winrm.lab": {"127.0.0.1"}}})
	sec := plan.Duration(2 * time.Second)
	closed := closedPort(t)
	for _, tt := range []struct {
		c        plan.TCPCheck
		pass     bool
		evidence string
	}{
		{plan.TCPCheck{Host: "127.0.0.1", Port: l.port, Reachable: true}, true, "accepted a connection"},
		{plan.TCPCheck{Host: "winrm.lab", Port: l.port, Reachable: true}, true, "accepted a connection"},
		{plan.TCPCheck{Host: "127.0.0.1", Port: l.port}, false, "want it closed"},
		{plan.TCPCheck{Host: "127.0.0.1", Port: closed, Reachable: true}, false, "actively refused"},
		{plan.TCPCheck{Host: "127.0.0.1", Port: closed}, true, "actively refused"},
		{plan.TCPCheck{Host: "unknown.lab", Port: 25, Reachable: true}, false, "No such host is known"},
	} {
		c := tt.c
		c.Timeout = sec
		wantCheck(t, l, &plan.CheckSpec{Name: net.JoinHostPort(c.Host, "x"), TCP: &c}, tt.pass, tt.evidence)
	}
}

func TestWindowsServiceCheck(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{})
	yes, no := true, false
	spooler := &plan.CheckSpec{Name: "spooler", Service: &plan.ServiceCheck{Name: "spooler", Running: &yes, Enabled: &yes}}
	wantCheck(t, l, spooler, true, "Status Running, StartType Automatic", "Print Spooler")
	l.host.SetService("Spooler", "Stopped", "Automatic")
	wantCheck(t, l, spooler, false, "spooler is stopped, want running", "Status Stopped")
	l.host.SetService("Spooler", "Running", "Disabled")
	wantCheck(t, l, spooler, false, "not enabled, want enabled", "StartType Disabled")
	wantCheck(t, l, &plan.CheckSpec{Name: "wu", Service: &plan.ServiceCheck{Name: "wuauserv", Running: &no}}, true, "Status Stopped, StartType Manual")
	wantCheck(t, l, &plan.CheckSpec{Name: "none", Service: &plan.ServiceCheck{Name: "Spool*", Running: &yes}}, false, "not installed")
}

func TestWindowsUserAndGroupChecks(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Users: map[string]string{"onboard": "x"}})
	wantCheck(t, l, &plan.CheckSpec{Name: "onboard", User: &plan.UserCheck{Name: "onboard", Exists: true, Groups: []string{"Administrators"}}},
		true, `WIN1\onboard`, "enabled", "local groups Administrators")
	wantCheck(t, l, &plan.CheckSpec{Name: "rdp", User: &plan.UserCheck{Name: "onboard", Exists: true, Groups: []string{"Remote Desktop Users"}}},
		false, "not in Remote Desktop Users")
	ada := &plan.CheckSpec{Name: "ada", User: &plan.UserCheck{Name: "ada", Exists: true}}
	wantCheck(t, l, ada, false, "not known to the host")
	l.host.SetLocalUser("ada", true, false)
	wantCheck(t, l, ada, true, `WIN1\ada`, "disabled")
	l.host.SetLocalUser("ada", false, false)
	wantCheck(t, l, &plan.CheckSpec{Name: "ada gone", User: &plan.UserCheck{Name: "ada"}}, true, "does not exist, as wanted")
	// A domain account is unknown to a machine that has not joined.
	wantCheck(t, l, &plan.CheckSpec{Name: "domain", User: &plan.UserCheck{Name: `CORP\ada`, Exists: true}}, false, "not known to the host")

	wantCheck(t, l, &plan.CheckSpec{Name: "admins", Group: &plan.GroupCheck{Name: "Administrators", Exists: true}},
		true, "S-1-5-32-544", `WIN1\Administrator`, `WIN1\onboard`)
	wantCheck(t, l, &plan.CheckSpec{Name: "no group", Group: &plan.GroupCheck{Name: "Admin*", Exists: true}}, false, "Get-LocalGroup found none")
	wantCheck(t, l, &plan.CheckSpec{Name: "no group absent", Group: &plan.GroupCheck{Name: "Accounting"}}, true, "does not exist, as wanted")
}
