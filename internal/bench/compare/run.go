package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"onboard/internal/lab"
)

// Config says what to measure.
type Config struct {
	// Onboard is the onboard binary to measure (built from this tree).
	Onboard string
	// Inventory is the tree's inventory folder (the software catalogue),
	// given to onboard besides the lab's inventory.
	Inventory string
	// Trivial and Provision are the sizes N of each workload; empty skips
	// the workload. The re-run is measured with each provisioning run.
	Trivial, Provision []int
	// Runs is how many runs of each tool, alternating.
	Runs int
	// Scale, when above 0, also runs onboard once on the trivial workload
	// at that size (the lab must hold that many workstations).
	Scale int
	// NoAnsible leaves Ansible out (for a quick smoke test without it).
	NoAnsible bool
	// Log receives one line per measured run.
	Log io.Writer
}

// Workstations is how many lab workstations cfg needs.
func (cfg Config) Workstations() int {
	n := cfg.Scale
	for _, m := range append(slices.Clone(cfg.Trivial), cfg.Provision...) {
		n = max(n, m)
	}
	return n
}

// bench is one invocation against one running lab.
type bench struct {
	cfg  Config
	lab  *lab.Lab
	dir  string
	bare *Bare
	rep  *Report
}

// Run measures every tool on every workload of cfg against the running lab
// l, which has at least cfg.Workstations() workstations.
func Run(ctx context.Context, l *lab.Lab, cfg Config) (*Report, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if len(l.Workstations) < cfg.Workstations() {
		return nil, fmt.Errorf("bench: the lab has %d workstations, want %d", len(l.Workstations), cfg.Workstations())
	}
	if !cfg.NoAnsible {
		if _, err := exec.LookPath("ansible-playbook"); err != nil {
			return nil, fmt.Errorf("bench: %w (apt-get install -y ansible)", err)
		}
	}
	dir, err := os.MkdirTemp("", "onboard-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bare, err := NewBare(l.User, l.KeyFile, l.KnownHostsFile)
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, lab: l, dir: dir, bare: bare,
		rep: &Report{Date: time.Now().UTC(), Machine: thisMachine(), Runs: cfg.Runs}}
	defer func() { b.rep.Machine.LoadAfter = loadAvg() }()
	for _, n := range cfg.Trivial {
		if err := b.trivial(ctx, n); err != nil {
			return b.rep, err
		}
	}
	for _, n := range cfg.Provision {
		if err := b.provision(ctx, n); err != nil {
			return b.rep, err
		}
	}
	if cfg.Scale > 0 {
		if err := b.scale(ctx, cfg.Scale); err != nil {
			return b.rep, err
		}
	}
	return b.rep, nil
}

// hosts returns the first n workstations.
func (b *bench) hosts(n int) []Host {
	out := make([]Host, n)
	for i, ws := range b.lab.Workstations[:n] {
		out[i] = Host{Name: ws.Name, Addr: ws.Addr, Port: ws.Port}
	}
	return out
}

// probe watches the CPU of the first n workstations.
func (b *bench) probe(n int) (*HostCPU, error) {
	var names []string
	for _, ws := range b.lab.Workstations[:n] {
		names = append(names, "obl-"+b.lab.Name()+"-"+ws.Name)
	}
	return NewHostCPU(names)
}

