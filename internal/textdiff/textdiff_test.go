package textdiff

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

func TestUnified(t *testing.T) {
	var long, longer strings.Builder
	for i := range 800 {
		fmt.Fprintf(&long, "line %d\n", i)
		if i%2 == 0 {
			fmt.Fprintf(&longer, "line %d changed\n", i)
		} else {
			fmt.Fprintf(&longer, "line %d\n", i)
		}
	}
	secretLine := func(l string) bool { return strings.Contains(l, "hunter2") }
	tests := []struct {
		name     string
		old, new string
		opt      Options
	}{
		{name: "one-line-changed", old: "a\nb\nc\n", new: "a\nB\nc\n"},
		{name: "new-file", old: "", new: "first\nsecond\n"},
		{name: "emptied", old: "first\nsecond\n", new: ""},
		{name: "added-at-end", old: "a\nb\n", new: "a\nb\nc\n"},
		{name: "no-newline-at-end", old: "a\nb", new: "a\nb\n"},
		{name: "both-without-newline", old: "a\nb", new: "a\nc"},
		{name: "two-hunks", old: "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n", new: "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\nFOURTEEN\n15\n"},
		{name: "close-changes-one-hunk", old: "1\n2\n3\n4\n5\n6\n7\n8\n", new: "1\nx\n3\n4\n5\n6\ny\n8\n"},
		{name: "no-context", old: "a\nb\nc\n", new: "a\nB\nc\n", opt: Options{Context: -1}},
		{name: "moved-block", old: "a\nb\nc\nd\ne\n", new: "c\nd\ne\na\nb\n"},
		{name: "secret-lines-redacted", old: "user=ada\npassword=hunter2\nport=22\n", new: "user=ada\npassword=hunter2!\nport=2222\n", opt: Options{Redact: secretLine}},
		{name: "binary-nul", old: "a\x00b", new: "a\x00c"},
		{name: "binary-invalid-utf8", old: "text\n", new: "\xff\xfe\n"},
		{name: "cut-at-max-lines", old: long.String(), new: longer.String(), opt: Options{MaxLines: 20}},
		{name: "crlf", old: "a\r\nb\r\n", new: "a\r\nc\r\n"},
		{name: "crlf-new-file", old: "", new: "a\r\nb\r\n"},
		{name: "crlf-to-lf", old: "a\r\nb\r\n", new: "a\nb\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Unified("before: /etc/x", "after: /etc/x", tc.old, tc.new, tc.opt)
			golden.Assert(t, filepath.Join("testdata", tc.name+".diff"), []byte(got))
		})
	}
}

func TestUnifiedEqualIsEmpty(t *testing.T) {
	for _, s := range []string{"", "a\n", "a\x00"} {
		if got := Unified("a", "b", s, s, Options{}); got != "" {
			t.Errorf("Unified of equal %q = %q, want empty", s, got)
		}
	}
}

// TestEditsAreShortest checks the edit script against random texts: it
// turns a into b, and its changes are as few as the longest common
// subsequence allows.
func TestEditsAreShortest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a\n", "b\n", "c\n", "d\n"}
	for i := range 2000 {
		a, b := randomLines(r, words), randomLines(r, words)
		script := edits(a, b)
		var gotA, gotB []string
		changes := 0
		for _, o := range script {
			if o.kind != '+' {
				gotA = append(gotA, o.line)
			}
			if o.kind != '-' {
				gotB = append(gotB, o.line)
			}
			if o.kind != ' ' {
				changes++
			}
		}
		if strings.Join(gotA, "") != strings.Join(a, "") || strings.Join(gotB, "") != strings.Join(b, "") {
			t.Fatalf("case %d: script %v does not turn %q into %q", i, script, a, b)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("case %d: %d changes from %q to %q, the shortest has %d", i, changes, a, b, want)
		}
	}
}

// TestManyEditsFallBack holds the bound on the search: two long unrelated
// texts still give a correct diff, as a removal and an addition.
func TestManyEditsFallBack(t *testing.T) {
	var a, b []string
	for i := range 3000 {
		a = append(a, fmt.Sprintf("old %d\n", i))
		b = append(b, fmt.Sprintf("new %d\n", i))
	}
	script := edits(a, b)
	if len(script) != 6000 || script[0].kind != '-' || script[5999].kind != '+' {
		t.Fatalf("got %d ops starting %q, want 3000 removed then 3000 added", len(script), script[0].kind)
	}
}

func randomLines(r *rand.Rand, words []string) []string {
	out := make([]string, r.IntN(12))
	for i := range out {
		out[i] = words[r.IntN(len(words))]
	}
	return out
}

func lcs(a, b []string) int {
	t := make([][]int, len(a)+1)
	for i := range t {
		t[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	return t[0][0]
}

func BenchmarkUnifiedLargeFile(b *testing.B) {
	var old, new strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&old, "setting_%d = %d\n", i, i)
		if i%100 == 0 {
			fmt.Fprintf(&new, "setting_%d = changed\n", i)
		} else {
			fmt.Fprintf(&new, "setting_%d = %d\n", i, i)
		}
	}
	for b.Loop() {
		Unified("a", "b", old.String(), new.String(), Options{})
	}
}

// FuzzEdits: for any two texts the edit script turns the first into the
// second, and Unified neither panics nor shows a diff of equal texts.
func FuzzEdits(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("", "x")
	f.Add("a\r\nb", "a\nb\n")
	f.Fuzz(func(t *testing.T, old, new string) {
		a, b := splitLines(old), splitLines(new)
		var gotA, gotB strings.Builder
		for _, o := range edits(a, b) {
			if o.kind != '+' {
				gotA.WriteString(o.line)
			}
			if o.kind != '-' {
				gotB.WriteString(o.line)
			}
		}
		if gotA.String() != old || gotB.String() != new {
			t.Fatalf("the script does not turn %q into %q", old, new)
		}
		if d := Unified("a", "b", old, new, Options{MaxLines: 7}); (d == "") != (old == new) {
			t.Fatalf("Unified(%q, %q) = %q", old, new, d)
		}
	})
}
