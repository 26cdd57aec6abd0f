package step_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/directory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// TestProcessesOnLab counts the processes round trips start on a lab
// workstation (its own PID namespace), logged in as the lab's user with
// sudo: the benchmark's 10 checks (5 file checks, privileged; 5 command
// checks as the user) read in one batch, as the engine does, and an
// upload.
func TestProcessesOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l, x, ctx := checkLab(t)
	lastPID := func() int {
		out, _, err := l.Exec(ctx, "ws1", "echo $$")
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("last PID %q: %v", out, err)
		}
		return n
	}
	var probes []step.Probe
	for i, p := range []string{"/etc/passwd", "/etc/group", "/etc/hostname", "/bin/sh", "/etc/os-release"} {
		for _, c := range []*plan.CheckSpec{{File: &plan.FileCheck{Path: p, Exists: true}}, {Command: &plan.CommandCheck{Run: "test -e " + p}}} {
			c.Name = fmt.Sprint("c", i)
			probes = append(probes, step.Check{}.Probes(&plan.Step{Kind: plan.KindCheck, Check: c})...)
		}
	}
	prefetch := func() {
		x.T.Invalidate()
		if _, err := x.T.Prefetch(ctx, probes); err != nil {
			t.Fatal(err)
		}
	}
	for _, round := range []struct {
		name  string
		do    func()
		procs int
		why   string
	}{
		// The login user's shell is its session's process (exec sh); the
		// privileged one is the session's process become sudo (exec) and
		// sudo's sh.
		{"first reads", prefetch, 3 + 12, "the two shells (1 + 2), then the reads"},
		{"reads again", prefetch, 12, "a job per shell (one process each), one subshell per check, which becomes stat for a file check"},
		{"package and printer reads", func() {
			x.T.Invalidate()
			ps := append(step.Package{}.Probes(&plan.Step{Package: &plan.PackageSpec{Name: "chat", Manager: "apt", Package: "acme-chat"}}),
				step.Printer{}.Probes(&plan.Step{Printer: &plan.PrinterSpec{Name: "Office-2F"}})...)
			if _, err := x.T.Prefetch(ctx, ps); err != nil {
				t.Fatal(err)
			}
		}, 6, "one job (both as the user), a subshell that becomes dpkg-query, a subshell running 3 lpstat then becoming the 4th"},
		{"a privileged upload", func() {
			if err := x.T.Comm.Upload(ctx, "/tmp/onboard-speed-test", strings.NewReader("content\n"), 0o644, true); err != nil {
				t.Fatal(err)
			}
		}, 9, "its session become sudo, sudo's sh become the script's sh, then mktemp, cat, wc, chmod, mv, rm, rmdir"},
	} {
		// sshd forks a connection's post-login process just after the
		// client has logged in: wait until nothing else starts there.
		before := lastPID()
		for deadline := time.Now().Add(10 * time.Second); ; {
			time.Sleep(100 * time.Millisecond)
			n := lastPID()
			if n == before+1 {
				before = n
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("processes keep starting on the idle host (PID %d, then %d)", before, n)
			}
			before = n
		}
		round.do()
		if n := lastPID() - before - 1; n != round.procs {
			t.Errorf("%s: %d processes on the host, want %d (%s)", round.name, n, round.procs, round.why)
		}
	}
}

// TestMembershipReadsOnLab counts the LDAP round trips of a membership
// check against the lab's OpenLDAP (memberof overlay): a member is found
// with its groups in one search; a non-member costs one more, the group's
// own answer. Nothing is cached between checks: each reads afresh.
func TestMembershipReadsOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with OpenLDAP")
	}
	l := lab.ForTest(t, lab.Config{Name: "spm", Subnet: 229, Workstations: 1, OpenLDAP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d, _ := l.Directory(lab.LDAPName)
	client, err := directory.Dial(ctx, directory.Config{
		Name: d.Name, Kind: directory.Kind(d.Kind), URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, Domain: d.Domain, BindDN: d.BindDN,
		BindPassword: secret.New(d.BindPassword), CACertFile: d.CACertFile, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	x := &step.Exec{D: &step.DirTarget{Dir: &plan.Directory{Name: d.Name, Kind: d.Kind}, Client: client}}
	uid, err := client.NextUIDNumber(ctx, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateUser(ctx, directory.UserSpec{Username: "mreads", GivenName: "Mia", Surname: "Reads",
		DisplayName: "Mia Reads", EmployeeID: "MR1", UIDNumber: uid, GIDNumber: 10000}); err != nil {
		t.Fatal(err)
	}
	s := &plan.Step{ID: "m", Kind: plan.KindMembership, Membership: &plan.MembershipSpec{Username: "mreads", Group: "engineering"}}
	if _, err := client.FindGroup(ctx, "engineering"); err != nil { // a group's DN is read once per run
		t.Fatal(err)
	}
	check := func(want bool, trips int64) {
		t.Helper()
		before := client.RoundTrips()
		st, err := step.Membership{}.Check(ctx, x, s)
		if err != nil {
			t.Fatal(err)
		}
		if st.InPlace != want {
			t.Errorf("in place %v (%s), want %v", st.InPlace, st.Reason, want)
		}
		if n := client.RoundTrips() - before; n != trips {
			t.Errorf("membership check (member %v): %d round trips, want %d", want, n, trips)
		}
	}
	check(false, 2)
	if _, err := (step.Membership{}).Apply(ctx, x, s); err != nil {
		t.Fatal(err)
	}
	check(true, 1)
	check(true, 1)
}

// TestCancelOnLab: a cancelled command is ended, with all it started, in
// the login user's shell and in the privileged (sudo) one, and the shell
// serves the next command: the signals come from a session of their own,
// with the shell's privilege.
func TestCancelOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l, x, ctx := checkLab(t)
	for _, privileged := range []bool{false, true} {
		t.Run(fmt.Sprint("privileged ", privileged), func(t *testing.T) {
			sleep := fmt.Sprintf("30.%06d", time.Now().Nanosecond()/1000)
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			// A child that ignores TERM: only the group's KILL ends it.
			_, err := x.Run(cctx, "trap '' TERM; sleep "+sleep+" & wait; echo never", privileged, "")
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%v, want context.DeadlineExceeded", err)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				out, _, err := l.Exec(ctx, "ws1", "ps -eo pid=,args= | grep ' sleep "+sleep+"$' || true")
				if err != nil {
					t.Fatal(err)
				}
				if strings.TrimSpace(out) == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("sleep %s still runs: %s", sleep, out)
				}
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				out, err := x.Run(ctx, "id -u", privileged, "")
				if err != nil {
					t.Fatal(err)
				}
				root := strings.TrimSpace(out.Stdout) == "0"
				if root != privileged {
					t.Fatalf("after the cancel, id -u says %q (privileged %v)", out.Stdout, privileged)
				}
				if out.ExitCode == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the cancel: %+v", out)
				}
			}
		})
	}
}
