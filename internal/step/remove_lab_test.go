package step_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// converge checks a step (not in place), applies it, verifies it (Verify,
// or Check again) and checks it again: in place. It returns what apply
// said.
func convergeOn(ctx context.Context, t *testing.T, x *step.Exec, s *plan.Step) string {
	t.Helper()
	k := step.Kinds[s.Kind]
	st, err := k.Check(ctx, x, s)
	if err != nil || st.InPlace {
		t.Fatalf("%s: before apply: %+v, %v", s.ID, st, err)
	}
	what, err := k.Apply(ctx, x, s)
	if err != nil {
		t.Fatalf("%s: apply: %v", s.ID, err)
	}
	x.T.Invalidate()
	if v, ok := k.(step.Verifier); ok {
		if err := v.Verify(ctx, x, s); err != nil {
			t.Fatalf("%s: verify: %v", s.ID, err)
		}
	}
	if st, err := k.Check(ctx, x, s); err != nil || !st.InPlace {
		t.Fatalf("%s: after apply: %+v, %v", s.ID, st, err)
	}
	return what
}

func labShell(ctx context.Context, t *testing.T, l *lab.Lab, cmd string) string {
	t.Helper()
	out, errOut, err := l.Exec(ctx, "ws1", cmd)
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, errOut)
	}
	return out
}

// The host removal kinds on a real workstation: packages from the lab's
// repository, a CUPS queue, a local leaver's sign-in and their home.
func TestRemovalOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l := lab.ForTest(t, lab.Config{Name: "rmh", Subnet: 243, Workstations: 1})
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	host, err := inv.Host("ws1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	defer comm.Close()
	rec := &cmdRecorder{Communicator: comm}
	x := &step.Exec{T: &step.Target{Host: host, Comm: rec}}

	t.Run("packages", func(t *testing.T) { removePackages(ctx, t, l, x, rec) })
	t.Run("printer", func(t *testing.T) { removePrinter(ctx, t, l, x, inv) })
	t.Run("local login", func(t *testing.T) { revokeLocal(ctx, t, l, x) })
	t.Run("home archive", func(t *testing.T) { archiveHome(ctx, t, l, x) })
}

// cmdRecorder notes the commands a step runs.
type cmdRecorder struct {
	remote.Communicator
	mu   sync.Mutex
	cmds []string
}

func (r *cmdRecorder) Run(ctx context.Context, c remote.Cmd) (int, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, c.Command)
	r.mu.Unlock()
	return r.Communicator.Run(ctx, c)
}

func (r *cmdRecorder) reset() {
	r.mu.Lock()
	r.cmds = nil
	r.mu.Unlock()
}

func (r *cmdRecorder) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if strings.Contains(c, sub) {
			n++
		}
	}
	return n
}

func pkgStep(id, kind, name string) *plan.Step {
	return &plan.Step{ID: id, Kind: kind, Host: "ws1", Package: &plan.PackageSpec{Name: name, Manager: "apt", Package: name}}
}

func dpkgStatus(ctx context.Context, t *testing.T, l *lab.Lab, pkgs ...string) string {
	t.Helper()
	return strings.TrimSpace(labShell(ctx, t, l, "dpkg-query -W -f='${Package}=${db:Status-Abbrev}\n' "+strings.Join(pkgs, " ")+" 2>/dev/null; true"))
}

