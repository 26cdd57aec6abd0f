package step_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// checkLab starts a lab with one workstation and returns a connection to
// it as steps use it.
func checkLab(t *testing.T) (*lab.Lab, *step.Exec, context.Context) {
	t.Helper()
	l := lab.ForTest(t, lab.Config{Name: "chk", Subnet: 221, Workstations: 1})
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	host, err := inv.Host("ws1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { comm.Close() })
	return l, &step.Exec{T: &step.Target{Host: host, Comm: comm}}, ctx
}

// verdict says how a check ended: "pass", "fail" or "cannot-run".
func verdict(st step.State) string {
	switch {
	case st.CannotRun:
		return "cannot-run"
	case st.InPlace:
		return "pass"
	}
	return "fail"
}

func runCheck(ctx context.Context, t *testing.T, x *step.Exec, c *plan.CheckSpec) step.State {
	t.Helper()
	c.Name = "t"
	st, err := step.Check{}.Check(ctx, x, &plan.Step{ID: "t", Kind: plan.KindCheck, Check: c})
	if err != nil {
		t.Fatalf("check %+v: %v", c, err)
	}
	if strings.Contains(st.Reason, "\n") {
		t.Errorf("the evidence is not one line: %q", st.Reason)
	}
	return st
}

// The check kinds against one lab workstation.
func TestChecksOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l, x, ctx := checkLab(t)
	t.Run("kinds", func(t *testing.T) { checkKinds(ctx, t, l, x) })
	t.Run("state changes", func(t *testing.T) { checkStateChanges(ctx, t, l, x) })
	t.Run("retry", func(t *testing.T) { checkRetry(ctx, t, l, x) })
}

