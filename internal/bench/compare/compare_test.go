package compare

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"onboard/internal/inventory"
	"onboard/internal/planner"
	"onboard/internal/playbook"

	"onboard/internal/lab"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMedian(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3 * s}, 3 * s},
		{[]time.Duration{5 * s, 1 * s, 3 * s}, 3 * s},
		{[]time.Duration{4 * s, 1 * s, 2 * s, 3 * s}, 2500 * time.Millisecond},
		{[]time.Duration{9 * s, 9 * s, 1 * s}, 9 * s},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []time.Duration{3, 1, 2}
	Median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("Median reordered its argument: %v", in)
	}
}

func TestMedianSampleTakesEachFigureOnItsOwn(t *testing.T) {
	ss := []Sample{
		{Wall: 1 * time.Second, ControllerCPU: 9, PeakRSSKB: 30, HostCPU: 5, Steps: 10},
		{Wall: 3 * time.Second, ControllerCPU: 1, PeakRSSKB: 10, HostCPU: 6, Steps: 10},
		{Wall: 2 * time.Second, ControllerCPU: 5, PeakRSSKB: 20, HostCPU: 4, Steps: 10},
	}
	want := Sample{Wall: 2 * time.Second, ControllerCPU: 5, PeakRSSKB: 20, HostCPU: 5, Steps: 10}
	if got := MedianSample(ss); got != want {
		t.Errorf("MedianSample = %+v, want %+v", got, want)
	}
}

// sampleReport is a report with every workload and tool, figures fixed.
func sampleReport() *Report {
	r := &Report{Date: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), Runs: 3,
		Machine: Machine{CPUs: 2, MemoryMB: 24105, Kernel: "6.1.0", Commit: "abc1234", LoadBefore: "0.52", LoadAfter: "1.90"}}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	add := func(w string, n int, tool string, walls ...int) {
		for i, wall := range walls {
			r.Row(w, n).Add(tool, Sample{Wall: ms(wall), ControllerCPU: ms(wall / 4), PeakRSSKB: int64(30000 + i), HostCPU: ms(wall * 2), Steps: 10 * n, HostProcs: wall / 10 * n, PeakGroupPSSKB: int64(40000 + wall)})
		}
	}
	add(Trivial, 20, OnboardText, 1200, 1140, 1100)
	add(Trivial, 20, OnboardJSON, 960, 950, 1000)
	add(Trivial, 20, Ansible, 20400, 20000, 21000)
	add(Trivial, 20, BareSession, 530, 520, 540)
	add(Trivial, 20, BareBatched, 280, 270, 290)
	add(Provision, 20, OnboardText, 15300, 15000, 16000)
	add(Provision, 20, Ansible, 27700, 27000, 28000)
	add(Provision, 20, PhysicalLimit, 6000, 5900, 6100)
	add(Rerun, 20, OnboardText, 3850, 3800, 3900)
	add(Rerun, 20, Ansible, 22100, 22000, 22200)
	add(Rerun, 20, BareChecks, 900, 880, 910)
	r.Scale = []Scale{{N: 200, Tool: OnboardJSON, Wall: 8 * time.Second, Steps: 2000, StepsPerSecond: 250, PeakRSSKB: 80 << 10, PeakGroupPSSKB: 70 << 10, ControllerCPU: 2 * time.Second, HostCPU: 12 * time.Second}}
	return r
}

func TestRatios(t *testing.T) {
	r := sampleReport()
	for _, tc := range []struct {
		workload string
		want     Ratios
	}{
		{Trivial, Ratios{AnsibleOverOnboard: 20400.0 / 1140, OnboardOverFloor: 1140.0 / 530, TextOverJSON: 1140.0 / 960}},
		{Provision, Ratios{AnsibleOverOnboard: 27700.0 / 15300, OnboardOverFloor: 15300.0 / 6000}},
		{Rerun, Ratios{AnsibleOverOnboard: 22100.0 / 3850, OnboardOverFloor: 3850.0 / 900}},
	} {
		got := r.Row(tc.workload, 20).Ratios()
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"Ansible/onboard", got.AnsibleOverOnboard, tc.want.AnsibleOverOnboard},
			{"onboard/floor", got.OnboardOverFloor, tc.want.OnboardOverFloor},
			{"text/json", got.TextOverJSON, tc.want.TextOverJSON},
		} {
			if d := f.got - f.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("%s %s = %v, want %v", tc.workload, f.name, f.got, f.want)
			}
		}
	}
	// onboard's slower format is the one compared: JSON slower than text.
	row := &Row{Workload: Trivial, N: 5}
	row.Add(OnboardText, Sample{Wall: time.Second})
	row.Add(OnboardJSON, Sample{Wall: 2 * time.Second})
	row.Add(Ansible, Sample{Wall: 10 * time.Second})
	if got := row.Ratios().AnsibleOverOnboard; got != 5 {
		t.Errorf("Ansible/onboard with JSON slower = %v, want 5", got)
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("markdown differs from %s (go test -update to accept):\n%s", golden, b.String())
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := sampleReport()
	data, err := r.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := r.WriteMarkdown(&a); err != nil {
		t.Fatal(err)
	}
	if err := back.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("report changed through JSON:\n%s\nvs\n%s", a.String(), b.String())
	}
	if got := back.Row(Trivial, 20).Cell(Ansible).Samples; len(got) != 3 || got[1].Wall != 20*time.Second {
		t.Errorf("samples after round trip: %+v", got)
	}
	if _, err := ReadReport([]byte("{")); err == nil {
		t.Error("ReadReport accepted broken JSON")
	}
}

