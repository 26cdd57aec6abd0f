package main

// The command line as a user meets it, without the lab: every command's
// help (golden), flag placeholders, the exit codes in the help and the
// README, the version, suggestions for a mistyped command, Terraform's
// single-dash spellings, and the flags that used to be accepted and
// ignored, each now working or refused.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"onboard/internal/golden"
	"onboard/internal/result"
)

// onboardCLI runs onboard in-process.
func onboardCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// allCommands is every command of the tree, cobra's own (help,
// completion) included, root first.
func allCommands(t *testing.T) []*cobra.Command {
	t.Helper()
	root := newRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// Every command's help, as printed: a change to a flag or its wording
// shows up here.
func TestHelp(t *testing.T) {
	for _, c := range allCommands(t) {
		path := strings.Fields(c.CommandPath())
		t.Run(strings.Join(path, "_"), func(t *testing.T) {
			code, out, errs := onboardCLI(append(path[1:], "--help")...)
			if code != exitOK || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			golden.Assert(t, filepath.Join("testdata", "help", strings.Join(path, "_")+".golden"), []byte(out))
		})
	}
}

// A flag's placeholder is what its usage puts in back quotes (pflag's
// UnquoteUsage): an upper-case word for a value (FILE, N, DURATION), none
// for a switch. A stray back-quoted word would show as the placeholder.
func TestFlagPlaceholders(t *testing.T) {
	placeholder := regexp.MustCompile(`^[A-Z][A-Z0-9_:=-]*$`)
	for _, c := range allCommands(t) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if strings.Contains(usage, "`") {
				t.Errorf("%s --%s: a back quote is left in %q", c.CommandPath(), f.Name, usage)
			}
			switch f.Value.Type() {
			case "bool", "count":
				if name != "" {
					t.Errorf("%s --%s takes no value but shows %q", c.CommandPath(), f.Name, name)
				}
			default:
				if !placeholder.MatchString(name) {
					t.Errorf("%s --%s shows the placeholder %q, want an upper-case word in back quotes", c.CommandPath(), f.Name, name)
				}
			}
		})
	}
}

