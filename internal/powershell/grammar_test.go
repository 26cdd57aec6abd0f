package powershell

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGrammar checks every PowerShell script the project generates with a
// real PowerShell grammar (tools/pscheck: tree-sitter-powershell run by
// web-tree-sitter under Node.js): every *.ps1 under a testdata folder
// anywhere in the repository, and this package's scripts as generated now.
// Without Node.js it fails: the check is a requirement, not an extra.
func TestGrammar(t *testing.T) {
	root := repoRoot(t)
	files := testdataScripts(t, root)
	if len(files) == 0 {
		t.Fatalf("no testdata/*.ps1 under %s", root)
	}
	// The scripts as this build generates them, in case the golden files
	// are stale (TestGolden reports that separately).
	dir := t.TempDir()
	fresh := map[string]string{"bootstrap.ps1": bootstrap, "quoting.ps1": quotingScript()}
	for _, g := range goldenScripts {
		fresh[g.name+".ps1"] = g.s.Text()
	}
	for name, text := range fresh {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	out, err := pscheck(t, root, files...)
	if err != nil {
		t.Fatalf("PowerShell syntax errors (%v):\n%s", err, out)
	}
	t.Logf("%d scripts parse clean", len(files))
}

// TestGrammarReportsErrors proves the check can fail: broken scripts are
// reported with file, line and column, and a clean one is not.
func TestGrammarReportsErrors(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	scripts := []struct {
		name, text string
		want       string // the first report
	}{
		{
			name: "unterminated.ps1",
			text: "$greeting = 'Hello, world\nWrite-Output $greeting\n",
			want: `unterminated.ps1:1:12: syntax error near " 'Hello"`,
		},
		{
			name: "paren.ps1",
			text: "$in = '{}' | ConvertFrom-Json\nif (Test-Path -LiteralPath (Join-Path $env:TEMP 'x') {\n    Remove-Item x\n}\n",
			want: `paren.ps1:2:1: syntax error near "if (Test-Path -LiteralPath (Join-Path $e..."`,
		},
		{
			// What pasting a name without Quote would do.
			name: "pasted.ps1",
			text: "$name = 'O'Brien'\nGet-LocalUser -Name $name\n",
			want: `pasted.ps1:1:12: syntax error near "Brien'"`,
		},
		{name: "clean.ps1", text: "$name = 'O''Brien'\nGet-LocalUser -Name $name\n"},
	}
	var files []string
	for _, s := range scripts {
		path := filepath.Join(dir, s.name)
		if err := os.WriteFile(path, []byte(s.text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	out, err := pscheck(t, root, files...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("pscheck on broken scripts: %v, want exit status 1; output:\n%s", err, out)
	}
	report := strings.ReplaceAll(string(out), dir+string(filepath.Separator), "")
	t.Logf("pscheck reports:\n%s", report)
	first := map[string]string{}
	for line := range strings.Lines(report) {
		name, _, _ := strings.Cut(line, ":")
		if _, seen := first[name]; !seen {
			first[name] = strings.TrimSuffix(line, "\n")
		}
	}
	for _, s := range scripts {
		if got := first[s.name]; got != s.want {
			t.Errorf("first report for %s = %q, want %q", s.name, got, s.want)
		}
	}
}

// repoRoot is the folder with go.mod above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// testdataScripts lists, relative to root, every *.ps1 file inside a
// testdata folder, skipping hidden folders (.git, the lab's .lab) and
// node_modules.
func testdataScripts(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && path != root {
				return fs.SkipDir // unreadable: not ours
			}
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if strings.EqualFold(filepath.Ext(name), ".ps1") && slices.Contains(strings.Split(filepath.Dir(rel), string(filepath.Separator)), "testdata") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	installOnce sync.Once
	installErr  error
)

// pscheck runs tools/pscheck/check.mjs on files (relative to root or
// absolute), installing its pinned packages first if they are missing.
func pscheck(t *testing.T, root string, files ...string) ([]byte, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): the PowerShell grammar check needs Node.js 20 and npm (tools/pscheck)", err)
	}
	tool := filepath.Join(root, "tools", "pscheck")
	installOnce.Do(func() { installErr = installPSCheck(tool) })
	if installErr != nil {
		t.Fatal(installErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(tool, "check.mjs")}, files...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	return out.Bytes(), err
}

// installPSCheck runs "npm ci --ignore-scripts" in tool unless both
// packages are there: the grammar is WebAssembly, so no install script is
// needed, and none runs.
func installPSCheck(tool string) error {
	need := []string{
		"node_modules/web-tree-sitter/package.json",
		"node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm",
	}
	missing := false
	for _, f := range need {
		if _, err := os.Stat(filepath.Join(tool, f)); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("tools/pscheck/node_modules is missing and npm is not installed: run npm ci --ignore-scripts in tools/pscheck")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = tool
	if out, err := cmd.CombinedOutput(); err != nil {
		return errors.New("npm ci --ignore-scripts in tools/pscheck: " + err.Error() + "\n" + string(out))
	}
	return nil
}