// Two packages onboard installed are removed in one apt transaction; one
// the user installed by hand stays; a package another depends on is not
// removed (apt would take the dependent with it), and says why.
func removePackages(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec, rec *cmdRecorder) {
	chat, crm := pkgStep("chat", plan.KindPackage, "acme-chat"), pkgStep("crm", plan.KindPackage, "acme-crm")
	res := step.Package{}.ApplyBatch(ctx, x, []*plan.Step{chat, crm})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("install: %v", r.Err)
		}
	}
	// By hand, outside onboard: acme-vpn, and acme-ide (which pulls in
	// acme-git-tools).
	labShell(ctx, t, l, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q acme-vpn acme-ide >/dev/null")
	x.T.Invalidate()

	rmChat, rmCRM := pkgStep("chat-rm", plan.KindPackageRemove, "acme-chat"), pkgStep("crm-rm", plan.KindPackageRemove, "acme-crm")
	for _, s := range []*plan.Step{rmChat, rmCRM} {
		st, err := step.PackageRemove{}.Check(ctx, x, s)
		if err != nil || st.InPlace || !strings.Contains(st.Reason, "is installed, to remove") {
			t.Fatalf("%s before: %+v, %v", s.ID, st, err)
		}
	}
	rec.reset()
	res = step.PackageRemove{}.ApplyBatch(ctx, x, []*plan.Step{rmChat, rmCRM})
	if n := rec.count("apt-get remove"); n != 1 {
		t.Errorf("%d apt-get remove transactions for two packages, want 1: %q", n, rec.cmds)
	}
	for i, r := range res {
		if r.Err != nil || !strings.HasPrefix(r.Changed, "removed acme-") {
			t.Errorf("removal %d: %q, %v", i, r.Changed, r.Err)
		}
	}
	for _, s := range []*plan.Step{rmChat, rmCRM} {
		if st, err := (step.PackageRemove{}).Check(ctx, x, s); err != nil || !st.InPlace || st.Reason != s.Package.Package+" is not installed" {
			t.Errorf("%s after: %+v, %v", s.ID, st, err)
		}
	}
	// Removed, not purged (rc when it had configuration files, else gone);
	// what the user installed is untouched.
	got := dpkgStatus(ctx, t, l, "acme-chat", "acme-crm", "acme-vpn", "acme-ide", "acme-git-tools")
	for _, want := range []string{"acme-vpn=ii", "acme-ide=ii", "acme-git-tools=ii"} {
		if !strings.Contains(got, want) {
			t.Errorf("dpkg after the removal: %q lacks %q", got, want)
		}
	}
	for _, gone := range []string{"acme-chat=ii", "acme-crm=ii"} {
		if strings.Contains(got, gone) {
			t.Errorf("dpkg after the removal: %q still has %q", got, gone)
		}
	}

	// acme-git-tools: acme-ide depends on it. In a batch with another
	// package, that one is removed, and acme-git-tools' step fails alone.
	labShell(ctx, t, l, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q acme-chat >/dev/null")
	x.T.Invalidate()
	tools := pkgStep("tools-rm", plan.KindPackageRemove, "acme-git-tools")
	res = step.PackageRemove{}.ApplyBatch(ctx, x, []*plan.Step{tools, rmChat})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "removing acme-git-tools would also remove acme-ide, which depend on it: nothing removed") {
		t.Errorf("a package another depends on: %v", res[0].Err)
	}
	if res[1].Err != nil {
		t.Errorf("the other package of the batch: %v", res[1].Err)
	}
	got = dpkgStatus(ctx, t, l, "acme-ide", "acme-git-tools", "acme-chat")
	if !strings.Contains(got, "acme-ide=ii") || !strings.Contains(got, "acme-git-tools=ii") || strings.Contains(got, "acme-chat=ii") {
		t.Errorf("after the refused removal: %q", got)
	}
}

// A queue added by the printer kind is removed with lpadmin -x; the check
// then finds no such queue.
func removePrinter(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec, inv *inventory.Inventory) {
	p, ok := inv.Printers["office-2f"]
	if !ok {
		t.Fatalf("no printer office-2f in the lab's inventory")
	}
	spec := &plan.PrinterSpec{Name: "Office-2F", URI: p.URI, Model: "everywhere", Default: true}
	convergeOn(ctx, t, x, &plan.Step{ID: "prn", Kind: plan.KindPrinter, Printer: spec})
	what := convergeOn(ctx, t, x, &plan.Step{ID: "prn-rm", Kind: plan.KindPrinterRemove, Printer: spec})
	if what != "removed queue Office-2F (→ "+p.URI+"), which was the default" {
		t.Errorf("removal said %q", what)
	}
	if out := labShell(ctx, t, l, "LC_ALL=C lpstat -v 2>&1; true"); strings.Contains(out, "Office-2F") {
		t.Errorf("lpstat still lists the queue: %s", out)
	}
	if st, _ := (step.Printer{}).Check(ctx, x, &plan.Step{ID: "prn", Kind: plan.KindPrinter, Printer: spec}); st.InPlace {
		t.Errorf("the printer step is still in place")
	}
}

