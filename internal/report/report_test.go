package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"onboard/internal/result"
)

func TestGolden(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	runs := map[string]func() *result.Run{"run": sampleRun, "dryrun": dryRun, "audit": auditRun, "checks": checksRun, "baseline": baselineRun}
	formats := map[string]Format{
		"txt":  Text{},
		"md":   Markdown{},
		"html": HTML{},
		"xml":  JUnit{},
		"json": JSON{},
	}
	for rn, mk := range runs {
		for ext, f := range formats {
			name := rn + "." + ext
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := f.Write(&buf, mk()); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, name, buf.Bytes())
			})
		}
	}
	t.Run("plan.txt", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WritePlanText(&buf, samplePlan()); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "plan.txt", buf.Bytes())
	})
}

func TestReadyAndNotReady(t *testing.T) {
	var buf bytes.Buffer
	if err := (Text{}).Write(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"READY FOR HANDOVER  Ada Lovelace (alovelace) on ws1",
		"NOT READY  Alan Turing (aturing) on ws2",
		"1 ok, 1 changed, 1 failed, 1 skipped",
		"Fix failed step: Install acme-chat 3.1.0 on ws2 (apply: exit 100: apt-get install exited 100)",
		"Collect the badge from reception",
		"Handover re-check",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	// The failed step is Alan's to-do, not Ada's.
	ada := out[strings.Index(out, "READY FOR HANDOVER"):strings.Index(out, "NOT READY")]
	if strings.Contains(ada, "Fix failed step") {
		t.Errorf("ready hire lists a failed step:\n%s", ada)
	}
	// Escape codes from remote output never reach the terminal.
	if strings.Contains(out, "\x1b") {
		t.Errorf("text report without colour contains an escape sequence")
	}
}

func TestDryRunNeverLooksOK(t *testing.T) {
	for name, f := range map[string]Format{"text": Text{}, "md": Markdown{}, "html": HTML{}} {
		var buf bytes.Buffer
		if err := f.Write(&buf, dryRun()); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "PLAN (no changes made)") {
			t.Errorf("%s: dry run does not say PLAN (no changes made)", name)
		}
		if !strings.Contains(out, "CANNOT TELL") {
			t.Errorf("%s: cannot-tell is not spelled out", name)
		}
		for _, bad := range []string{"READY FOR HANDOVER", "NOT READY"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: dry run says %q", name, bad)
			}
		}
	}
	// In the text report, every cannot-tell line must be marked as such.
	var buf bytes.Buffer
	if err := (Text{}).Write(&buf, dryRun()); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "Write ~ghopper/.ssh/config") && !strings.Contains(l, "CANNOT TELL") {
			t.Errorf("cannot-tell step printed without its label: %q", l)
		}
	}
}

func TestColor(t *testing.T) {
	write := func(w io.Writer, color bool) string {
		t.Helper()
		var buf bytes.Buffer
		if w == nil {
			w = &buf
		}
		if err := (Text{Color: color}).Write(w, sampleRun()); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	t.Setenv("NO_COLOR", "")
	if out := write(nil, true); !strings.Contains(out, "\x1b[1;32mREADY FOR HANDOVER\x1b[0m") {
		t.Errorf("colour asked for but not used:\n%q", out[:200])
	}
	if out := write(nil, false); strings.Contains(out, "\x1b[") {
		t.Errorf("colour used without being asked for")
	}
	// A file that is not a terminal never gets colour.
	f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	write(f, true)
	f.Close()
	if b, _ := os.ReadFile(f.Name()); bytes.Contains(b, []byte("\x1b[")) || len(b) == 0 {
		t.Errorf("colour written to a plain file (%d bytes)", len(b))
	}
	t.Setenv("NO_COLOR", "1")
	if out := write(nil, true); strings.Contains(out, "\x1b[") {
		t.Errorf("colour used despite NO_COLOR")
	}
}

func TestJUnitIsValid(t *testing.T) {
	var buf bytes.Buffer
	if err := (JUnit{}).Write(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	assertWellFormedXML(t, buf.Bytes())
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v", err)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("got %d testsuites, want one per hire (2)", len(doc.Suites))
	}
	if doc.Tests != 13 || doc.Failures != 2 || doc.Skipped != 1 || doc.Errors != 0 {
		t.Errorf("totals: tests=%d failures=%d skipped=%d errors=%d, want 13, 2, 1, 0", doc.Tests, doc.Failures, doc.Skipped, doc.Errors)
	}
	alan := doc.Suites[1]
	var handover, failed int
	for _, c := range alan.Cases {
		if c.Classname == "handover" {
			handover++
		}
		if c.Failure != nil {
			failed++
			if c.Failure.Type != "apply" && c.Failure.Type != "verify" {
				t.Errorf("failure type %q, want the phase", c.Failure.Type)
			}
			if c.Failure.Type == "apply" && !strings.Contains(c.Failure.Text, "Unable to locate package acme-chat") {
				t.Errorf("failure lacks the output tail:\n%s", c.Failure.Text)
			}
		}
	}
	if handover != 3 || failed != 2 {
		t.Errorf("Alan: %d handover cases and %d failures, want 3 and 2", handover, failed)
	}
	if alan.Cases[1].Time != "3.000" {
		t.Errorf("time %q, want seconds 3.000", alan.Cases[1].Time)
	}

	buf.Reset()
	if err := (JUnit{}).Write(&buf, dryRun()); err != nil {
		t.Fatal(err)
	}
	assertWellFormedXML(t, buf.Bytes())
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Errors != 2 || doc.Failures != 1 {
		t.Errorf("dry run: errors=%d failures=%d, want cannot-tell as 2 errors and would-change as 1 failure", doc.Errors, doc.Failures)
	}
}

func assertWellFormedXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("XML is not well formed: %v", err)
		}
	}
}

