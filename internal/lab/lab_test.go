package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file start real labs: they need root and the packages of
// packages.txt, and take a few seconds (about a minute more the first time,
// to build the base image). -short skips them. Each test uses its own lab
// name and subnet, so they run in parallel with each other and with a demo
// lab ("lab", subnet 0).

func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real lab (root, network namespaces); run without -short")
	}
	t.Parallel()
}

// sshArgs returns an OpenSSH client command line that trusts only the lab's
// known_hosts and logs in with the lab's key, ignoring any local ssh config.
func sshArgs(l *Lab, ws Workstation, command string) []string {
	return []string{
		"-F", "/dev/null",
		"-i", l.KeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + l.KnownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=5",
		"-p", fmt.Sprint(ws.Port),
		l.User + "@" + ws.Addr,
		command,
	}
}

// ssh runs command on ws over SSH and returns its stdout and stderr.
func ssh(t *testing.T, l *Lab, ws Workstation, command string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "ssh", sshArgs(l, ws, command)...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	return o.String(), e.String(), err
}

func mustSSH(t *testing.T, l *Lab, ws Workstation, command string) string {
	t.Helper()
	out, errOut, err := ssh(t, l, ws, command)
	if err != nil {
		t.Fatalf("ssh %s %q: %v\nstdout: %s\nstderr: %s", ws.Name, command, err, out, errOut)
	}
	return out
}