// writePlaybooks writes one onboard playbook per host into a new folder.
func (b *bench) writePlaybooks(name string, n int, gen func(i int, ws string) string) ([]string, error) {
	d := filepath.Join(b.dir, fmt.Sprintf("%s-%d", name, n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for i, ws := range b.lab.Workstations[:n] {
		f := filepath.Join(d, fmt.Sprintf("hire%d.yaml", i+1))
		if err := os.WriteFile(f, []byte(gen(i+1, ws.Name)), 0o644); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// ansibleFiles writes the inventory, configuration and playbook of an
// Ansible run at size n; it returns the playbook path and the environment.
func (b *bench) ansibleFiles(name string, n int, playbook string) (string, []string, error) {
	d := filepath.Join(b.dir, fmt.Sprintf("ansible-%s-%d", name, n))
	if err := os.MkdirAll(filepath.Join(d, "cp"), 0o700); err != nil {
		return "", nil, err
	}
	var hosts [][2]string
	for _, ws := range b.lab.Workstations[:n] {
		hosts = append(hosts, [2]string{ws.Name, ws.Addr})
	}
	files := map[string]string{
		"inventory.ini": AnsibleInventory(hosts, b.lab.User, b.lab.KeyFile),
		"ansible.cfg":   AnsibleConfig(n, b.lab.KnownHostsFile, filepath.Join(d, "cp")),
		"playbook.yml":  playbook,
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
			return "", nil, err
		}
	}
	env := append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(d, "ansible.cfg"),
		"ANSIBLE_INVENTORY="+filepath.Join(d, "inventory.ini"), "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(d, "tmp"), "ANSIBLE_HOME="+filepath.Join(d, "home"))
	return filepath.Join(d, "playbook.yml"), env, nil
}

// child runs a command to completion and measures it; a failure is an error
// with the end of its output.
func (b *bench) child(ctx context.Context, probe *HostCPU, env []string, name string, args ...string) (Sample, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	// Ansible's workers outlive a killed parent and hold its output open:
	// an interrupted run kills the whole process group, and stops waiting
	// for output soon after.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before, err := probe.Read()
	if err != nil {
		return Sample{}, err
	}
	start := time.Now()
	if err = cmd.Start(); err != nil {
		return Sample{}, fmt.Errorf("%s: %w", name, err)
	}
	// Sample the memory of the whole process group while it runs.
	var peakPSS int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			peakPSS = max(peakPSS, GroupPSS(cmd.Process.Pid))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err = cmd.Wait()
	wall := time.Since(start)
	close(done)
	<-sampled
	after, perr := probe.Read()
	if err != nil {
		return Sample{}, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tailString(out.String(), 2000))
	}
	if perr != nil {
		return Sample{}, perr
	}
	s := Sample{Wall: wall, HostCPU: after - before, PeakGroupPSSKB: peakPSS}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.ControllerCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.PeakRSSKB = ru.Maxrss
	}
	return s, nil
}

// inProcess measures f, run in this process (the bare loops).
func (b *bench) inProcess(probe *HostCPU, f func() error) (Sample, error) {
	before, err := probe.Read()
	if err != nil {
		return Sample{}, err
	}
	cpu := selfUsage()
	start := time.Now()
	err = f()
	wall := time.Since(start)
	cpu = selfUsage() - cpu
	after, perr := probe.Read()
	if err != nil {
		return Sample{}, err
	}
	if perr != nil {
		return Sample{}, perr
	}
	return Sample{Wall: wall, ControllerCPU: cpu, HostCPU: after - before}, nil
}

// onboard runs the onboard binary on files, with a journal of its own.
func (b *bench) onboard(ctx context.Context, probe *HostCPU, n int, files []string, journal string, json bool) (Sample, error) {
	args := []string{"-i", b.cfg.Inventory, "-i", b.lab.InventoryFile, "--journal", journal,
		"-p", fmt.Sprint(n), "--no-color"}
	if json {
		args = append(args, "-o", "json")
	}
	s, err := b.child(ctx, probe, os.Environ(), b.cfg.Onboard, append(args, files...)...)
	return s, err
}

// ansible runs ansible-playbook, then closes the ControlPersist masters it
// left (outside the measurement).
func (b *bench) ansible(ctx context.Context, probe *HostCPU, playbook string, env []string) (Sample, error) {
	s, err := b.child(ctx, probe, env, "ansible-playbook", playbook)
	cp := filepath.Join(filepath.Dir(playbook), "cp")
	socks, _ := filepath.Glob(filepath.Join(cp, "*"))
	for _, sock := range socks {
		_ = exec.CommandContext(ctx, "ssh", "-o", "ControlPath="+sock, "-O", "exit", "bench").Run()
	}
	return s, err
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.Log, "bench: "+format+"\n", args...)
}

func (b *bench) record(row *Row, run int, tool string, s Sample) {
	row.Add(tool, s)
	b.logf("%-16s N=%-3d run %d %-15s wall %7.2fs  controller CPU %6.2fs  RSS %4d MB  PSS %4d MB  hosts' CPU %6.2fs  processes/host %5.1f",
		row.Workload, row.N, run, tool, s.Wall.Seconds(), s.ControllerCPU.Seconds(), s.PeakRSSKB/1024, s.PeakGroupPSSKB/1024, s.HostCPU.Seconds(),
		float64(s.HostProcs)/float64(row.N))
}

