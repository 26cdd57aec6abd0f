package step

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/shell"
)

// Probe is a read that a kind's Check makes, known before the check runs.
type Probe struct {
	Command    string
	Privileged bool
}

// Prober is implemented by kinds that can say in advance which reads their
// Check makes. The engine runs the probes of a host's steps together, in
// one round trip (remote.BatchRunner), and each Check then takes its read's
// result instead of running it: the same commands, run once each, sooner.
// A probe whose result no check takes is dropped at the next Invalidate.
type Prober interface {
	Probes(s *plan.Step) []Probe
}

func probeKey(cmd string, privileged bool) string {
	return fmt.Sprintf("%t\x00%s", privileged, cmd)
}

// probed is one probe's result and how many steps asked for it.
type probed struct {
	out  Out
	left int
}

// Prefetch runs probes on the host in one batch and keeps each result for
// the checks that ask for it (Exec.Run with Exec.Probed set), until the next
// Invalidate. It does nothing when the transport cannot batch, or when the
// host was already prefetched since the last Invalidate; it returns the
// time it spent. On error nothing is kept: each check reads for itself.
func (t *Target) Prefetch(ctx context.Context, probes []Probe) (time.Duration, error) {
	b, ok := remote.AsBatchRunner(t.Comm)
	if !ok || len(probes) == 0 {
		return 0, nil
	}
	t.probeMu.Lock()
	if t.prefetched {
		t.probeMu.Unlock()
		return 0, nil
	}
	t.prefetched = true
	epoch := t.epoch
	t.probeMu.Unlock()

	// One run of each distinct read, served as many times as it was asked.
	var cmds []remote.Cmd
	var keys []string
	asked := map[string]int{}
	for _, p := range probes {
		k := probeKey(p.Command, p.Privileged)
		if asked[k]++; asked[k] == 1 {
			keys = append(keys, k)
			cmds = append(cmds, remote.Cmd{Command: p.Command, Privileged: p.Privileged, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
		}
	}
	start := time.Now()
	codes, err := b.RunBatch(ctx, cmds)
	spent := time.Since(start)
	if err != nil {
		return spent, fmt.Errorf("%s: %d reads in one batch: %w", t.Host.Name, len(cmds), err)
	}
	t.probeMu.Lock()
	defer t.probeMu.Unlock()
	if t.epoch != epoch {
		return spent, nil // the host changed meanwhile: the reads are stale
	}
	if t.probes == nil {
		t.probes = map[string]*probed{}
	}
	for i, c := range cmds {
		t.probes[keys[i]] = &probed{
			out:  Out{Command: c.Command, Stdout: c.Stdout.(*bytes.Buffer).String(), Stderr: c.Stderr.(*bytes.Buffer).String(), ExitCode: codes[i]},
			left: asked[keys[i]],
		}
	}
	return spent, nil
}

// takeProbe returns a prefetched result of cmd, once per step that asked.
func (t *Target) takeProbe(cmd string, privileged bool) (Out, bool) {
	t.probeMu.Lock()
	defer t.probeMu.Unlock()
	k := probeKey(cmd, privileged)
	p := t.probes[k]
	if p == nil {
		return Out{}, false
	}
	if p.left--; p.left <= 0 {
		delete(t.probes, k)
	}
	return p.out, true
}

// Probes of the kinds whose checks read through commands known in advance.

func (Check) Probes(s *plan.Step) []Probe {
	c := s.Check
	switch {
	case c.Command != nil:
		return []Probe{{shCode(c.Command.Values, c.Command.Run), c.Command.Privileged}}
	case c.File != nil:
		ps := []Probe{{statMetaCmd(c.File.Path), true}}
		if len(c.File.Contains) > 0 {
			ps = append(ps, Probe{headCmd(c.File.Path), true})
		}
		return ps
	case c.Package != nil:
		return packageProbes(&plan.PackageSpec{Package: c.Package.Name})
	case c.Printer != nil:
		return []Probe{{lpstatCmd(), false}}
	}
	return nil
}

func (Command) Probes(s *plan.Step) []Probe {
	c := s.Command
	var ps []Probe
	if c.Creates != "" {
		ps = append(ps, Probe{shell.Cmd("test -e", c.Creates), c.Privileged})
	}
	if c.Unless != "" {
		ps = append(ps, Probe{shCode(c.Values, c.Unless), c.Privileged})
	}
	return ps
}

func (File) Probes(s *plan.Step) []Probe { return []Probe{{statCmd(s.File.Path), true}} }

func (Package) Probes(s *plan.Step) []Probe { return packageProbes(s.Package) }

func (Printer) Probes(s *plan.Step) []Probe { return []Probe{{lpstatCmd(), false}} }

func packageProbes(p *plan.PackageSpec) []Probe {
	switch {
	case p.Manager == "command":
		ps := []Probe{{p.IsInstalled, true}}
		if p.VersionQuery != "" {
			ps = append(ps, Probe{p.VersionQuery, true})
		}
		return ps
	case strings.Contains(p.Package, ":"):
		return []Probe{{dpkgOneCmd(p.Package), false}}
	}
	return []Probe{{dpkgQueryAll, false}}
}
