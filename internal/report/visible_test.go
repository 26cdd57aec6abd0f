package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"onboard/internal/result"
)

func TestVisible(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Ada Lovelace", "Ada Lovelace"},
		{"accents and scripts", "José Ωμέγα 山田", "José Ωμέγα 山田"},
		{"ESC sequence", "Ada\x1b[2J\x1b]0;pwned\aX", `Ada\x1b[2J\x1b]0;pwned\x07X`},
		{"newline and tab kept", "a\n\tb", "a\n\tb"},
		{"carriage return", "a\rb", `a\x0db`},
		{"backspace and DEL", "a\bb\x7f", `a\x08b\x7f`},
		{"C1 CSI", "a\u009b2Jb", `a\u009b2Jb`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"replacement character itself", "a\uFFFDb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := visible(tt.in); got != tt.want {
				t.Errorf("visible(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// hostile is a name that would clear the screen, set the window title and
// reverse the line if printed raw.
const hostile = "Ada\x1b[2J\x1b]0;owned\a \u009b31m\u202eLovelace"

// viewEscapes are the live view's own: cursor up, carriage return, clear.
var viewEscapes = regexp.MustCompile(`\x1b\[\d*[AJ]|\r`)

// mdUnescape undoes Markdown's backslash escapes of \ [ and ].
var mdUnescape = regexp.MustCompile(`\\([\\\[\]])`)

// rawControl reports the first control character that is neither a
// newline nor a tab, or -1.
func rawControl(s string) int {
	return strings.IndexFunc(s, func(c rune) bool {
		return c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x202e)
	})
}

func hostileRun() *result.Run {
	r := sampleRun()
	r.Hires[0].Name = hostile
	r.Hires[0].Notes = "line one\nline\x1b[31m two"
	r.Steps[0].Title = "Create account " + hostile
	r.Steps[0].Host = "ws1\x1b[1A"
	for i := range r.Steps {
		if f := r.Steps[i].Failure; f != nil {
			f.Output = "E: broken\x1b[0m\nsecond line\u009b"
			f.Command = "apt-get install 'x\x07'"
			break
		}
	}
	return r
}

func TestHostileNamesInPlanText(t *testing.T) {
	p := samplePlan()
	p.Hires[0].Name = hostile
	p.Steps[0].Title = "Create account " + hostile
	var buf bytes.Buffer
	if err := WritePlanText(&buf, p); err != nil {
		t.Fatal(err)
	}
	if i := rawControl(buf.String()); i >= 0 {
		t.Fatalf("plan text passes a raw control character at byte %d:\n%q", i, buf.String())
	}
	checkGolden(t, "plan-hostile.txt", buf.Bytes())
}

func TestHostileNamesInProgress(t *testing.T) {
	r := hostileRun()
	for _, live := range []bool{false, true} {
		var buf bytes.Buffer
		p := NewProgress(&buf, live)
		for _, e := range sampleEvents() {
			if e.Step != nil && e.Step.ID == r.Steps[0].ID {
				s := r.Steps[0]
				e.Step = &s
			}
			p.Event(e)
		}
		// What the run prints for a person (a password on the terminal).
		_, _ = p.Write([]byte("password for " + hostile + ": x\n"))
		p.Close()
		out := buf.String()
		if live {
			// The view's own cursor movements are the only escapes.
			out = viewEscapes.ReplaceAllString(out, "")
		}
		if i := rawControl(out); i >= 0 {
			t.Fatalf("progress (live %v) passes a raw control character at byte %d:\n%q", live, i, out)
		}
		if !live {
			checkGolden(t, "progress-hostile.txt", buf.Bytes())
		}
	}
}

func TestHostileNamesInReports(t *testing.T) {
	formats := map[string]func(*bytes.Buffer, *result.Run) error{
		"text":     func(b *bytes.Buffer, r *result.Run) error { return Text{}.Write(b, r) },
		"markdown": func(b *bytes.Buffer, r *result.Run) error { return Markdown{}.Write(b, r) },
		"html":     func(b *bytes.Buffer, r *result.Run) error { return HTML{}.Write(b, r) },
		"junit":    func(b *bytes.Buffer, r *result.Run) error { return JUnit{}.Write(b, r) },
		"json":     func(b *bytes.Buffer, r *result.Run) error { return JSON{}.Write(b, r) },
		"jsonlines": func(b *bytes.Buffer, r *result.Run) error {
			NewJSONLines(b).Event(result.Event{Type: result.RunFinished, Run: r})
			return nil
		},
	}
	for name, write := range formats {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := write(&buf, hostileRun()); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if i := rawControl(out); i >= 0 {
				t.Fatalf("%s passes a raw control character at byte %d: %q", name, i, out[max(0, i-40):min(len(out), i+40)])
			}
			// Markdown escapes the backslashes again; it renders the same.
			if name == "text" || name == "markdown" {
				if !strings.Contains(mdUnescape.ReplaceAllString(out, "$1"), `Ada\x1b[2J\x1b]0;owned\x07 \u009b31m\u202eLovelace`) {
					t.Errorf("%s does not show the name's control characters", name)
				}
			}
		})
	}
	// JSON keeps the value exactly: only its spelling changes.
	for _, name := range []string{"json", "jsonlines"} {
		var buf bytes.Buffer
		if err := formats[name](&buf, hostileRun()); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Hires []result.Hire `json:"hires"`
			Run   *result.Run   `json:"run"`
		}
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		hires := back.Hires
		if back.Run != nil {
			hires = back.Run.Hires
		}
		if len(hires) == 0 || hires[0].Name != hostile {
			t.Errorf("%s changed the name: %+v", name, hires)
		}
	}
}
