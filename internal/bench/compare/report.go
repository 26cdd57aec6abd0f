// Package compare runs onboard side by side with Ansible and a bare SSH
// loop against the same lab workstations and reports the figures issue 10
// sets targets for: wall time, controller CPU and memory, and the CPU the
// hosts spent. `onboard-lab bench` (and `make bench-compare`) runs it.
package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Tools measured. Each Row holds a Cell per tool that ran on it.
const (
	OnboardText   = "onboard-text"   // onboard, default text output
	OnboardJSON   = "onboard-json"   // onboard -o json
	Ansible       = "ansible"        // ansible-playbook, forks=N, pipelining, ControlPersist
	BareSession   = "bare-session"   // x/crypto/ssh, a session per command
	BareBatched   = "bare-batched"   // x/crypto/ssh, the host's commands in one `sh -s`
	PhysicalLimit = "physical-limit" // provisioning's minimum commands, one apt transaction per host
	BareChecks    = "bare-checks"    // a re-run's check commands, a session per command
)

// Workloads.
const (
	Trivial   = "trivial"         // 10 trivial checks per host
	Provision = "provision"       // 4 packages, a printer, a file, a guarded command, 2 checks; first run
	Rerun     = "provision-rerun" // the same, everything in place
)

// Sample is one measured run of one tool.
type Sample struct {
	Wall time.Duration `json:"wall_ns"`
	// ControllerCPU is user+sys of the tool's process and the children it
	// waited for (for the in-process bare loops: this process's delta).
	ControllerCPU time.Duration `json:"controller_cpu_ns"`
	// PeakRSSKB is the largest resident set of the tool's process or any
	// child it waited for (not their sum); 0 when not measured.
	PeakRSSKB int64 `json:"peak_rss_kb"`
	// PeakGroupPSSKB is the largest sum, sampled every 100 ms, of the
	// proportional set sizes of every process of the tool's process group
	// (Ansible's forked workers together); 0 when not measured.
	PeakGroupPSSKB int64 `json:"peak_group_pss_kb,omitempty"`
	// HostCPU is the CPU time the workstations' processes (sshd, shells,
	// apt, python) spent during the run.
	HostCPU time.Duration `json:"host_cpu_ns"`
	// HostProcs is how many processes the run started on the hosts (sshd
	// session processes, shells, commands), from each host's last PID.
	HostProcs int `json:"host_procs"`
	// Steps is how many steps (or commands) the run did, for steps/second.
	Steps int `json:"steps,omitempty"`
}

// Cell is every run of one tool on one row, and their medians.
type Cell struct {
	Tool    string   `json:"tool"`
	Samples []Sample `json:"samples"`
	Median  Sample   `json:"median"`
}

// Row is one workload at one size.
type Row struct {
	Workload string  `json:"workload"`
	N        int     `json:"n"`
	Cells    []*Cell `json:"cells"`
}

// Report is one invocation's results, written as JSON for comparing with
// earlier runs.
type Report struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	Runs    int       `json:"runs"`
	Rows    []*Row    `json:"rows"`
	Scale   []Scale   `json:"scale,omitempty"`
}