func TestLab(t *testing.T) {
	integration(t)
	start := time.Now()
	l := ForTest(t, Config{Name: "labt", Subnet: 250})
	t.Logf("lab up in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	if len(l.Workstations) != 2 || l.Workstations[0].Name != "ws1" || l.Workstations[1].Addr != "10.213.250.12" {
		t.Fatalf("workstations = %+v, want ws1 and ws2 at 10.213.250.11-12", l.Workstations)
	}
	ws1, ws2 := l.Workstations[0], l.Workstations[1]

	t.Run("login as the lab user with passwordless sudo", func(t *testing.T) {
		for _, ws := range l.Workstations {
			out := mustSSH(t, l, ws, "id -un; sudo -n true && echo sudo-ok; hostname")
			if want := "onboard\nsudo-ok\n" + ws.Name + "\n"; out != want {
				t.Errorf("%s: got %q, want %q", ws.Name, out, want)
			}
		}
	})

	t.Run("key file is private", func(t *testing.T) {
		st, err := os.Stat(l.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", l.KeyFile, st.Mode().Perm())
		}
	})

	t.Run("apt installs only on the workstation", func(t *testing.T) {
		out := mustSSH(t, l, ws1, "sudo apt-get update -qq && "+
			"sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq acme-chat=3.0.0 acme-ide >/dev/null && "+
			"acme-chat && acme-git-tools && dpkg-query -W -f='${Version}' acme-chat")
		if want := "acme-chat 3.0.0\nacme-git-tools 2.45.0\n3.0.0"; out != want {
			t.Errorf("ws1: got %q, want %q", out, want)
		}
		if out, _, err := l.Exec(ctx, "ws1", "cat /usr/share/doc/acme-chat/README"); err != nil || !strings.HasPrefix(out, "acme-chat 3.0.0") {
			t.Errorf("ws1 README: %q, %v", out, err)
		}
		// The newer version is there for upgrades.
		out = mustSSH(t, l, ws1, "apt-cache madison acme-chat | awk '{print $3}' | sort | tr '\\n' ' '")
		if out != "3.0.0 3.1.0 " {
			t.Errorf("ws1 versions of acme-chat: %q, want both", out)
		}
		for _, cmd := range []string{"dpkg-query -W acme-chat", "test -e /usr/bin/acme-chat"} {
			out, _, err := l.Exec(ctx, "ws2", cmd)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("ws2 should not have acme-chat: %s: out %q, err %v", cmd, out, err)
			}
		}
		if _, err := os.Stat("/usr/bin/acme-chat"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("controller has /usr/bin/acme-chat: %v", err)
		}
		if out, err := exec.Command("dpkg-query", "-W", "acme-chat").CombinedOutput(); err == nil {
			t.Errorf("controller's dpkg knows acme-chat: %s", out)
		}
	})

	t.Run("print a job to a mapped printer", func(t *testing.T) {
		p := l.Printers[0]
		if p.Name != "Office-2F" || p.URI != "ipp://10.213.250.2:8631/ipp/print" {
			t.Fatalf("first printer = %+v", p)
		}
		mustSSH(t, l, ws1, fmt.Sprintf("sudo lpadmin -p %s -v %s -E -m everywhere && "+
			"echo 'onboard lab test page' > /tmp/page.txt && lp -d %s -t labtest /tmp/page.txt", p.Name, p.URI, p.Name))
		deadline := time.Now().Add(30 * time.Second)
		for {
			jobs, err := l.Jobs(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 1 && strings.Contains(jobs[0], "job=labtest") && strings.Contains(jobs[0], "user=onboard") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no job in %s after 30s: %q", p.JobLog, jobs)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if jobs, _ := l.Jobs("Lobby"); len(jobs) != 0 {
			t.Errorf("Lobby got jobs it was not sent: %q", jobs)
		}
	})

	t.Run("stopped printer refuses connections and restarts", func(t *testing.T) {
		addr := strings.TrimSuffix(strings.TrimPrefix(l.Printers[1].URI, "ipp://"), "/ipp/print")
		if err := l.StopPrinter(ctx, "Lobby"); err != nil {
			t.Fatal(err)
		}
		if err := dialRefused(addr); err != nil {
			t.Error(err)
		}
		if err := l.StartPrinter(ctx, "Lobby"); err != nil {
			t.Fatal(err)
		}
		if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
			t.Errorf("printer Lobby after StartPrinter: %v", err)
		} else {
			c.Close()
		}
	})

	t.Run("stopped sshd refuses connections and restarts", func(t *testing.T) {
		if err := l.StopSSH(ctx, "ws2"); err != nil {
			t.Fatal(err)
		}
		if err := dialRefused(net.JoinHostPort(ws2.Addr, "22")); err != nil {
			t.Error(err)
		}
		if err := l.StartSSH(ctx, "ws2"); err != nil {
			t.Fatal(err)
		}
		if out := mustSSH(t, l, ws2, "id -un"); out != "onboard\n" {
			t.Errorf("after StartSSH: %q", out)
		}
	})

	t.Run("rotated host key is refused", func(t *testing.T) {
		if err := l.RotateHostKey(ctx, "ws2"); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := ssh(t, l, ws2, "id -un")
		if err == nil {
			t.Fatalf("ssh with the old known_hosts succeeded: %q", out)
		}
		if !strings.Contains(errOut, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Errorf("ssh failed, but not for the host key: %v: %s", err, errOut)
		}
		// The other workstation is untouched.
		mustSSH(t, l, ws1, "true")
	})

	t.Run("open attaches to the running lab", func(t *testing.T) {
		o, err := Open(Config{Name: "labt"})
		if err != nil {
			t.Fatal(err)
		}
		if o.RepoURL != l.RepoURL || len(o.Workstations) != 2 || o.Workstations[0] != l.Workstations[0] {
			t.Errorf("Open = %+v, want the running lab %+v", o, l)
		}
		out, _, err := o.Exec(ctx, "ws1", "hostname; id -u")
		if err != nil || out != "ws1\n0\n" {
			t.Errorf("Exec through Open: %q, %v", out, err)
		}
	})

	t.Run("inventory names every host and printer", func(t *testing.T) {
		b, err := os.ReadFile(l.InventoryFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"credential: file:" + l.KeyFile, "known_hosts: " + l.KnownHostsFile,
			"  ws2:\n    address: 10.213.250.12\n", "  office-2f:\n    queue: Office-2F\n",
		} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("inventory lacks %q:\n%s", want, b)
			}
		}
	})
}

// dialRefused checks that addr actively refuses TCP connections.
func dialRefused(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s still accepts connections", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: want connection refused, got %v", addr, err)
	}
	return nil
}