// Every check kind passes and fails for real on a lab workstation, and
// says what it saw.
func checkKinds(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec) {
	ws := l.Workstations[0].Addr
	yes, no := true, false
	sec := plan.Duration(3 * time.Second)

	tests := []struct {
		name  string
		check plan.CheckSpec
		want  string   // pass, fail, cannot-run
		seen  []string // evidence the reason must hold
	}{
		{"dns: a lab name in /etc/hosts", plan.CheckSpec{DNS: &plan.DNSCheck{Name: "ws1", Resolves: true, Addresses: []string{ws}, Timeout: sec}},
			"pass", []string{"ws1 resolves to " + ws}},
		{"dns: localhost, both families", plan.CheckSpec{DNS: &plan.DNSCheck{Name: "localhost", Resolves: true, Addresses: []string{"127.0.0.1"}, Timeout: sec}},
			"pass", []string{"127.0.0.1"}},
		{"dns: the wrong address", plan.CheckSpec{DNS: &plan.DNSCheck{Name: "lab-services", Resolves: true, Addresses: []string{"192.0.2.7"}, Timeout: sec}},
			"fail", []string{"lab-services resolves to 10.213.221.2", "want 192.0.2.7 among them"}},
		{"dns: a name that does not exist", plan.CheckSpec{DNS: &plan.DNSCheck{Name: "no-such-host.invalid", Resolves: true, Timeout: sec}},
			"fail", []string{"no-such-host.invalid does not resolve"}},
		{"dns: a name that must not resolve", plan.CheckSpec{DNS: &plan.DNSCheck{Name: "no-such-host.invalid", Resolves: false, Timeout: sec}},
			"pass", []string{"does not resolve, as wanted"}},

		{"tcp: sshd", plan.CheckSpec{TCP: &plan.TCPCheck{Host: ws, Port: 22, Reachable: true, Timeout: sec}},
			"pass", []string{ws + ":22 accepted a connection"}},
		{"tcp: cupsd on localhost", plan.CheckSpec{TCP: &plan.TCPCheck{Host: "localhost", Port: 631, Reachable: true, Timeout: sec}},
			"pass", []string{"localhost:631 accepted"}},
		{"tcp: a closed port", plan.CheckSpec{TCP: &plan.TCPCheck{Host: ws, Port: 1, Reachable: true, Timeout: sec}},
			"fail", []string{ws + ":1: no connection: Connection refused"}},
		{"tcp: a closed port that must be closed", plan.CheckSpec{TCP: &plan.TCPCheck{Host: ws, Port: 1, Reachable: false, Timeout: sec}},
			"pass", []string{"Connection refused, as wanted"}},
		{"tcp: an open port that must be closed", plan.CheckSpec{TCP: &plan.TCPCheck{Host: ws, Port: 22, Reachable: false, Timeout: sec}},
			"fail", []string{"want it closed"}},

		{"http: cupsd answers", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://localhost:631/", Status: 200, Contains: []string{"CUPS"}, Timeout: sec}},
			"pass", []string{"http://localhost:631/ answered 200", "connected to"}},
		{"http: the apt repository's index", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://lab-services:8000/Packages", Status: 200, Contains: []string{"/^Package: /"}, Timeout: sec}},
			"pass", []string{"answered 200", "10.213.221.2"}},
		{"http: an unexpected status", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://localhost:631/no-such-page", Status: 200, Timeout: sec}},
			"fail", []string{"answered 404, want 200"}},
		{"http: the body lacks a text", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://localhost:631/", Status: 200, Contains: []string{"no such text anywhere"}, Timeout: sec}},
			"fail", []string{`does not contain "no such text anywhere"`}},
		{"http: nothing listens", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://localhost:1/", Status: 200, Timeout: sec}},
			"fail", []string{"no answer: curl exited 7"}},
		{"https: cupsd's own certificate is not trusted", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "https://localhost:631/", Status: 200, Timeout: plan.Duration(10 * time.Second)}},
			"fail", []string{"curl exited 60", "certificate subject", "not trusted by the host"}},
		{"https: insecure still records the certificate", plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "https://localhost:631/", Status: 200, Insecure: true, Timeout: plan.Duration(10 * time.Second)}},
			"pass", []string{"answered 200", "certificate subject", "expires", "not trusted by the host"}},

		{"service: sshd runs and starts at boot", plan.CheckSpec{Service: &plan.ServiceCheck{Name: "ssh", Running: &yes, Enabled: &yes}},
			"pass", []string{"ssh is running and enabled", "sysv", "/etc/init.d/ssh status: 0"}},
		{"service: sshd must be stopped", plan.CheckSpec{Service: &plan.ServiceCheck{Name: "ssh", Running: &no}},
			"fail", []string{"ssh is running, want stopped"}},
		{"service: one that does not exist", plan.CheckSpec{Service: &plan.ServiceCheck{Name: "no-such-service", Running: &yes}},
			"fail", []string{"no init script /etc/init.d/no-such-service"}},
		{"service: one that does not exist is not enabled", plan.CheckSpec{Service: &plan.ServiceCheck{Name: "no-such-service", Enabled: &no}},
			"pass", []string{"not enabled"}},

		{"user: the lab user", plan.CheckSpec{User: &plan.UserCheck{Name: "onboard", Exists: true, Groups: []string{"onboard"}}},
			"pass", []string{"user onboard exists: uid 1000", "groups onboard"}},
		{"user: not in a group", plan.CheckSpec{User: &plan.UserCheck{Name: "onboard", Exists: true, Groups: []string{"lpadmin"}}},
			"fail", []string{"not in lpadmin"}},
		{"user: one that does not exist", plan.CheckSpec{User: &plan.UserCheck{Name: "nobody-here", Exists: true}},
			"fail", []string{"user nobody-here does not exist"}},
		{"user: root must not exist", plan.CheckSpec{User: &plan.UserCheck{Name: "root", Exists: false}},
			"fail", []string{"uid 0", "want no such user"}},
		{"group: lpadmin", plan.CheckSpec{Group: &plan.GroupCheck{Name: "lpadmin", Exists: true}},
			"pass", []string{"group lpadmin exists: gid"}},
		{"group: one that does not exist", plan.CheckSpec{Group: &plan.GroupCheck{Name: "no-such-group", Exists: true}},
			"fail", []string{"does not exist"}},

		{"package: at least a version", plan.CheckSpec{Package: &plan.PackageCheck{Name: "openssh-server", Installed: true, Version: ">= 1:9.0"}},
			"pass", []string{"openssh-server 1:9.", "(want >= 1:9.0)"}},
		{"package: too old", plan.CheckSpec{Package: &plan.PackageCheck{Name: "openssh-server", Installed: true, Version: ">= 1:99"}},
			"fail", []string{"want >= 1:99"}},
		{"package: older than", plan.CheckSpec{Package: &plan.PackageCheck{Name: "openssh-server", Installed: true, Version: "<< 1:99"}},
			"pass", []string{"want << 1:99"}},

		{"command: a tool missing on the host", plan.CheckSpec{Command: &plan.CommandCheck{Run: "onboard-no-such-tool --version"}},
			"cannot-run", []string{"cannot run", "exit 127", "not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check
			st := runCheck(ctx, t, x, &c)
			t.Logf("%s: %s", verdict(st), st.Reason)
			if got := verdict(st); got != tt.want {
				t.Errorf("%s, want %s: %s", got, tt.want, st.Reason)
			}
			for _, s := range tt.seen {
				if !strings.Contains(st.Reason, s) {
					t.Errorf("the evidence lacks %q: %s", s, st.Reason)
				}
			}
		})
	}
}

