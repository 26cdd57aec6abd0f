package report

import (
	"bytes"
	"strings"
	"testing"

	"onboard/internal/result"
)

// A known failure's link from an edited journal reaches no report unless
// it is a plain web address.
func TestKnownLink(t *testing.T) {
	tests := []struct{ link, want string }{
		{"https://kb.example.com/a", "https://kb.example.com/a"},
		{"http://kb.example.com/a?b=c", "http://kb.example.com/a?b=c"},
		{"javascript:alert(1)", ""},
		{"https://kb.example.com/a>b<script>", ""},
		{"https://kb.example.com/a) [x](javascript:y", ""},
		{"data:text/html,x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := knownLink(&result.Known{Link: tt.link}); got != tt.want {
			t.Errorf("knownLink(%q) = %q, want %q", tt.link, got, tt.want)
		}
	}
	run := sampleRun()
	run.Steps[4].Failure.Known.Link = "javascript:alert(1)"
	for _, w := range []Format{Text{}, Markdown{}, HTML{}} {
		var b bytes.Buffer
		if err := w.Write(&b, run); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "javascript:alert(1)\n") || strings.Contains(b.String(), "<javascript:") || strings.Contains(b.String(), "<code>javascript:") {
			t.Errorf("%T prints a script link", w)
		}
	}
}