// Every exit code onboard returns is in the root help and in README.md.
func TestExitCodesDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, help, _ := onboardCLI("--help")
	for _, code := range []int{exitOK, exitFailed, exitInvalid, exitUnreachable, exitChanges, exitDrift, exitTampered, exitInterrupted} {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  %d +\S`, code)).MatchString(help) {
			t.Errorf("exit code %d is not in onboard --help", code)
		}
		if !strings.Contains(string(readme), fmt.Sprintf("\n| %d | ", code)) {
			t.Errorf("exit code %d is not in README.md's table", code)
		}
	}
}

func TestVersion(t *testing.T) {
	want := regexp.MustCompile(`^onboard \S+\ncommit: \S+( \(modified\))?\ngo: go\S* \S+/\S+\n$`)
	_, long, _ := onboardCLI("--version")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := onboardCLI(args...)
		if code != exitOK || errs != "" || !want.MatchString(out) {
			t.Errorf("onboard %s: exit %d, stdout %q, stderr %q", args[0], code, out, errs)
		}
		if out != long {
			t.Errorf("onboard %s and onboard --version differ:\n%s\n%s", args[0], out, long)
		}
	}
	code, out, _ := onboardCLI("version", "-o", "json")
	var b buildInfo
	if err := json.Unmarshal([]byte(out), &b); code != exitOK || err != nil || b.Version == "" || !strings.HasPrefix(b.Go, "go") {
		t.Errorf("version -o json: exit %d, %v: %s", code, err, out)
	}
}

// Each source of the version: what the Makefile sets wins; then what the
// toolchain recorded (go install of a tag, a pseudo-version, a git work
// tree's vcs.* settings).
func TestDescribeBuild(t *testing.T) {
	info := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8"}
		bi.Main.Version = version
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := []struct {
		name                string
		bi                  *debug.BuildInfo
		ldVersion, ldCommit string
		version, commit     string
		modified            bool
	}{
		{"nothing recorded", nil, "", "", "dev", "", false},
		{"go build outside a repository", info("(devel)"), "", "", "dev", "", false},
		{"go install of a tag", info("v1.4.0"), "", "", "v1.4.0", "", false},
		{"go install of a commit", info("v1.4.1-0.20261203160313-c7b1be6039da"), "", "", "v1.4.1-0.20261203160313-c7b1be6039da", "c7b1be6039da", false},
		{"go build in a work tree", info("v0.0.0-20261203160313-c7b1be6039da+dirty", "vcs.revision", "c7b1be6039dae725a25702f52ba5d595cb301235", "vcs.modified", "true"),
			"", "", "v0.0.0-20261203160313-c7b1be6039da+dirty", "c7b1be6039dae725a25702f52ba5d595cb301235", true},
		{"make build", info("(devel)"), "v1.4.0-3-gc7b1be6-dirty", "c7b1be6039dae725a25702f52ba5d595cb301235",
			"v1.4.0-3-gc7b1be6-dirty", "c7b1be6039dae725a25702f52ba5d595cb301235", true},
		{"make build of a clean tag", info("v1.4.0", "vcs.revision", "aaaa", "vcs.modified", "false"), "v1.4.0", "c7b1be6039da",
			"v1.4.0", "c7b1be6039da", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := describeBuild(tt.bi, tt.ldVersion, tt.ldCommit)
			if b.Version != tt.version || b.Commit != tt.commit || b.Modified != tt.modified {
				t.Errorf("got %q %q modified=%v, want %q %q modified=%v", b.Version, b.Commit, b.Modified, tt.version, tt.commit, tt.modified)
			}
			if b.Go == "" || b.Platform == "" {
				t.Errorf("no Go version or platform: %+v", b)
			}
		})
	}
}

// What onboard says, and its exit code, for command lines a newcomer from
// Terraform or Ansible types, and for flags that used to be accepted and
// ignored. One golden file holds them all, in order.
func TestCommandLineErrors(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	inv, pb := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "hire.yaml")
	cases := [][]string{
		// A mistyped command, told from a playbook argument.
		{"vaildate"},
		{"pln", pb},
		{"hsitory"},
		{"frobnicate"},
		{"missing.yaml"},
		{"journal", "verfy"},
		{"help", "vaildate"},
		{"completion", "bsh"},
		{"dry-run", pb},
		// Arguments that do not fit the command.
		{"resume"},
		{"plan"},
		{"history", "E1042"},
		{"schema", "playbook", "profile"},
		// Terraform's single-dash spellings with no counterpart here.
		{"plan", "-auto-approve", pb},
		{"apply", "--auto-approve", pb},
		{"plan", "-var", "name=ada", pb},
		{"plan", "-var-file=hire.tfvars", pb},
		{"plan", "-target", "ws1", pb},
		{"plan", "-state", "x.tfstate", pb},
		{"apply", "-out", "plan.json", pb},
		{"-out", "plan.json", pb},
		{"-i", inv, "-out", "plan.json", "plan", pb},
		{"validate", "-json"},
		{"plan", "-detailed-exitcodes", pb},
		{"plan", "--detailed-exitcodes", pb},
		{"plan", "--parallelism", "3", pb},
		// Flags a command does not use are not its flags.
		{"plan", "--accept-new-host-key", pb},
		{"validate", "--diff", pb},
		{"plan", "--yes", pb},
		{"version", "--journal", "j.db"},
		{"schema", "--profiles", "p"},
		{"completion", "bash", "--journal", "j.db"},
		{"history", "--no-journal"},
		{"-i", inv, "history"},
		{"validate", "-o", "json"},
		// -o is text or json everywhere.
		{"plan", "-o", "yaml", "-i", inv, pb},
		{"-o", "yaml", "-i", inv, pb},
		{"history", "-o", "yaml"},
		{"show", "-o", "yaml", "RUN"},
		{"audit", "-o", "yaml"},
		{"version", "-o", "yaml"},
		// Report formats by extension.
		{"plan", "--report", "plan.pdf", "-i", inv, pb},
		// Flags that only mean something together.
		{"--detailed-exitcode", "-i", inv, pb},
		{"--check", "--accept-new-host-key", "-i", inv, pb},
		{"apply", "-i", inv, "saved-plan.json"},
		{"history", "--last", "-1"},
		// --limit selects hires; a pattern that selects nothing stops the run.
		{"plan", "--limit", "ws9", "-i", inv, pb},
		{"plan", "--limit", "ws[1", "-i", inv, pb},
		{"plan", "--limit", "!E7001", "-i", inv, pb},
		{"apply", "--limit", "ws1", "saved-plan.json"},
	}
	var b strings.Builder
	for _, args := range cases {
		code, out, errs := onboardCLI(args...)
		fmt.Fprintf(&b, "$ onboard %s\n[exit %d]\n%s", strings.Join(args, " "), code, errs)
		if out != "" {
			t.Errorf("onboard %s printed on stdout: %q", strings.Join(args, " "), out)
		}
		if code != exitInvalid {
			t.Errorf("onboard %s: exit %d, want %d", strings.Join(args, " "), code, exitInvalid)
		}
	}
	golden.Assert(t, filepath.Join(dir, "errors.golden"), []byte(b.String()))
}

// The normaliser rewrites a single-dash long flag of the command to two
// dashes, maps Terraform's names, and leaves short flags, their clusters,
// flag values and everything after "--" alone.
func TestNormaliseArgs(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plan -out p.json x.yaml", "plan --out p.json x.yaml"},
		{"plan -out=p.json x.yaml", "plan --out=p.json x.yaml"},
		{"plan -detailed-exitcode x.yaml", "plan --detailed-exitcode x.yaml"},
		{"plan -parallel 3 x.yaml", "plan --parallel 3 x.yaml"},
		{"plan -parallelism=3 x.yaml", "plan --parallel=3 x.yaml"},
		{"plan -parallelism 3 x.yaml", "plan --parallel 3 x.yaml"},
		{"plan -json x.yaml", "plan --output=json x.yaml"},
		{"history -limit 5", "history --limit 5"},
		{"history -json", "history --output=json"},
		{"-check -no-color x.yaml", "--check --no-color x.yaml"},
		{"plan -ojson -p5 -vv -i inv x.yaml", "plan -ojson -p5 -vv -i inv x.yaml"},
		{"plan --report -out x.yaml", "plan --report -out x.yaml"},
		{"plan -i -out x.yaml", "plan -i -out x.yaml"},
		{"plan -- -out", "plan -- -out"},
		{"journal verify -expect-head 1:ab", "journal verify --expect-head 1:ab"},
		{"history -last 5", "history --last 5"},
		{"-help", "--help"},
		{"__complete plan -out", "__complete plan --out"},
		{"__complete apply -out", "__complete apply -out"},
		{"-version", "--version"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			root := newRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			got, err := normaliseArgs(root, strings.Fields(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
}

// plan -out FILE, as Terraform users type it, saves the plan (it was read
// as -o ut); --report FILE writes the dry run's report, in the format of
// its extension (it wrote nothing).
func TestPlanFlagsWork(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	tmp := t.TempDir()
	planFile := filepath.Join(tmp, "plan.json")
	md, txt, js := filepath.Join(tmp, "r.md"), filepath.Join(tmp, "r.txt"), filepath.Join(tmp, "r.json")
	code, out, errs := onboardCLI("plan", "-i", filepath.Join(dir, "inventory.yaml"), "--no-journal", "--retries", "0",
		"-out", planFile, "--report", md, "--report", txt, "--report", js, filepath.Join(dir, "hire.yaml"))
	// Nothing answers at the host: every step is cannot-tell, exit 3.
	if code != exitUnreachable || !strings.Contains(out, "1 cannot tell") {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitUnreachable, out, errs)
	}
	var p struct{ Version int }
	if b, err := os.ReadFile(planFile); err != nil || json.Unmarshal(b, &p) != nil || p.Version != 1 {
		t.Errorf("-out saved no plan: %v", err)
	}
	var run result.Run
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &run) != nil || !run.DryRun || len(run.Steps) != 1 {
		t.Errorf("--report %s: %v, %+v", js, err, run)
	}
	for path, want := range map[string]string{md: "cannot", txt: "CANNOT TELL"} {
		if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("--report %s: %v, want %q in\n%s", path, err, want, b)
		}
	}
}

// --limit (and -l) run part of a batch: hires by employee id or host,
// with globs and exclusions; the plan holds only them.
func TestLimit(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	pbs := []string{filepath.Join(dir, "hire.yaml"), filepath.Join(dir, "hire2.yaml")}
	tests := []struct {
		limit []string
		hires string
	}{
		{nil, "E7001 E7002"},
		{[]string{"--limit", "ws2"}, "E7002"},
		{[]string{"-l", "E7001"}, "E7001"},
		{[]string{"--limit", "ws*,!E7001"}, "E7002"},
		{[]string{"--limit", "e700?"}, "E7001 E7002"},
		{[]string{"--limit", "ws1", "--limit", "ws2"}, "E7001 E7002"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.limit, " "), func(t *testing.T) {
			args := append([]string{"plan", "-o", "json", "--no-journal", "--retries", "0", "-i", filepath.Join(dir, "inventory.yaml")}, tt.limit...)
			code, out, errs := onboardCLI(append(args, pbs...)...)
			var p struct {
				Hires []struct{ ID string }
				Steps []struct{ Hire string }
			}
			if code != exitUnreachable || json.Unmarshal([]byte(out), &p) != nil {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			var ids []string
			for _, h := range p.Hires {
				ids = append(ids, h.ID)
			}
			if strings.Join(ids, " ") != tt.hires {
				t.Errorf("hires %v, want %s", ids, tt.hires)
			}
			for _, s := range p.Steps {
				if !strings.Contains(tt.hires, s.Hire) {
					t.Errorf("a step of %s, which the limit leaves out", s.Hire)
				}
			}
		})
	}
}

// plan --json, the old spelling of -o json, works with a warning on stderr.
func TestPlanJSONDeprecated(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	code, out, errs := onboardCLI("plan", "--json", "--no-journal", "--retries", "0", "-i", filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "hire.yaml"))
	var p struct{ Version int }
	if code != exitUnreachable || json.Unmarshal([]byte(out), &p) != nil || p.Version != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "--json is deprecated: use -o json") {
		t.Errorf("no warning: %q", errs)
	}
}

// history --last N is the count that was --limit; --limit goes on working
// with a warning on stderr (stdout stays clean for -o json).
func TestHistoryLast(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	j := filepath.Join(t.TempDir(), "journal.db")
	for range 3 {
		if code, out, errs := onboardCLI("plan", "-i", filepath.Join(dir, "inventory.yaml"), "--journal", j, "--retries", "0",
			filepath.Join(dir, "hire.yaml")); code != exitUnreachable {
			t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
		}
	}
	runs := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := onboardCLI(append([]string{"history", "--journal", j, "-o", "json"}, args...)...)
		var rs []json.RawMessage
		if code != exitOK || json.Unmarshal([]byte(out), &rs) != nil {
			t.Fatalf("history %v: exit %d\n%s%s", args, code, out, errs)
		}
		return len(rs), errs
	}
	if n, errs := runs(); n != 3 || errs != "" {
		t.Errorf("history: %d runs, stderr %q; want 3 and nothing", n, errs)
	}
	if n, errs := runs("--last", "2"); n != 2 || errs != "" {
		t.Errorf("history --last 2: %d runs, stderr %q", n, errs)
	}
	if n, errs := runs("--last", "0"); n != 3 || errs != "" {
		t.Errorf("history --last 0: %d runs, stderr %q; want all 3", n, errs)
	}
	if n, errs := runs("--limit", "1"); n != 1 || !strings.Contains(errs, "--limit is deprecated: use --last N") {
		t.Errorf("history --limit 1: %d runs, stderr %q", n, errs)
	}
}

// Shell completion: schema names, output formats, playbook files, and the
// run ids and hires the journal holds.
func TestCompletion(t *testing.T) {
	dir := filepath.Join("testdata", "cli")
	j := filepath.Join(t.TempDir(), "journal.db")
	none := filepath.Join(t.TempDir(), "none.db")
	if code, out, errs := onboardCLI("plan", "-i", filepath.Join(dir, "inventory.yaml"), "--journal", j, "--retries", "0",
		filepath.Join(dir, "hire.yaml")); code != exitUnreachable {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	_, out, _ := onboardCLI("history", "--journal", j, "-o", "json")
	var rs []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("history: %v\n%s", err, out)
	}
	tests := []struct {
		args []string
		want string // the candidates and directive, as cobra prints them
	}{
		{[]string{"schema", ""}, "playbook\nprofile\ninventory\n:4\n"},
		{[]string{"schema", "pro"}, "profile\n:4\n"},
		{[]string{"plan", "--output", ""}, "text\njson\n:4\n"},
		{[]string{"history", "--journal", j, "--outcome", ""}, "ok\nfailed\ncancelled\ninterrupted\nrunning\n:4\n"},
		{[]string{"plan", ""}, "yaml\nyml\n:8\n"},
		{[]string{"validate", "x"}, "yaml\nyml\n:8\n"},
		{[]string{"show", "--journal", j, ""}, rs[0].ID + "\tE7001 ok\n:36\n"},
		{[]string{"resume", "--journal", j, rs[0].ID[:4]}, rs[0].ID + "\tE7001 ok\n:36\n"},
		{[]string{"audit", "--journal", j, "E"}, "E7001\tAda Lovelace\n:4\n"},
		{[]string{"history", "--journal", j, "--host", ""}, "ws1\n:4\n"},
		{[]string{"show", "--journal", none, ""}, ":36\n"},
		{[]string{"plan", "-i", filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "hire.yaml"), filepath.Join(dir, "hire2.yaml"), "--limit", ""},
			"E7001\thire Ada Lovelace\nE7002\thire Grace Hopper\nws1\thost\nws2\thost\n:4\n"},
		{[]string{"apply", "-i", filepath.Join(dir, "inventory.yaml"), "--limit", "ws1,w"}, "ws1,ws1\thost\nws1,ws2\thost\n:4\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, _ := onboardCLI(append([]string{cobra.ShellCompRequestCmd}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			if out != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("completion created a journal")
	}
}

// The variables the Makefile sets with -ldflags exist: a rename would
// leave make build printing "dev" without a word.
func TestVersionFromLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "onboard")
	ld := "-X main.version=v9.9.9-test -X main.commit=0123456789abcdef0123456789abcdef01234567"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	want := regexp.MustCompile(`^onboard v9\.9\.9-test\ncommit: 0123456789abcdef0123456789abcdef01234567\ngo: go`)
	if err != nil || !want.Match(out) {
		t.Errorf("onboard --version: %v\n%s", err, out)
	}
}

// Every flag README.md and docs/cli.md name is a flag of some command.
func TestDocumentedFlagsExist(t *testing.T) {
	// cobra's own, and git describe's in the Makefile's version.
	known := map[string]bool{"help": true, "version": true, "tags": true, "always": true, "dirty": true}
	for _, c := range allCommands(t) {
		c.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	}
	flag := regexp.MustCompile(`(?:^|[^-\w])--([a-z][a-z0-9-]+)`)
	for _, doc := range []string{"../../README.md", "../../docs/cli.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flag.FindAllStringSubmatch(string(b), -1) {
			if !known[m[1]] {
				t.Errorf("%s names --%s, which no command has", doc, m[1])
			}
		}
	}
}