// trivial measures 10 trivial checks per host on n hosts.
func (b *bench) trivial(ctx context.Context, n int) error {
	probe, err := b.probe(n)
	if err != nil {
		return err
	}
	files, err := b.writePlaybooks("trivial", n, TrivialPlaybook)
	if err != nil {
		return err
	}
	pb, env, err := b.ansibleFiles("trivial", n, TrivialAnsible())
	if err != nil {
		return err
	}
	hosts, cmds := b.hosts(n), TrivialCommands()
	row := b.rep.Row(Trivial, n)
	for run := 1; run <= b.cfg.Runs; run++ {
		for _, json := range []bool{false, true} {
			tool := map[bool]string{false: OnboardText, true: OnboardJSON}[json]
			journal := filepath.Join(b.dir, fmt.Sprintf("journal-trivial-%d-%d-%s.db", n, run, tool))
			s, err := b.counted(ctx, n, func() (Sample, error) { return b.onboard(ctx, probe, n, files, journal, json) })
			if err != nil {
				return err
			}
			s.Steps = 10 * n
			b.record(row, run, tool, s)
		}
		if !b.cfg.NoAnsible {
			s, err := b.counted(ctx, n, func() (Sample, error) { return b.ansible(ctx, probe, pb, env) })
			if err != nil {
				return err
			}
			s.Steps = 10 * n
			b.record(row, run, Ansible, s)
		}
		for _, m := range []Mode{SessionPerCommand, Batched} {
			s, err := b.counted(ctx, n, func() (Sample, error) {
				return b.inProcess(probe, func() error { return b.bare.Run(ctx, hosts, cmds, m, "") })
			})
			if err != nil {
				return err
			}
			s.Steps = 10 * n
			b.record(row, run, map[Mode]string{SessionPerCommand: BareSession, Batched: BareBatched}[m], s)
		}
	}
	return nil
}

// printerURI is the URI of the provisioning's printer.
func (b *bench) printerURI() (string, error) {
	for _, p := range b.lab.Printers {
		if p.Name == provPrinter {
			return p.URI, nil
		}
	}
	return "", fmt.Errorf("bench: the lab has no printer %s", provPrinter)
}