// A service stopped on the host is found stopped, and running again once
// started; a tool removed from the host makes its check one that cannot
// run, never a pass.
func checkStateChanges(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec) {
	yes := true
	exec := func(cmd string) {
		t.Helper()
		if out, errOut, err := l.Exec(ctx, "ws1", cmd); err != nil {
			t.Fatalf("%s: %v: %s %s", cmd, err, out, errOut)
		}
	}
	cups := &plan.CheckSpec{Service: &plan.ServiceCheck{Name: "cups", Running: &yes}}
	exec("start-stop-daemon --stop --quiet --retry 5 --exec /usr/sbin/cupsd")
	if st := runCheck(ctx, t, x, cups); verdict(st) != "fail" || !strings.Contains(st.Reason, "cups is stopped, want running") {
		t.Errorf("cupsd stopped: %s: %s", verdict(st), st.Reason)
	}
	exec("start-stop-daemon --start --quiet --pidfile /run/cups/cupsd.pid --make-pidfile --background --exec /usr/sbin/cupsd -- -f")
	exec("for i in $(seq 50); do [ -S /run/cups/cups.sock ] && exit 0; sleep 0.1; done; exit 1")
	if st := runCheck(ctx, t, x, cups); verdict(st) != "pass" || !strings.Contains(st.Reason, "/etc/init.d/cups status: 0") {
		t.Errorf("cupsd started: %s: %s", verdict(st), st.Reason)
	}

	page := &plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "http://localhost:631/", Status: 200, Timeout: plan.Duration(3 * time.Second)}}
	exec("mv /usr/bin/curl /usr/bin/curl.away")
	st := runCheck(ctx, t, x, page)
	exec("mv /usr/bin/curl.away /usr/bin/curl")
	if verdict(st) != "cannot-run" || !strings.Contains(st.Reason, "curl: not found") {
		t.Errorf("curl missing: %s: %s", verdict(st), st.Reason)
	}
	if st := runCheck(ctx, t, x, page); verdict(st) != "pass" {
		t.Errorf("curl back: %s: %s", verdict(st), st.Reason)
	}
}

// A check with a retry passes once what it waits for appears within the
// time limit, saying after how many tries; one that never passes stops at
// the limit and says how often it tried.
func checkRetry(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec) {
	retry := &plan.Retry{Timeout: plan.Duration(20 * time.Second), Interval: plan.Duration(300 * time.Millisecond)}
	user := &plan.CheckSpec{User: &plan.UserCheck{Name: "late-hire", Exists: true}, Retry: retry}
	done := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_, errOut, err := l.Exec(ctx, "ws1", "useradd --no-create-home late-hire")
		if err != nil {
			err = &execError{err, errOut}
		}
		done <- err
	}()
	st := runCheck(ctx, t, x, user)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if verdict(st) != "pass" || !strings.Contains(st.Reason, "user late-hire exists") || !strings.Contains(st.Reason, "passed on try ") || strings.Contains(st.Reason, "passed on try 1,") {
		t.Errorf("a user that appears after 1.5s: %s: %s", verdict(st), st.Reason)
	}

	start := time.Now()
	never := &plan.CheckSpec{TCP: &plan.TCPCheck{Host: "localhost", Port: 1, Reachable: true, Timeout: plan.Duration(time.Second)},
		Retry: &plan.Retry{Timeout: plan.Duration(2 * time.Second), Interval: plan.Duration(500 * time.Millisecond)}}
	st = runCheck(ctx, t, x, never)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the retry ran past its limit: %s", took)
	}
	if verdict(st) != "fail" || !strings.Contains(st.Reason, "Connection refused") || !strings.Contains(st.Reason, "tries in") {
		t.Errorf("a port that never opens: %s: %s", verdict(st), st.Reason)
	}
}

type execError struct {
	err    error
	stderr string
}

func (e *execError) Error() string { return e.err.Error() + ": " + e.stderr }
