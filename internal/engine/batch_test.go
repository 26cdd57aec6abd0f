package engine

// These tests run the real package kind through the engine against a fake
// host that answers dpkg-query, apt-cache and apt-get as Debian does, and
// records every command: they pin how many commands a host's packages cost
// and what each step reports when one package of a batch breaks.

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/shell"
	"onboard/internal/step"
)

// aptHost is one Debian host as far as packages go.
type aptHost struct {
	mu        sync.Mutex
	repo      map[string]string // what the sources offer: name → version
	index     map[string]string // what the downloaded index knows
	stale     bool              // sources newer than the index
	installed map[string]string
	broken    map[string]bool // packages whose post-installation script fails
	drops     int             // installs whose connection drops before they answer
	rebuilt   bool            // the repository no longer holds the files the index names
	cmds      []string
}

func newAptHost(repo map[string]string) *aptHost {
	return &aptHost{repo: repo, index: map[string]string{}, stale: true, installed: map[string]string{}, broken: map[string]bool{}}
}

// words splits a command line the way sh would for the words onboard
// writes: bare words and single-quoted ones (with '\” inside).
func words(s string) []string {
	var out []string
	var cur strings.Builder
	in, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\'':
			in = false
		case in:
			cur.WriteByte(c)
		case c == '\'':
			in, have = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			have = true
		case c == ' ':
			if have {
				out = append(out, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func (h *aptHost) Run(_ context.Context, c remote.Cmd) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, c.Command)
	cmd := c.Command
	switch {
	case strings.HasPrefix(cmd, "LC_ALL=C exec dpkg-query -W -f='${Package}|"):
		names := make([]string, 0, len(h.installed))
		for n := range h.installed {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(c.Stdout, "%s|ii |%s\n", n, h.installed[n])
		}
		return 0, nil
	case strings.HasPrefix(cmd, "LC_ALL=C apt-cache madison "):
		args, _, _ := strings.Cut(strings.TrimPrefix(cmd, "LC_ALL=C apt-cache madison "), ";")
		for _, n := range words(args) {
			if v, ok := h.index[n]; ok {
				fmt.Fprintf(c.Stdout, "%10s | %s | http://repo ./ Packages\n", n, v)
			}
		}
		if h.stale {
			fmt.Fprintln(c.Stdout, "onboard: sources changed")
		}
		return 0, nil
	case strings.HasPrefix(cmd, "DEBIAN_FRONTEND=noninteractive apt-get update"):
		h.index = map[string]string{}
		for n, v := range h.repo {
			h.index[n] = v
		}
		h.stale, h.rebuilt = false, false
		return 0, nil
	case strings.HasPrefix(cmd, "DEBIAN_FRONTEND=noninteractive apt-get install"):
		if h.drops > 0 {
			h.drops--
			return -1, fmt.Errorf("ws1: %w", remote.ErrConnectionLost)
		}
		targets := installTargets(cmd)
		if h.rebuilt {
			fmt.Fprintf(c.Stderr, "E: Failed to fetch http://repo/./%s.deb  404  Not Found\n", targets[0])
			return 100, nil
		}
		for _, t := range targets {
			n, v, _ := strings.Cut(t, "=")
			if have, ok := h.index[n]; !ok || (v != "" && v != have) {
				fmt.Fprintf(c.Stderr, "E: Unable to locate package %s\n", n)
				return 100, nil
			}
		}
		for _, t := range targets {
			n, _, _ := strings.Cut(t, "=")
			if h.broken[n] {
				fmt.Fprintf(c.Stderr, "dpkg: error processing package %s (--configure):\n installed %s package post-installation script subprocess returned error exit status 1\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n", n, n)
				return 100, nil
			}
		}
		for _, t := range targets {
			n, _, _ := strings.Cut(t, "=")
			h.installed[n] = h.index[n]
		}
		return 0, nil
	}
	fmt.Fprintf(c.Stderr, "sh: unknown command in the fake host: %s\n", cmd)
	return 127, nil
}

func (h *aptHost) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error { return nil }
func (h *aptHost) Close() error                                                       { return nil }

// installTargets returns the package words of an apt-get install line.
func installTargets(cmd string) []string {
	w := words(cmd)
	var out []string
	for i := slices.Index(w, "install") + 1; i < len(w); i++ {
		switch {
		case w[i] == "-o":
			i++
		case strings.HasPrefix(w[i], "-"):
		default:
			out = append(out, w[i])
		}
	}
	return out
}

// count returns how many recorded commands start with prefix.
func (h *aptHost) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.cmds {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// installs returns the targets of each apt-get install, sorted within one.
func (h *aptHost) installs() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]string
	for _, c := range h.cmds {
		if strings.HasPrefix(c, "DEBIAN_FRONTEND=noninteractive apt-get install") {
			t := installTargets(c)
			sort.Strings(t)
			out = append(out, t)
		}
	}
	return out
}

