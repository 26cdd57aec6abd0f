package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"onboard/internal/bench/compare"
	"onboard/internal/lab"
)

// bench runs the side-by-side benchmark of issue 10 in a lab of its own:
// onboard, Ansible and a bare SSH loop, alternating, on the same hosts.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("onboard-lab bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg                compare.Config
		labCfg             lab.Config
		trivial, provision string
		quick, keep        bool
		out                string
	)
	fs.StringVar(&labCfg.Name, "name", "bcmp", "name of the benchmark's own lab, [a-z0-9]{1,6}")
	fs.IntVar(&labCfg.Subnet, "subnet", 77, "third octet of the lab network 10.213.N.0/24")
	fs.StringVar(&cfg.Onboard, "onboard", "bin/onboard", "the onboard binary to measure (make build)")
	fs.StringVar(&cfg.Inventory, "inventory", "inventory", "the tree's inventory folder (software catalogue)")
	fs.StringVar(&trivial, "trivial", "20,50", "sizes N of the trivial workload (10 checks per host), comma-separated; empty for none")
	fs.StringVar(&provision, "provision", "20", "sizes N of the provisioning workload, comma-separated; empty for none")
	fs.IntVar(&cfg.Runs, "runs", 3, "runs of each tool, alternating; medians are reported")
	fs.IntVar(&cfg.Scale, "scale", 0, "also run onboard once on the trivial workload at this N (0: no)")
	fs.BoolVar(&cfg.NoAnsible, "no-ansible", false, "leave Ansible out")
	fs.BoolVar(&quick, "quick", false, "smoke test: N=5 for each workload, one run")
	fs.BoolVar(&keep, "keep", false, "leave the lab running afterwards")
	fs.StringVar(&out, "out", "", "JSON results file (default out/bench/compare-DATE.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if cfg.Trivial, err = sizes(trivial); err != nil {
		return err
	}
	if cfg.Provision, err = sizes(provision); err != nil {
		return err
	}
	if quick {
		cfg.Runs = 1
		if len(cfg.Trivial) > 0 {
			cfg.Trivial = []int{5}
		}
		if len(cfg.Provision) > 0 {
			cfg.Provision = []int{5}
		}
	}
	if _, err := os.Stat(cfg.Onboard); err != nil {
		return fmt.Errorf("bench: onboard binary: %w (make build)", err)
	}
	if cfg.Onboard, err = filepath.Abs(cfg.Onboard); err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join("out", "bench", "compare-"+time.Now().UTC().Format("2006-01-02T150405")+".json")
	}
	cfg.Log = stderr
	labCfg.Workstations = cfg.Workstations()
	start := time.Now()
	l, err := lab.Start(ctx, labCfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench: lab %s with %d workstations up in %s\n", l.Name(), len(l.Workstations), time.Since(start).Round(10*time.Millisecond))
	if !keep {
		defer func() {
			// The lab goes even when the run was interrupted.
			if serr := l.Stop(context.WithoutCancel(ctx)); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
	}
	rep, rerr := compare.Run(ctx, l, cfg)
	if rep != nil && len(rep.Rows)+len(rep.Scale) > 0 {
		if err := rep.WriteMarkdown(stdout); err != nil {
			return err
		}
		data, err := rep.MarshalIndent()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench: results in %s\n", out)
	}
	return rerr
}

// sizes parses "20,50".
func sizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: size %q: want a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