func TestStartTwiceThenStop(t *testing.T) {
	integration(t)
	ctx := context.Background()
	cfg := Config{Name: "labu", Subnet: 251, Workstations: 1, Printers: []string{"Solo"}}
	first, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Start(ctx, cfg) // over a running lab of the same name
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if first.Workstations[0].HostKeyLine == second.Workstations[0].HostKeyLine {
		t.Error("second Start kept the first lab's workstation (same host key)")
	}
	// Stopping the replaced lab must not touch its replacement.
	if err := first.Stop(ctx); err != nil {
		t.Errorf("Stop of the replaced lab: %v", err)
	}
	if out := mustSSH(t, second, second.Workstations[0], "id -un"); out != "onboard\n" {
		t.Errorf("after second Start: %q", out)
	}
	// The services whose leftovers the assertions below would see run.
	for _, svc := range []string{ServiceDNS, ServiceIntranet, ServiceMail, ServiceVPN} {
		d, err := second.daemon(svc)
		if err != nil {
			t.Fatal(err)
		}
		if pids, err := second.daemonPIDs(d.match); err != nil || len(pids) == 0 {
			t.Errorf("service %s is not running before Stop: %v %v", svc, pids, err)
		}
	}
	dir := second.Config().Dir
	start := time.Now()
	if err := second.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("lab down in %s", time.Since(start).Round(time.Millisecond))
	if err := second.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	assertGone(t, "labu", dir, cfg.Subnet)
	if _, err := Open(cfg); err == nil {
		t.Error("Open after Stop succeeded")
	}
	if _, err := os.Stat(filepath.Join(second.Config().CacheDir, imageKey(), "root.ok")); err != nil {
		t.Errorf("Stop removed the cached base image: %v", err)
	}
}

// assertGone checks that nothing named for the lab is left.
func assertGone(t *testing.T, name, dir string, subnet int) {
	t.Helper()
	out, err := exec.Command(resolve("ip"), "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	if strings.Contains(string(out), "obl-"+name+"-") {
		t.Errorf("namespaces left: %s", out)
	}
	out, err = exec.Command(resolve("ip"), "-o", "link").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	if strings.Contains(string(out), "obl-"+name) {
		t.Errorf("links left: %s", out)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, dir) || strings.Contains(line, "obl-"+name) {
			t.Errorf("mount left: %s", line)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state folder %s left: %v", dir, err)
	}
	// Every process of the lab had the state folder (overlay layers,
	// spools, configurations) or an address of the lab's network (the
	// listeners) in its command line, or ran inside its namespaces.
	addrs := []byte(strings.TrimSuffix(hostAddr(subnet, 0), "0")) // "10.213.N."
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && (bytes.Contains(b, []byte(dir)) || bytes.Contains(b, addrs)) {
			t.Errorf("process left: %s: %s", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}

func TestMissingPrerequisiteFailsTheTest(t *testing.T) {
	saved := prerequisites
	t.Cleanup(func() { prerequisites = saved })
	prerequisites = append([]prerequisite{{command: "onboard-lab-no-such-command", pkg: "onboard-lab-no-such-package"}}, saved...)

	_, err := Start(context.Background(), Config{Name: "labx", Subnet: 253})
	if os.Geteuid() == 0 {
		if !errors.Is(err, ErrPrerequisite) || !strings.Contains(err.Error(), `"onboard-lab-no-such-command"`) ||
			!strings.Contains(err.Error(), "apt-get install -y onboard-lab-no-such-package") {
			t.Errorf("Start error = %v, want one naming the command and its package", err)
		}
	} else if !errors.Is(err, ErrPrerequisite) || !strings.Contains(err.Error(), "root") {
		t.Errorf("Start as non-root: error = %v, want one saying root is needed", err)
	}

	fake := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ForTest(fake, Config{Name: "labx", Subnet: 253})
	}()
	<-done
	if fake.skipped {
		t.Error("ForTest skipped; it must fail")
	}
	if !strings.Contains(fake.fatal, "lab prerequisite missing") {
		t.Errorf("ForTest fatal message = %q, want the prerequisite error", fake.fatal)
	}
}

// fakeTB records how ForTest ends a test, instead of ending this one.
type fakeTB struct {
	testing.TB
	fatal   string
	skipped bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Skip(...any)       { f.skipped = true; runtime.Goexit() }
func (f *fakeTB) Skipf(string, ...any) {
	f.skipped = true
	runtime.Goexit()
}
func (f *fakeTB) SkipNow() { f.skipped = true; runtime.Goexit() }

// BenchmarkStartStop20 starts and stops a 20-workstation lab; it reports
// seconds per Start and per Stop. Run: go test -run '^$' -bench StartStop20
// ./internal/lab/
func BenchmarkStartStop20(b *testing.B) {
	ctx := context.Background()
	cfg := Config{Name: "labb", Subnet: 252, Workstations: 20}
	var up, down time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l, err := Start(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := l.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		up, down = up+t1.Sub(t0), down+time.Since(t1)
	}
	b.ReportMetric(up.Seconds()/float64(b.N), "start-s")
	b.ReportMetric(down.Seconds()/float64(b.N), "stop-s")
}
