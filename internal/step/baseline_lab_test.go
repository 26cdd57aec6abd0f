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
	"onboard/internal/planner"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// The shipped baseline against a lab workstation: every finding names what
// it found; checks pass and fail for real as the test changes the state of
// the machine (and puts it back); what the machine cannot tell is never a
// pass.
func TestBaselineOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l := lab.ForTest(t, lab.Config{Name: "bsl", Subnet: 223, Workstations: 1})
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	ws := l.Workstations[0].Name
	p, err := planner.VerifyPlan(inv, "baseline", []string{ws}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, p.Hosts[ws])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { comm.Close() })
	x := &step.Exec{T: &step.Target{Host: p.Hosts[ws], Comm: comm}}
	checks := map[string]*plan.Step{}
	for _, s := range p.Steps {
		if s.Check.Set != "baseline@1" {
			t.Errorf("%s: set %q", s.ID, s.Check.Set)
		}
		checks[strings.TrimPrefix(s.ID, ws+":check:")] = s
	}
	run := func(t *testing.T, name string) step.State {
		t.Helper()
		s := checks[name]
		if s == nil {
			t.Fatalf("the baseline has no check %s", name)
		}
		x.T.Invalidate()
		st, err := step.Check{}.Check(ctx, x, s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.TrimSpace(st.Reason) == "" || strings.Contains(st.Reason, "\n") {
			t.Errorf("%s: the evidence is not one line saying what was found: %q", name, st.Reason)
		}
		t.Logf("%s: %s: %s", name, verdict(st), st.Reason)
		return st
	}
	sh := func(t *testing.T, cmd string) string {
		t.Helper()
		out, stderr, err := l.Exec(ctx, ws, cmd)
		if err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, stderr)
		}
		return out
	}
	expect := func(t *testing.T, name, want string, seen ...string) {
		t.Helper()
		st := run(t, name)
		if got := verdict(st); got != want {
			t.Errorf("%s: %s (%s), want %s", name, got, st.Reason, want)
		}
		for _, s := range seen {
			if !strings.Contains(st.Reason, s) {
				t.Errorf("%s: the evidence %q lacks %q", name, st.Reason, s)
			}
		}
	}

	t.Run("ssh root login", func(t *testing.T) {
		// The lab's sshd_config: PermitRootLogin no, PasswordAuthentication no.
		expect(t, "ssh-root-password", "pass", "sshd -T: permitrootlogin no, passwordauthentication no")
		sh(t, `cp /etc/ssh/sshd_config /etc/ssh/sshd_config.onboard-test && sed -i 's/^PermitRootLogin no/PermitRootLogin yes/; s/^PasswordAuthentication no/PasswordAuthentication yes/' /etc/ssh/sshd_config`)
		defer sh(t, `mv /etc/ssh/sshd_config.onboard-test /etc/ssh/sshd_config`)
		expect(t, "ssh-root-password", "fail", "permitrootlogin yes, passwordauthentication yes")
	})

	t.Run("security updates enabled", func(t *testing.T) {
		const f = "/etc/apt/apt.conf.d/20onboard-test-auto-upgrades"
		defer sh(t, "rm -f "+f)
		before := sh(t, `apt-config dump | grep '^APT::Periodic::Unattended-Upgrade ' || true`)
		if before == "" {
			expect(t, "security-updates-enabled", "fail", "APT::Periodic::Unattended-Upgrade is not set in /etc/apt/apt.conf.d")
		}
		sh(t, `printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' > `+f)
		expect(t, "security-updates-enabled", "pass", `apt configuration: APT::Periodic::Unattended-Upgrade "1";`)
		// A later file turns it off again: apt reads the last, and so does the check.
		sh(t, `printf 'APT::Periodic::Unattended-Upgrade "0";\n' > /etc/apt/apt.conf.d/99onboard-test-off`)
		defer sh(t, "rm -f /etc/apt/apt.conf.d/99onboard-test-off")
		expect(t, "security-updates-enabled", "fail", `APT::Periodic::Unattended-Upgrade "0";`)
	})

	t.Run("security updates installed", func(t *testing.T) {
		// The image may or may not carry unattended-upgrades: the check
		// must say what dpkg says.
		v := sh(t, `dpkg-query -W -f '${Status} ${Version}' unattended-upgrades 2>/dev/null || true`)
		if strings.HasPrefix(v, "install ok installed") {
			expect(t, "security-updates-installed", "pass", "unattended-upgrades "+strings.Fields(v)[3]+" is installed")
		} else {
			expect(t, "security-updates-installed", "fail", "unattended-upgrades is not installed")
		}
	})

	t.Run("firewall", func(t *testing.T) {
		if sh(t, `command -v nft || true`) == "" {
			expect(t, "firewall-active", "cannot-run", "exit 127")
			return
		}
		saved := sh(t, `nft list ruleset`)
		defer func() {
			sh(t, `nft flush ruleset`)
			if strings.TrimSpace(saved) != "" {
				sh(t, "nft -f - <<'EOF'\n"+saved+"\nEOF")
			}
		}()
		sh(t, `nft flush ruleset`)
		expect(t, "firewall-active", "fail", "no filter chain on the input hook in the loaded nftables ruleset (0 chains)")
		sh(t, `nft -f - <<'EOF'
table inet filter {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 22 accept
	}
}
EOF`)
		expect(t, "firewall-active", "pass", "type filter hook input priority filter; policy accept;", "1 chains")
	})

	t.Run("disk encryption", func(t *testing.T) {
		// A lab workstation is a chroot without a dm-crypt device: lsblk
		// either cannot read the block devices (cannot tell) or lists no
		// crypt device. Never a pass.
		st := run(t, "disk-encryption")
		switch verdict(st) {
		case "cannot-run":
			if !strings.HasPrefix(st.Reason, "cannot tell: ") {
				t.Errorf("cannot-run without saying the host cannot tell: %q", st.Reason)
			}
		case "fail":
			if !strings.HasPrefix(st.Reason, "no encrypted device; lsblk lists ") {
				t.Errorf("a fail that does not say what lsblk listed: %q", st.Reason)
			}
		default:
			t.Errorf("a workstation without dm-crypt passed: %q", st.Reason)
		}
	})

	t.Run("screen lock", func(t *testing.T) {
		expect(t, "screen-lock", "pass", "not applicable: no desktop session is installed")
		defer sh(t, `rm -rf /usr/share/xsessions/onboard-test.desktop /etc/dconf/db/local.d/00-onboard-test /etc/dconf/db/local.d/locks/onboard-test`)
		sh(t, `mkdir -p /usr/share/xsessions && printf '[Desktop Entry]\nName=Test\n' > /usr/share/xsessions/onboard-test.desktop`)
		expect(t, "screen-lock", "fail", "no dconf lock of /org/gnome/desktop/screensaver/lock-enabled")
		sh(t, `mkdir -p /etc/dconf/db/local.d/locks && printf '[org/gnome/desktop/screensaver]\nlock-enabled=true\n' > /etc/dconf/db/local.d/00-onboard-test && printf '/org/gnome/desktop/screensaver/lock-enabled\n' > /etc/dconf/db/local.d/locks/onboard-test`)
		expect(t, "screen-lock", "pass", "screen lock enabled by /etc/dconf/db/local.d/00-onboard-test", "locked by /etc/dconf/db/local.d/locks/onboard-test")
	})
}