type aptDialer map[string]*aptHost

func (d aptDialer) Dial(_ context.Context, h *plan.Host) (remote.Communicator, error) {
	return d[h.Name], nil
}

const (
	installCmd = "DEBIAN_FRONTEND=noninteractive apt-get install"
	updateCmd  = "DEBIAN_FRONTEND=noninteractive apt-get update"
	dpkgCmd    = "LC_ALL=C exec dpkg-query"
	madisonCmd = "LC_ALL=C apt-cache madison"
)

var labRepo = map[string]string{"acme-chat": "3.1.0-1", "acme-ide": "1.9.3", "acme-office": "1:24.2.0-1", "acme-crm": "5.2.0", "acme-vpn": "2.0~rc1"}

// pkgPlan makes one package step per name on host ws1, in order.
func pkgPlan(pkgs ...[2]string) *plan.Plan {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"ws1": {Name: "ws1"}}, Hires: []plan.Hire{{ID: "H", Host: "ws1"}}}
	for _, pv := range pkgs {
		p.Steps = append(p.Steps, &plan.Step{ID: "pkg:" + pv[0], Kind: plan.KindPackage, Hire: "H", Host: "ws1", Timeout: plan.Duration(time.Minute),
			Package: &plan.PackageSpec{Name: pv[0], Manager: "apt", Package: pv[0], Version: pv[1]}})
	}
	return p
}

func runApt(h *aptHost, p *plan.Plan, mode Mode, extra map[string]step.Kind) *result.Run {
	kinds := map[string]step.Kind{plan.KindPackage: step.Package{}}
	for k, v := range extra {
		kinds[k] = v
	}
	e := &Engine{Dialer: aptDialer{"ws1": h}, Parallel: 4, Retries: 1, RetryDelay: time.Millisecond, Kinds: kinds}
	return e.Run(context.Background(), p, mode)
}

// One package wants any version; one has a version that needs quoting.
var fourPkgs = [][2]string{{"acme-chat", "3.1.0"}, {"acme-ide", "1.9.3"}, {"acme-office", ""}, {"acme-vpn", "2.0~rc1"}}

func TestPackagesInstallInOneTransaction(t *testing.T) {
	for i := 0; i < 5; i++ { // which step leads the batch varies from run to run
		h := newAptHost(labRepo)
		r := runApt(h, pkgPlan(fourPkgs...), Apply, nil)
		for _, s := range r.Steps {
			if s.Outcome != result.Changed || !strings.HasPrefix(s.Changed, "installed "+strings.TrimPrefix(s.ID, "pkg:")+" ") {
				t.Fatalf("%s: %s %q %+v", s.ID, s.Outcome, s.Changed, s.Failure)
			}
		}
		want := []string{"acme-chat=3.1.0-1", "acme-ide=1.9.3", "acme-office", "acme-vpn=2.0~rc1"}
		if got := h.installs(); len(got) != 1 || !slices.Equal(got[0], want) {
			t.Fatalf("installs = %q, want one with %q", got, want)
		}
		// Every name reached the shell quoted by internal/shell.
		h.mu.Lock()
		for _, c := range h.cmds {
			if strings.HasPrefix(c, installCmd) && (!strings.HasSuffix(c, " "+shell.Join(installTargets(c)...)) || !strings.Contains(c, " 'acme-vpn=2.0~rc1'")) {
				t.Errorf("install line does not end with its quoted targets: %s", c)
			}
		}
		h.mu.Unlock()
		if n := h.count(updateCmd); n != 1 {
			t.Errorf("apt-get update ran %d times, want 1", n)
		}
		// One read of dpkg for the four checks, one after the install
		// (the four verifies), one for the handover.
		if n := h.count(dpkgCmd); n != 3 {
			t.Errorf("dpkg-query ran %d times, want 3", n)
		}
		for _, s := range r.Handover {
			if s.Outcome != result.OK {
				t.Errorf("handover %s: %s %s", s.ID, s.Outcome, s.Reason)
			}
		}
	}
}