// labInventory is an inventory like the lab's, for n workstations.
func labInventory(t *testing.T, n int) string {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	kh := filepath.Join(dir, "known_hosts")
	for _, f := range []string{key, kh} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "groups:\n  lab:\n    defaults:\n      os: linux\n      transport: ssh\n      port: 22\n      user: onboard\n      credential: file:%s\n      known_hosts: %s\n      become: sudo\n      package_manager: apt\nhosts:\n", key, kh)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  ws%d:\n    address: 10.213.77.%d\n    groups: [lab]\n", i, 10+i)
	}
	b.WriteString("printers:\n  office-2f:\n    queue: Office-2F\n    uri: ipp://10.213.77.2:8631/ipp/print\n    model: everywhere\n")
	f := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestOnboardPlaybooksPlan: the generated playbooks load, and plan to 10
// steps per host (trivial) and 9 (provisioning), one host each.
func TestOnboardPlaybooksPlan(t *testing.T) {
	const n = 7
	inv, err := inventory.Load("../../../inventory/software.yaml", labInventory(t, n))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		gen   func(int, string) string
		steps int
	}{
		{"trivial", TrivialPlaybook, 10},
		{"provision", ProvisionPlaybook, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pbs []*playbook.Playbook
			for i := 1; i <= n; i++ {
				ws := fmt.Sprintf("ws%d", i)
				pb, err := playbook.Parse(ws+".yaml", []byte(tc.gen(i, ws)))
				if err != nil {
					t.Fatal(err)
				}
				pbs = append(pbs, pb)
			}
			p, err := planner.Build(pbs, inv, planner.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Steps) != tc.steps*n {
				t.Fatalf("plan has %d steps, want %d", len(p.Steps), tc.steps*n)
			}
			perHost := map[string]int{}
			for _, s := range p.Steps {
				perHost[s.Host]++
			}
			for i := 1; i <= n; i++ {
				if got := perHost[fmt.Sprintf("ws%d", i)]; got != tc.steps {
					t.Errorf("ws%d has %d steps, want %d (%v)", i, got, tc.steps, perHost)
				}
			}
		})
	}
}

// TestAnsiblePlaybooks: the Ansible playbooks decode and run the same
// commands as the other tools.
func TestAnsiblePlaybooks(t *testing.T) {
	type task map[string]any
	var trivial []struct{ Tasks []task }
	if err := yaml.Unmarshal([]byte(TrivialAnsible()), &trivial); err != nil {
		t.Fatal(err)
	}
	if len(trivial) != 1 || len(trivial[0].Tasks) != 10 {
		t.Fatalf("trivial playbook: %d plays, want 1 with 10 tasks: %+v", len(trivial), trivial)
	}
	for i, c := range TrivialCommands() {
		if got := trivial[0].Tasks[i]["command"]; got != c {
			t.Errorf("task %d runs %v, want %q", i+1, got, c)
		}
	}
	var prov []struct {
		Become bool
		Tasks  []task
	}
	if err := yaml.Unmarshal([]byte(ProvisionAnsible("ipp://10.213.77.2:8631/ipp/print")), &prov); err != nil {
		t.Fatal(err)
	}
	if len(prov) != 1 || !prov[0].Become || len(prov[0].Tasks) != 6 {
		t.Fatalf("provisioning playbook: %+v", prov)
	}
	apt, _ := prov[0].Tasks[0]["apt"].(task) // yaml.v3 decodes nested maps into the target's map type
	names, _ := apt["name"].([]any)
	if len(names) != 4 || names[1] != "acme-chat=3.1.0" {
		t.Errorf("apt task installs %v, want the 4 pinned packages", names)
	}
	inv := AnsibleInventory([][2]string{{"ws1", "10.213.77.11"}, {"ws2", "10.213.77.12"}}, "onboard", "/k")
	for _, want := range []string{"[bench]\nws1 ansible_host=10.213.77.11\nws2 ansible_host=10.213.77.12\n", "ansible_user=onboard\n", "ansible_ssh_private_key_file=/k\n"} {
		if !strings.Contains(inv, want) {
			t.Errorf("inventory lacks %q:\n%s", want, inv)
		}
	}
	cfg := AnsibleConfig(50, "/kh", "/cp")
	for _, want := range []string{"forks = 50\n", "pipelining = True\n", "ControlPersist=60s", "UserKnownHostsFile=/kh"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("ansible.cfg lacks %q:\n%s", want, cfg)
		}
	}
}