// A local leaver: locked and expired, their processes ended, their
// authorized_keys removed; su as them fails afterwards.
func revokeLocal(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec) {
	labShell(ctx, t, l, `useradd -m -s /bin/sh leaver && echo 'leaver:Secret-pw-1' | chpasswd &&
mkdir -p /home/leaver/.ssh && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnboardTestKeyOnly leaver' >/home/leaver/.ssh/authorized_keys &&
chown -R leaver: /home/leaver/.ssh && su -s /bin/sh -c 'setsid sleep 600 </dev/null >/dev/null 2>&1 &' leaver`)
	s := &plan.Step{ID: "revoke", Kind: plan.KindLoginRevoke, LoginRevoke: &plan.LoginRevokeSpec{User: "leaver"}}
	st, err := step.LoginRevoke{}.Check(ctx, x, s)
	if err != nil || st.InPlace {
		t.Fatalf("before: %+v, %v", st, err)
	}
	for _, want := range []string{"su as the user still works", "the account is not locked", "the account has not expired", "1 processes of the user run", "authorized_keys is still there"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("before: %q lacks %q", st.Reason, want)
		}
	}
	what := convergeOn(ctx, t, x, s)
	if what != "locked and expired leaver, ended their processes, removed their authorized_keys" {
		t.Errorf("apply said %q", what)
	}
	st, _ = step.LoginRevoke{}.Check(ctx, x, s)
	t.Logf("evidence: %s", st.Reason)
	if !strings.Contains(st.Reason, "su as the user is refused, locked, expired, no process of the user, no authorized_keys") {
		t.Errorf("after: %s", st.Reason)
	}
	if _, _, err := l.Exec(ctx, "ws1", "su -s /bin/sh -c true leaver </dev/null"); err == nil {
		t.Errorf("su as the leaver still works")
	}
	if out := labShell(ctx, t, l, "pgrep -u leaver; true"); strings.TrimSpace(out) != "" {
		t.Errorf("processes of the leaver: %s", out)
	}
	// Never onboard's own login, nor root.
	for _, u := range []string{loginUserOf(x), "root"} {
		self := &plan.Step{ID: "self", Kind: plan.KindLoginRevoke, LoginRevoke: &plan.LoginRevokeSpec{User: u}}
		if _, err := (step.LoginRevoke{}).Apply(ctx, x, self); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("revoking %s: %v", u, err)
		}
	}
}

func loginUserOf(x *step.Exec) string { return x.T.Host.User }

// The leaver's home is archived to a tar.gz that lists every file; the
// home stays; a file added later makes the archive incomplete again.
func archiveHome(ctx context.Context, t *testing.T, l *lab.Lab, x *step.Exec) {
	labShell(ctx, t, l, `mkdir -p '/home/leaver/My Documents/deep' && echo hello >'/home/leaver/My Documents/deep/a b.txt' && echo x >/home/leaver/notes && chown -R leaver: /home/leaver`)
	s := &plan.Step{ID: "archive", Kind: plan.KindHomeArchive, HomeArchive: &plan.HomeArchiveSpec{User: "leaver", Home: "/home/leaver", Archive: "/srv/leavers/leaver.tar.gz"}}
	what := convergeOn(ctx, t, x, s)
	if what != "archived /home/leaver to /srv/leavers/leaver.tar.gz (leaver kept)" {
		t.Errorf("apply said %q", what)
	}
	st, _ := step.HomeArchive{}.Check(ctx, x, s)
	t.Logf("evidence: %s", st.Reason)
	if !strings.Contains(st.Reason, "lists all") {
		t.Errorf("after: %s", st.Reason)
	}
	out := labShell(ctx, t, l, "stat -c %a /srv/leavers/leaver.tar.gz; tar -tzf /srv/leavers/leaver.tar.gz | sort; cat '/home/leaver/My Documents/deep/a b.txt'")
	for _, want := range []string{"600\n", "./My Documents/deep/a b.txt", "./notes", "hello"} {
		if !strings.Contains(out, want) {
			t.Errorf("the archive: %q lacks %q", out, want)
		}
	}
	labShell(ctx, t, l, "echo late >/home/leaver/late.txt")
	if st, err := (step.HomeArchive{}).Check(ctx, x, s); err != nil || st.InPlace || !strings.Contains(st.Reason, "lacks 1 of the") || !strings.Contains(st.Reason, "./late.txt") {
		t.Errorf("a file added later: %+v, %v", st, err)
	}
}