func TestPackagesIndexRefreshedOnlyWhenNeeded(t *testing.T) {
	tests := []struct {
		name       string
		index      map[string]string
		stale      bool
		rebuilt    bool // the index's files are gone from the repository
		wantUpdate int
		// installs: a transaction that failed on a trusted index is tried
		// again once after a refresh.
		wantInstalls int
	}{
		{"index knows every wanted version", labRepo, false, false, 0, 1},
		{"sources newer than the index", labRepo, true, false, 1, 1},
		{"index lacks a package", map[string]string{"acme-chat": "3.1.0-1"}, false, false, 1, 1},
		{"index trusted, repository rebuilt since", labRepo, false, true, 1, 2},
		{"index has an older version", map[string]string{"acme-chat": "3.0.0", "acme-ide": "1.9.3", "acme-office": "1:24.2.0-1", "acme-vpn": "1"}, false, false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newAptHost(labRepo)
			for n, v := range tt.index {
				h.index[n] = v
			}
			h.stale, h.rebuilt = tt.stale, tt.rebuilt
			r := runApt(h, pkgPlan(fourPkgs...), Apply, nil)
			if c := result.Counts(r.Steps); c[result.Changed] != 4 {
				t.Fatalf("counts %v", c)
			}
			if n := h.count(updateCmd); n != tt.wantUpdate {
				t.Errorf("apt-get update ran %d times, want %d", n, tt.wantUpdate)
			}
			if n := h.count(installCmd); n != tt.wantInstalls {
				t.Errorf("apt-get install ran %d times, want %d", n, tt.wantInstalls)
			}
		})
	}
}

func TestPackagesInPlaceCostOneRead(t *testing.T) {
	h := newAptHost(labRepo)
	h.installed = map[string]string{"acme-chat": "3.1.0-1", "acme-ide": "1.9.3", "acme-office": "1:24.2.0-1", "acme-vpn": "2.0~rc1"}
	r := runApt(h, pkgPlan(fourPkgs...), Apply, nil)
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("%s: %s", s.ID, s.Outcome)
		}
	}
	// One read for the four checks, one for the four handover re-checks;
	// nothing touches the index or apt.
	if n, all := h.count(dpkgCmd), len(h.cmds); n != 2 || all != 2 {
		t.Errorf("dpkg-query %d of %d commands, want 2 of 2: %q", n, all, h.cmds)
	}
}