// Machine says where the figures come from.
type Machine struct {
	CPUs     int    `json:"cpus"`
	MemoryMB int64  `json:"memory_mb"`
	Kernel   string `json:"kernel"`
	Commit   string `json:"commit,omitempty"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute figure at the
	// start and end: on a shared machine, a high load makes the run noisy.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}

// Scale is one onboard run at a large N (see Config.Scale).
type Scale struct {
	N              int           `json:"n"`
	Tool           string        `json:"tool"`
	Wall           time.Duration `json:"wall_ns"`
	Steps          int           `json:"steps"`
	StepsPerSecond float64       `json:"steps_per_second"`
	PeakRSSKB      int64         `json:"peak_rss_kb"`
	PeakGroupPSSKB int64         `json:"peak_group_pss_kb,omitempty"`
	ControllerCPU  time.Duration `json:"controller_cpu_ns"`
	HostCPU        time.Duration `json:"host_cpu_ns"`
}

// Row returns the row of workload at n, adding it when missing.
func (r *Report) Row(workload string, n int) *Row {
	for _, row := range r.Rows {
		if row.Workload == workload && row.N == n {
			return row
		}
	}
	row := &Row{Workload: workload, N: n}
	r.Rows = append(r.Rows, row)
	return row
}

// Add records a sample of tool and refreshes the cell's median.
func (row *Row) Add(tool string, s Sample) {
	c := row.Cell(tool)
	if c == nil {
		c = &Cell{Tool: tool}
		row.Cells = append(row.Cells, c)
	}
	c.Samples = append(c.Samples, s)
	c.Median = MedianSample(c.Samples)
}

// Cell returns the cell of tool, or nil.
func (row *Row) Cell(tool string) *Cell {
	for _, c := range row.Cells {
		if c.Tool == tool {
			return c
		}
	}
	return nil
}

// wall is the median wall time of tool on the row, 0 when it did not run.
func (row *Row) wall(tool string) time.Duration {
	if c := row.Cell(tool); c != nil {
		return c.Median.Wall
	}
	return 0
}

// Median is the median of ds (the mean of the middle two for an even
// count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// MedianSample takes the median of each figure on its own.
func MedianSample(ss []Sample) Sample {
	pick := func(f func(Sample) time.Duration) time.Duration {
		ds := make([]time.Duration, len(ss))
		for i, s := range ss {
			ds[i] = f(s)
		}
		return Median(ds)
	}
	var out Sample
	out.Wall = pick(func(s Sample) time.Duration { return s.Wall })
	out.ControllerCPU = pick(func(s Sample) time.Duration { return s.ControllerCPU })
	out.HostCPU = pick(func(s Sample) time.Duration { return s.HostCPU })
	out.PeakRSSKB = int64(pick(func(s Sample) time.Duration { return time.Duration(s.PeakRSSKB) }))
	out.Steps = int(pick(func(s Sample) time.Duration { return time.Duration(s.Steps) }))
	out.PeakGroupPSSKB = int64(pick(func(s Sample) time.Duration { return time.Duration(s.PeakGroupPSSKB) }))
	out.HostProcs = int(pick(func(s Sample) time.Duration { return time.Duration(s.HostProcs) }))
	return out
}

// Ratios are the quotients issue 10 sets targets for, from one row's
// medians; 0 where a side did not run.
type Ratios struct {
	// AnsibleOverOnboard: Ansible's wall time over onboard's slower output
	// format (target ≥ 40 on the trivial workload).
	AnsibleOverOnboard float64 `json:"ansible_over_onboard"`
	// OnboardOverFloor: onboard (slower format) over the row's floor: the
	// bare session-per-command loop (trivial, target ≤ 1.5), the physical
	// limit (provisioning, ≤ 1.2), the bare check loop (re-run, ≤ 1.5).
	OnboardOverFloor float64 `json:"onboard_over_floor"`
	// TextOverJSON: text output's wall time over JSON's (target ≤ 1.05).
	TextOverJSON float64 `json:"text_over_json"`
}

// Targets are issue 10's bounds for Ratios, per workload.
var Targets = map[string]Ratios{
	Trivial:   {AnsibleOverOnboard: 40, OnboardOverFloor: 1.5, TextOverJSON: 1.05},
	Provision: {OnboardOverFloor: 1.2},
	Rerun:     {OnboardOverFloor: 1.5},
}

// Ratios computes the row's ratios.
func (row *Row) Ratios() Ratios {
	onboard := max(row.wall(OnboardText), row.wall(OnboardJSON))
	div := func(a, b time.Duration) float64 {
		if a == 0 || b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	floor := row.wall(BareSession)
	switch row.Workload {
	case Provision:
		floor = row.wall(PhysicalLimit)
	case Rerun:
		floor = row.wall(BareChecks)
	}
	return Ratios{
		AnsibleOverOnboard: div(row.wall(Ansible), onboard),
		OnboardOverFloor:   div(onboard, floor),
		TextOverJSON:       div(row.wall(OnboardText), row.wall(OnboardJSON)),
	}
}

// workloadTitle names a workload in the table.
func workloadTitle(w string) string {
	switch w {
	case Trivial:
		return "10 trivial checks per host"
	case Provision:
		return "provisioning, first run"
	case Rerun:
		return "provisioning, re-run in place"
	}
	return w
}

// secs formats a duration as seconds with two decimals, "–" for none.
func secs(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// ratio formats a ratio against its target, marking a miss.
func ratio(v, target float64, atLeast bool) string {
	if v == 0 {
		return "–"
	}
	s := fmt.Sprintf("%.2f", v)
	if target == 0 {
		return s
	}
	if (atLeast && v < target) || (!atLeast && v > target) {
		return s + " ✗"
	}
	return s + " ✓"
}

// WriteMarkdown prints the wall-time table with the ratios, then a table of
// controller CPU, peak RSS and hosts' CPU per tool.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Medians of %d run(s) each, tools alternating; %d CPUs, %d MB, kernel %s, %s",
		r.Runs, r.Machine.CPUs, r.Machine.MemoryMB, r.Machine.Kernel, r.Date.UTC().Format("2006-01-02 15:04 UTC"))
	if r.Machine.Commit != "" {
		fmt.Fprintf(&b, ", commit %s", r.Machine.Commit)
	}
	if r.Machine.LoadBefore != "" {
		fmt.Fprintf(&b, ", load average %s before, %s after", r.Machine.LoadBefore, r.Machine.LoadAfter)
	}
	b.WriteString(".\n\n")
	if len(r.Rows) > 0 {
		r.writeRows(&b)
	}
	if len(r.Scale) > 0 {
		b.WriteString("| scale: tool | N | wall | steps | steps/s | peak controller RSS | peak PSS, all processes | controller CPU | hosts' CPU |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Scale {
			fmt.Fprintf(&b, "| %s | %d | %s | %d | %.0f | %.0f MB | %.0f MB | %s | %s |\n", s.Tool, s.N, secs(s.Wall), s.Steps,
				s.StepsPerSecond, float64(s.PeakRSSKB)/1024, float64(s.PeakGroupPSSKB)/1024, secs(s.ControllerCPU), secs(s.HostCPU))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRows writes the wall-time table with the ratios and the table of
// every figure per tool, each followed by a blank line.
func (r *Report) writeRows(b *strings.Builder) {
	b.WriteString("| workload | N | onboard (text) | onboard (`-o json`) | Ansible | bare, session per command | bare batched / physical limit | Ansible/onboard (≥ 40) | onboard/floor | text/json (≤ 1.05) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		t := Targets[row.Workload]
		ra := row.Ratios()
		floorCell := secs(row.wall(BareBatched))
		sessCell := secs(row.wall(BareSession))
		floorNote := fmt.Sprintf("%s (≤ %.1f)", ratio(ra.OnboardOverFloor, t.OnboardOverFloor, false), t.OnboardOverFloor)
		switch row.Workload {
		case Provision:
			floorCell = "limit " + secs(row.wall(PhysicalLimit))
		case Rerun:
			sessCell = "checks " + secs(row.wall(BareChecks))
		}
		if ra.OnboardOverFloor == 0 {
			floorNote = "–"
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			workloadTitle(row.Workload), row.N, secs(row.wall(OnboardText)), secs(row.wall(OnboardJSON)),
			secs(row.wall(Ansible)), sessCell, floorCell,
			ratio(ra.AnsibleOverOnboard, t.AnsibleOverOnboard, true), floorNote,
			ratio(ra.TextOverJSON, t.TextOverJSON, false))
	}
	b.WriteString("\n| workload | N | tool | wall | controller CPU | peak controller RSS | peak controller memory, all processes (PSS) | hosts' CPU | processes per host |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		for _, c := range row.Cells {
			rss := "–"
			if c.Median.PeakRSSKB > 0 {
				rss = fmt.Sprintf("%.0f MB", float64(c.Median.PeakRSSKB)/1024)
			}
			pss := "–"
			if c.Median.PeakGroupPSSKB > 0 {
				pss = fmt.Sprintf("%.0f MB", float64(c.Median.PeakGroupPSSKB)/1024)
			}
			procs := "–"
			if c.Median.HostProcs > 0 {
				procs = fmt.Sprintf("%.1f", float64(c.Median.HostProcs)/float64(row.N))
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", workloadTitle(row.Workload), row.N, c.Tool,
				secs(c.Median.Wall), secs(c.Median.ControllerCPU), rss, pss, secs(c.Median.HostCPU), procs)
		}
	}
	b.WriteString("\n")
}

// MarshalIndent is the report as indented JSON.
func (r *Report) MarshalIndent() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// ReadReport decodes a report written by MarshalIndent.
func ReadReport(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read benchmark report: %w", err)
	}
	return &r, nil
}
