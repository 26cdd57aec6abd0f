package step

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"onboard/internal/plan"
	"onboard/internal/remote"
)

// batchHost answers every command with its own text and exit code 0, and
// counts what ran in batches and on its own.
type batchHost struct {
	batches, runs int
	onBatch       func()
}

func (h *batchHost) Run(_ context.Context, c remote.Cmd) (int, error) {
	h.runs++
	_, _ = io.WriteString(c.Stdout, "live:"+c.Command)
	return 0, nil
}

func (h *batchHost) RunBatch(_ context.Context, cmds []remote.Cmd) ([]int, error) {
	h.batches++
	if h.onBatch != nil {
		h.onBatch()
	}
	codes := make([]int, len(cmds))
	for _, c := range cmds {
		_, _ = fmt.Fprintf(c.Stdout, "batch:%s:%t", c.Command, c.Privileged)
	}
	return codes, nil
}

func (h *batchHost) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error { return nil }
func (h *batchHost) Close() error                                                       { return nil }

func TestPrefetch(t *testing.T) {
	ctx := context.Background()
	h := &batchHost{}
	tg := &Target{Host: &plan.Host{Name: "ws1"}, Comm: h}
	probes := []Probe{{"a", false}, {"a", false}, {"b", true}}
	if _, err := tg.Prefetch(ctx, probes); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Prefetch(ctx, probes); err != nil || h.batches != 1 {
		t.Fatalf("second prefetch before a change: %d batches, %v", h.batches, err)
	}
	x := &Exec{T: tg, Probed: true}
	run := func(cmd string, priv bool) string {
		out, err := x.Run(ctx, cmd, priv, "")
		if err != nil {
			t.Fatal(err)
		}
		return out.Stdout
	}
	// "a" was asked twice: served twice, then read live.
	for i, want := range []string{"batch:a:false", "batch:a:false", "live:a"} {
		if got := run("a", false); got != want {
			t.Errorf("read %d of a: %q, want %q", i+1, got, want)
		}
	}
	// Privilege is part of the read.
	if got := run("b", false); got != "live:b" {
		t.Errorf("b unprivileged: %q", got)
	}
	x.Probed = false // an apply's read sees the host as it is
	if got := run("b", true); got != "live:b" {
		t.Errorf("b outside a check: %q", got)
	}
	x.Probed = true
	if got := run("b", true); got != "batch:b:true" {
		t.Errorf("b privileged in a check: %q", got)
	}
	// A change drops what was read, and allows a new batch.
	if _, err := tg.Prefetch(ctx, []Probe{{"c", false}, {"d", false}}); err != nil || h.batches != 1 {
		t.Fatalf("prefetch again before a change: %d batches, %v", h.batches, err)
	}
	tg.Invalidate()
	if _, err := tg.Prefetch(ctx, []Probe{{"c", false}, {"d", false}}); err != nil || h.batches != 2 {
		t.Fatalf("prefetch after a change: %d batches, %v", h.batches, err)
	}
	if got := run("c", false); got != "batch:c:false" {
		t.Errorf("c after the new batch: %q", got)
	}
	// A batch that ran across a change keeps nothing.
	h.onBatch = tg.Invalidate
	tg.Invalidate()
	if _, err := tg.Prefetch(ctx, []Probe{{"e", false}, {"f", false}}); err != nil {
		t.Fatal(err)
	}
	if got := run("e", false); got != "live:e" {
		t.Errorf("e read across a change: %q, want a live read", got)
	}
}

// TestProbesMatchChecks: each kind's probes are the very commands its
// check runs, so that a prefetched host answers every check's reads.
func TestProbesMatchChecks(t *testing.T) {
	steps := []*plan.Step{
		{Kind: plan.KindCheck, Check: &plan.CheckSpec{Name: "c", Command: &plan.CommandCheck{Run: "test -e /x"}}},
		{Kind: plan.KindCheck, Check: &plan.CheckSpec{Name: "f", File: &plan.FileCheck{Path: "/etc/motd", Exists: true, Contains: []string{"hi"}}}},
		{Kind: plan.KindCommand, Command: &plan.CommandSpec{Run: "mkdir /y", Creates: "/y", Unless: "test -d /y"}},
		{Kind: plan.KindFile, File: &plan.FileSpec{Path: "/etc/motd", Content: "x"}},
		{Kind: plan.KindPackage, Package: &plan.PackageSpec{Name: "vim", Package: "vim"}},
		{Kind: plan.KindPrinter, Printer: &plan.PrinterSpec{Name: "P"}},
		{Kind: plan.KindPackageRemove, Package: &plan.PackageSpec{Name: "vim", Package: "vim"}},
		{Kind: plan.KindPackageRemove, Package: &plan.PackageSpec{Name: "agent", Manager: "command", IsInstalled: "test -x /a", Uninstall: "rm /a"}},
		{Kind: plan.KindPrinterRemove, Printer: &plan.PrinterSpec{Name: "P"}},
	}
	for _, s := range steps {
		t.Run(s.Kind, func(t *testing.T) {
			h := &recordingHost{}
			tg := &Target{Host: &plan.Host{Name: "ws1"}, Comm: h}
			_, _ = Kinds[s.Kind].Check(context.Background(), &Exec{T: tg}, s)
			probes := Kinds[s.Kind].(Prober).Probes(s)
			want := map[string]bool{}
			for _, p := range probes {
				want[probeKey(p.Command, p.Privileged)] = true
			}
			for _, c := range h.cmds {
				if !want[probeKey(c.Command, c.Privileged)] {
					t.Errorf("the check ran %q (privileged %v), which no probe reads; probes %v", c.Command, c.Privileged, probes)
				}
			}
			if len(h.cmds) == 0 {
				t.Error("the check ran nothing")
			}
		})
	}
}

// recordingHost records commands; every read finds the thing in place.
type recordingHost struct{ cmds []remote.Cmd }

func (h *recordingHost) Run(_ context.Context, c remote.Cmd) (int, error) {
	h.cmds = append(h.cmds, c)
	return 0, nil
}
func (h *recordingHost) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error {
	return nil
}
func (h *recordingHost) Close() error { return nil }