func TestPackageBatchFailures(t *testing.T) {
	tests := []struct {
		name     string
		pkgs     [][2]string
		broken   string
		failed   string // the step that fails
		message  string // in its failure's message
		output   string // in its failure's output
		installs [][]string
	}{
		{
			name:     "a package the sources do not have fails before the transaction",
			pkgs:     append([][2]string{{"acme-ghost", "1.0"}}, fourPkgs[:3]...),
			failed:   "pkg:acme-ghost",
			message:  "package acme-ghost is not in the host's package sources on ws1",
			installs: [][]string{{"acme-chat=3.1.0-1", "acme-ide=1.9.3", "acme-office"}},
		},
		{
			name:     "a version the sources do not have",
			pkgs:     append([][2]string{{"acme-crm", "9.9"}}, fourPkgs[:3]...),
			failed:   "pkg:acme-crm",
			message:  "version 9.9 of acme-crm is not in the host's package sources (available: 5.2.0)",
			installs: [][]string{{"acme-chat=3.1.0-1", "acme-ide=1.9.3", "acme-office"}},
		},
		{
			name:    "a package that breaks the transaction is found by installing each alone",
			pkgs:    fourPkgs,
			broken:  "acme-ide",
			failed:  "pkg:acme-ide",
			message: "install acme-ide=1.9.3 on ws1: exit code 100",
			output:  "error processing package acme-ide",
			installs: [][]string{{"acme-chat=3.1.0-1", "acme-ide=1.9.3", "acme-office", "acme-vpn=2.0~rc1"},
				{"acme-chat=3.1.0-1"}, {"acme-ide=1.9.3"}, {"acme-office"}, {"acme-vpn=2.0~rc1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newAptHost(labRepo)
			if tt.broken != "" {
				h.broken[tt.broken] = true
			}
			r := runApt(h, pkgPlan(tt.pkgs...), Apply, nil)
			for _, s := range r.Steps {
				if s.ID != tt.failed {
					if s.Outcome != result.Changed {
						t.Errorf("%s: %s %+v, want changed", s.ID, s.Outcome, s.Failure)
					}
					continue
				}
				f := s.Failure
				if s.Outcome != result.Failed || f == nil || f.Phase != "apply" || f.Host != "ws1" ||
					!strings.Contains(f.Message, tt.message) || !strings.Contains(f.Output, tt.output) {
					t.Errorf("%s: %s %+v", s.ID, s.Outcome, f)
				}
			}
			got := h.installs()
			sort.Slice(got[1:], func(i, j int) bool { return got[1+i][0] < got[1+j][0] })
			if fmt.Sprint(got) != fmt.Sprint(tt.installs) {
				t.Errorf("installs = %q, want %q", got, tt.installs)
			}
			if n := h.count(updateCmd); n != 1 {
				t.Errorf("apt-get update ran %d times, want 1", n)
			}
		})
	}
}

func TestPackageBatchRespectsDependencies(t *testing.T) {
	k := newKind()
	k.failing["broken"] = true
	p := pkgPlan(fourPkgs...)
	// acme-ide waits for a step that fails; acme-office for one that works.
	p.Steps = append(p.Steps,
		&plan.Step{ID: "broken", Kind: "test", Hire: "H", Host: "ws1", Timeout: plan.Duration(time.Second)},
		&plan.Step{ID: "first", Kind: "test", Hire: "H", Host: "ws1", Timeout: plan.Duration(time.Second)})
	p.Steps[1].DependsOn = []string{"broken"}
	p.Steps[2].DependsOn = []string{"first"}
	for i := 0; i < 10; i++ {
		h := newAptHost(labRepo)
		k.applied = map[string]bool{}
		r := runApt(h, p, Apply, map[string]step.Kind{"test": k})
		o := byID(r)
		if o["pkg:acme-ide"].Outcome != result.Skipped || o["pkg:acme-office"].Outcome != result.Changed ||
			o["pkg:acme-chat"].Outcome != result.Changed || o["pkg:acme-vpn"].Outcome != result.Changed {
			t.Fatalf("outcomes: %v", outcomes(r))
		}
		for _, in := range h.installs() {
			if slices.Contains(in, "acme-ide=1.9.3") {
				t.Fatalf("a package whose dependency failed was installed: %q", in)
			}
		}
		// acme-office joins a batch only once "first" is done; the apply
		// of "first" (by the test kind) always precedes its install.
		if o["pkg:acme-office"].Started.Before(o["first"].Started) {
			t.Errorf("acme-office started before the step it depends on")
		}
	}
}

func outcomes(r *result.Run) map[string]result.Outcome {
	m := map[string]result.Outcome{}
	for _, s := range r.Steps {
		m[s.ID] = s.Outcome
	}
	return m
}

func TestPackageDryRunInstallsNothing(t *testing.T) {
	h := newAptHost(labRepo)
	r := runApt(h, pkgPlan(fourPkgs...), DryRun, nil)
	for _, s := range r.Steps {
		if s.Outcome != result.WouldChange {
			t.Errorf("%s: %s", s.ID, s.Outcome)
		}
	}
	if n, all := h.count(dpkgCmd), len(h.cmds); n != 1 || all != 1 {
		t.Errorf("a dry run ran %q, want one dpkg-query", h.cmds)
	}
}

func TestPackageBatchRetriedAfterATransientFault(t *testing.T) {
	h := newAptHost(labRepo)
	h.drops = 1
	r := runApt(h, pkgPlan(fourPkgs...), Apply, nil)
	attempts := 0
	for _, s := range r.Steps {
		if s.Outcome != result.Changed {
			t.Errorf("%s: %s %+v", s.ID, s.Outcome, s.Failure)
		}
		attempts += s.Attempts
	}
	// The lost transaction is tried again, still as one.
	want := []string{"acme-chat=3.1.0-1", "acme-ide=1.9.3", "acme-office", "acme-vpn=2.0~rc1"}
	if got := h.installs(); len(got) != 2 || !slices.Equal(got[0], want) || !slices.Equal(got[1], want) {
		t.Errorf("installs = %q, want the same four twice", got)
	}
	if attempts != 5 {
		t.Errorf("%d attempts in all, want 5 (the step that led the batch tried twice)", attempts)
	}
	if n := h.count(updateCmd); n != 1 {
		t.Errorf("apt-get update ran %d times, want 1", n)
	}
}