func TestHTMLSelfContained(t *testing.T) {
	for name, mk := range map[string]func() *result.Run{"run": sampleRun, "dryrun": dryRun} {
		var buf bytes.Buffer
		if err := (HTML{}).Write(&buf, mk()); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		// A known failure's link is shown as text, never linked: the
		// report loads and links nothing.
		if strings.Contains(strings.ReplaceAll(out, "<code>https://intranet.example.com/kb/", ""), "http://") ||
			strings.Contains(strings.ReplaceAll(out, "<code>https://intranet.example.com/kb/", ""), "https://") {
			t.Errorf("%s: HTML refers to the network", name)
		}
		doc, err := html.Parse(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%s: HTML does not parse: %v", name, err)
		}
		var walk func(n *html.Node)
		styles := 0
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "script", "link", "img", "iframe", "object", "embed":
					t.Errorf("%s: HTML has a <%s> element", name, n.Data)
				case "style":
					styles++
				}
				for _, a := range n.Attr {
					if a.Key == "src" || a.Key == "href" {
						t.Errorf("%s: HTML has an external reference %s=%q", name, a.Key, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
		if styles != 1 {
			t.Errorf("%s: %d <style> elements, want the inline one", name, styles)
		}
	}
	// The remote output's markup is shown, not run.
	var buf bytes.Buffer
	if err := (HTML{}).Write(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Errorf("remote markup not escaped")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := (JSON{}).Write(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	var got result.Run
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, sampleRun()) {
		t.Errorf("JSON does not round-trip")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"r.md", "r.html", "r.htm", "r.xml", "r.json", "r.txt", "R.HTML"} {
		path := filepath.Join(dir, name)
		if err := WriteFile(path, sampleRun()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 || fi.Size() == 0 {
			t.Errorf("%s: mode %v size %d, want 0644 and content", name, fi.Mode().Perm(), fi.Size())
		}
	}
	// Rewriting replaces the file whole.
	path := filepath.Join(dir, "r.txt")
	if err := WriteFile(path, dryRun()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte("PLAN (no changes made)")) {
		t.Errorf("rewritten file starts with %q", b[:30])
	}
	if err := WriteFile(filepath.Join(dir, "r.pdf"), sampleRun()); err == nil {
		t.Errorf("unknown extension accepted")
	}
	// A report's folder is made for it (handover reports go to out/...).
	if err := WriteFile(filepath.Join(dir, "new", "r.md"), sampleRun()); err != nil {
		t.Errorf("write into a new folder: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "new", "r.md")); err != nil {
		t.Errorf("report not written into the new folder: %v", err)
	}
	os.Remove(filepath.Join(dir, "new"))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestOnly(t *testing.T) {
	r := Only(sampleRun(), "E1001")
	if len(r.Hires) != 1 || len(r.Steps) != 3 || len(r.Handover) != 3 {
		t.Fatalf("Only: %d hires, %d steps, %d checks; want 1, 3, 3", len(r.Hires), len(r.Steps), len(r.Handover))
	}
	if !r.Ready("E1001") {
		t.Errorf("Ada is not ready in her own report")
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello\nworld", "hello\nworld"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"progress bar", "10%\r50%\r100%\ndone", "100%\ndone"},
		{"colour", "\x1b[1;31mE:\x1b[0m broken", "E: broken"},
		{"title escape", "\x1b]0;pwned\x07text", "text"},
		{"controls", "a\x07b\x00c\td", "abc\td"},
		{"utf8", "Zoë ✓", "Zoë ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clean(tt.in); got != tt.want {
				t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"code plain", "apt-get install", "`apt-get install`"},
		{"code with backtick", "echo `id`", "`` echo `id` ``"},
		{"code with pipe", "a | b", "`a \\| b`"},
		{"text markup", "<b>*x*</b> | [l](u)", `\<b\>\*x\*\</b\> \| \[l\](u)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if strings.HasPrefix(tt.name, "code") {
				got = mdCode(tt.in)
			} else {
				got = mdText(tt.in)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailLines(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	got := tailLines(b.String(), 30)
	lines := strings.Split(got, "\n")
	if len(lines) != 31 || lines[0] != "… (20 earlier lines left out)" || lines[30] != "line 49" {
		t.Errorf("tail:\n%s", got)
	}
}

func TestNilRun(t *testing.T) {
	for name, f := range map[string]Format{"text": Text{}, "md": Markdown{}, "html": HTML{}, "junit": JUnit{}, "json": JSON{}} {
		if err := f.Write(io.Discard, nil); err == nil {
			t.Errorf("%s: nil run accepted", name)
		}
	}
}

// An audit says "no drift" or "drift found" per hire, and lists what was
// added since handover, in every human format (golden files testdata/audit.*).
func auditRun() *result.Run {
	r := sampleRun()
	r.Audit, r.DryRun, r.Handover = true, true, nil
	// An audit's outcomes are ok (as handed over) or failed (drift).
	for i := range r.Steps {
		if r.Steps[i].Outcome != result.Failed {
			r.Steps[i].Outcome, r.Steps[i].Changed = result.OK, ""
		}
	}
	r.Hires[0].Added = []string{"alovelace is now also a member of sales in corp-ad"}
	// Ada's checks, compared with what the handover recorded of them.
	since := &result.EvidenceChange{SinceRun: "r-20261101-0800", Since: t0.Add(-22 * 24 * time.Hour), Unchanged: true}
	changed := func(fs ...result.FieldChange) *result.EvidenceChange {
		c := *since
		c.Changed, c.Unchanged = fs, false
		return &c
	}
	check := func(id, title string, o result.Outcome, reason string, c *result.EvidenceChange) result.Step {
		s := result.Step{ID: "E1001:check:" + id, Kind: "check", Hire: "E1001", Host: "ws1", Title: title + " on ws1",
			Outcome: o, Reason: reason, Started: at(3 * time.Second), Duration: 200 * ms, EvidenceChange: c}
		if o == result.Failed {
			s.Failure = &result.Failure{Host: "ws1", Step: s.ID, Phase: "check", Message: reason}
		}
		return s
	}
	r.Steps = append(r.Steps,
		check("intranet-name", "Check intranet-name", result.OK, "intranet.lab.test resolves to 10.77.0.9",
			changed(result.FieldChange{Field: "addresses", Was: "10.77.0.5", Now: "10.77.0.9"})),
		check("intranet", "Check intranet", result.OK, "https://intranet/ answered 200",
			changed(result.FieldChange{Field: "certificate expiry", Was: "2027-03-01 00:00:00 UTC", Now: "2026-12-20 00:00:00 UTC"},
				result.FieldChange{Field: "certificate issuer", Was: "CN=Lab CA", Now: "CN=<b>Other</b> | CA"})),
		check("ssh", "Check ssh", result.Failed, "ssh is stopped, want running (systemd: systemctl is-active: inactive)",
			changed(result.FieldChange{Field: "state", Was: "active", Now: "inactive"})),
		check("mail", "Check mail", result.OK, "mail:25 accepted a connection from the host", since),
		check("vpn", "Check vpn", result.OK, "vpn:443 accepted a connection from the host", since),
	)
	return r
}

func TestAuditReport(t *testing.T) {
	r := auditRun()
	for _, f := range []Format{Text{}, Markdown{}, HTML{}} {
		var buf bytes.Buffer
		if err := f.Write(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"DRIFT FOUND", "Added since handover", "also a member of sales",
			"Evidence", "10.77.0.5", "10.77.0.9", "2026-12-20", "inactive", "Check mail on ws1, Check vpn on ws1"} {
			if !strings.Contains(out, want) {
				t.Errorf("%T lacks %q", f, want)
			}
		}
	}
}