// TestAnsibleSyntax has Ansible itself check the playbooks, when installed.
func TestAnsibleSyntax(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ansible-playbook")
	}
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("no ansible-playbook")
	}
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.ini")
	if err := os.WriteFile(inv, []byte(AnsibleInventory([][2]string{{"ws1", "10.0.0.1"}}, "u", "/k")), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, pb := range map[string]string{"trivial": TrivialAnsible(), "provision": ProvisionAnsible("ipp://x/ipp/print")} {
		f := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(f, []byte(pb), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("ansible-playbook", "--syntax-check", "-i", inv, f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v: %s", name, err, out)
		}
	}
}

// TestScriptsParse: the shell scripts are valid sh.
func TestScriptsParse(t *testing.T) {
	scripts := map[string]string{
		"physical limit": PhysicalLimitScript("ipp://10.213.77.2:8631/ipp/print"),
		"reset":          ResetScript(),
		"trivial":        strings.Join(TrivialCommands(), "\n"),
		"re-run checks":  strings.Join(RerunChecks(), "\n"),
	}
	for name, s := range scripts {
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = strings.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v: %s\n%s", name, err, out, s)
		}
	}
	if got := len(RerunChecks()); got != 9 {
		t.Errorf("re-run checks: %d commands, want 9 (4 packages, printer, file, guard, 2 checks)", got)
	}
}

func TestStatTicks(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want int64
		ok   bool
	}{
		// utime 7, stime 3, cutime 20, cstime 10.
		{"1234 (sshd) S 1 1234 1234 0 -1 4194560 500 0 0 0 7 3 20 10 20 0 1 0 100 10000 200 18446744073709551615", 40, true},
		{"99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0", 10, true},
		{"99 sshd S 1", 0, false},
		{"99 (sshd) S 1 2 3", 0, false},
	} {
		got, err := StatTicks(tc.stat)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("StatTicks(%q) = %d, %v; want %d, ok %v", tc.stat, got, err, tc.want, tc.ok)
		}
	}
	if n, ok := lab.ParseNSLink("net:[4026532281]"); !ok || n != 4026532281 {
		t.Errorf("ParseNSLink = %d, %v", n, ok)
	}
	if _, ok := lab.ParseNSLink("mnt:[1]"); ok {
		t.Error("ParseNSLink accepted a mount namespace")
	}
}

func TestWorkstations(t *testing.T) {
	if got := (Config{Trivial: []int{20, 50}, Provision: []int{20}}).Workstations(); got != 50 {
		t.Errorf("Workstations = %d, want 50", got)
	}
	if got := (Config{Trivial: []int{5}, Scale: 200}).Workstations(); got != 200 {
		t.Errorf("Workstations with scale = %d, want 200", got)
	}
}

func TestWriteMarkdownScaleOnly(t *testing.T) {
	r := sampleReport()
	r.Rows = nil
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "| workload |") || !strings.Contains(b.String(), "| onboard-json | 200 | 8.00 s | 2000 | 250 | 80 MB | 70 MB |") {
		t.Errorf("scale-only report:\n%s", b.String())
	}
}

func TestPSS(t *testing.T) {
	rollup := "55d0c0a1e000-7ffc4a9f1000 ---p 00000000 00:00 0  [rollup]\nRss:               12345 kB\nPss:                6789 kB\nPss_Anon:           4000 kB\n"
	if got := PSSKB(rollup); got != 6789 {
		t.Errorf("PSSKB = %d, want 6789", got)
	}
	if got := PSSKB("Rss: 1 kB\n"); got != 0 {
		t.Errorf("PSSKB without Pss = %d, want 0", got)
	}
	if g, err := statField("12 (a b) S 1 77 34 0", 5); err != nil || g != 77 {
		t.Errorf("statField(pgrp) = %d, %v; want 77", g, err)
	}
	// This test's own process group holds at least this process.
	if got := GroupPSS(syscall.Getpgrp()); got <= 0 {
		t.Errorf("GroupPSS of our own group = %d KiB", got)
	}
}