// reset undoes the provisioning on the first n hosts, in parallel.
func (b *bench) reset(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, ws := range b.lab.Workstations[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, stderr, err := b.lab.Exec(ctx, ws.Name, ResetScript()); err != nil {
				errs[i] = fmt.Errorf("reset %s: %w: %s", ws.Name, err, stderr)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// provision measures the provisioning workload on n hosts: for each tool a
// first run from reset hosts, then a re-run with everything in place.
func (b *bench) provision(ctx context.Context, n int) error {
	probe, err := b.probe(n)
	if err != nil {
		return err
	}
	uri, err := b.printerURI()
	if err != nil {
		return err
	}
	files, err := b.writePlaybooks("provision", n, ProvisionPlaybook)
	if err != nil {
		return err
	}
	pb, env, err := b.ansibleFiles("provision", n, ProvisionAnsible(uri))
	if err != nil {
		return err
	}
	hosts := b.hosts(n)
	first, again := b.rep.Row(Provision, n), b.rep.Row(Rerun, n)
	const steps = 9 // 4 packages, printer, file, command, 2 checks
	for run := 1; run <= b.cfg.Runs; run++ {
		// onboard
		if err := b.reset(ctx, n); err != nil {
			return err
		}
		journal := filepath.Join(b.dir, fmt.Sprintf("journal-provision-%d-%d.db", n, run))
		for _, row := range []*Row{first, again} {
			s, err := b.counted(ctx, n, func() (Sample, error) { return b.onboard(ctx, probe, n, files, journal, false) })
			if err != nil {
				return err
			}
			s.Steps = steps * n
			b.record(row, run, OnboardText, s)
		}
		// Ansible
		if !b.cfg.NoAnsible {
			if err := b.reset(ctx, n); err != nil {
				return err
			}
			for _, row := range []*Row{first, again} {
				s, err := b.counted(ctx, n, func() (Sample, error) { return b.ansible(ctx, probe, pb, env) })
				if err != nil {
					return err
				}
				s.Steps = steps * n
				b.record(row, run, Ansible, s)
			}
		}
		// The floors: the physical limit from reset hosts, then the
		// re-run's checks with everything in place.
		if err := b.reset(ctx, n); err != nil {
			return err
		}
		script := PhysicalLimitScript(uri)
		s, err := b.counted(ctx, n, func() (Sample, error) {
			return b.inProcess(probe, func() error { return b.bare.Run(ctx, hosts, []string{script}, Batched, "sudo ") })
		})
		if err != nil {
			return err
		}
		s.Steps = steps * n
		b.record(first, run, PhysicalLimit, s)
		s, err = b.counted(ctx, n, func() (Sample, error) {
			return b.inProcess(probe, func() error { return b.bare.Run(ctx, hosts, RerunChecks(), SessionPerCommand, "") })
		})
		if err != nil {
			return err
		}
		s.Steps = steps * n
		b.record(again, run, BareChecks, s)
	}
	return nil
}

// scale runs onboard once at size n on the trivial workload, each output.
func (b *bench) scale(ctx context.Context, n int) error {
	probe, err := b.probe(n)
	if err != nil {
		return err
	}
	files, err := b.writePlaybooks("scale", n, TrivialPlaybook)
	if err != nil {
		return err
	}
	for _, json := range []bool{true, false} {
		tool := map[bool]string{false: OnboardText, true: OnboardJSON}[json]
		journal := filepath.Join(b.dir, fmt.Sprintf("journal-scale-%d-%s.db", n, tool))
		s, err := b.onboard(ctx, probe, n, files, journal, json)
		if err != nil {
			return err
		}
		sc := Scale{N: n, Tool: tool, Wall: s.Wall, Steps: 10 * n, PeakRSSKB: s.PeakRSSKB, PeakGroupPSSKB: s.PeakGroupPSSKB,
			ControllerCPU: s.ControllerCPU, HostCPU: s.HostCPU}
		sc.StepsPerSecond = float64(sc.Steps) / s.Wall.Seconds()
		b.rep.Scale = append(b.rep.Scale, sc)
		b.logf("scale N=%d %s wall %.2fs %.0f steps/s RSS %d MB", n, tool, s.Wall.Seconds(), sc.StepsPerSecond, s.PeakRSSKB/1024)
	}
	return nil
}

// thisMachine describes the machine.
func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), LoadBefore: loadAvg()}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		m.MemoryMB = int64(si.Totalram) * int64(si.Unit) / (1 << 20)
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var s strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			s.WriteByte(byte(c))
		}
		m.Kernel = s.String()
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// loadAvg is the 1-minute load average, "" when unknown.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// lastPIDs reads each of the first n hosts' last PID (every workstation has
// a PID namespace of its own): the PID of the reading shell, which starts
// nothing else. (/proc/sys/kernel/ns_last_pid there answers for another
// namespace of the lab's nesting, not the host's.)
func (b *bench) lastPIDs(ctx context.Context, n int) ([]int, error) {
	out := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, ws := range b.lab.Workstations[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := b.lab.Exec(ctx, ws.Name, "echo $$")
			if err == nil {
				out[i], err = strconv.Atoi(strings.TrimSpace(o))
			}
			if err != nil {
				errs[i] = fmt.Errorf("last PID of %s: %w", ws.Name, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// counted runs measure and adds to its sample how many processes it
// started on the first n hosts: the growth of each host's last PID, less
// the one process the second reading starts.
func (b *bench) counted(ctx context.Context, n int, measure func() (Sample, error)) (Sample, error) {
	before, err := b.lastPIDs(ctx, n)
	if err != nil {
		return Sample{}, err
	}
	s, err := measure()
	if err != nil {
		return s, err
	}
	after, err := b.lastPIDs(ctx, n)
	if err != nil {
		return s, err
	}
	for i := range after {
		s.HostProcs += after[i] - before[i] - 1
	}
	return s, nil
}
