package strictyaml

import (
	"strings"
	"testing"
)

// A syntax error names the line and column of the problem, not the line of
// the construct yaml.v3 was reading.
func TestSyntaxPosition(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"tab indentation", "name: a\ntags:\n\t- x\n", "f.yaml:3:1: YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces)"},
		{"tab after spaces", "name: a\nnested:\n  name: b\n  \tport: 1\n", "f.yaml:4:3: YAML syntax: found a tab character that violates indentation"},
		{"unclosed double quote", "name: a\nlabels:\n  x: \"abc\n  y: 2\n", "f.yaml:3:6: YAML syntax: found unexpected end of stream"},
		{"unclosed single quote", "name: 'abc\nport: 2\n", "f.yaml:1:7: YAML syntax: found unexpected end of stream"},
		{"key indented too little", "name: a\nnested:\n  name: b\n port: 2\n", "f.yaml:4:2: YAML syntax: did not find expected key"},
		{"key indented too far", "name: a\nnested:\n  name: b\n    port: 2\n", "f.yaml:4:9: YAML syntax: mapping values are not allowed in this context"},
		{"list item indented too little", "name: a\ntags:\n  - x\n - y\n", "f.yaml:4:2: YAML syntax: did not find expected key"},
		{"two values on one line", "name: a: b\n", "f.yaml:1:8: YAML syntax: mapping values are not allowed in this context"},
		{"colon inside a word is text", "name: a\nlabels: {x: a:b}\nport: x: y\n", "f.yaml:3:8: YAML syntax: mapping values are not allowed in this context"},
		{"unclosed bracket", "name: a\ntags: [x, y\nport: 2\n", "f.yaml:2:11: YAML syntax: did not find expected ',' or ']' (the [ at 2:7 is not closed)"},
		{"bad character", "name: a\nport: @x\n", "f.yaml:2:7: YAML syntax: found character that cannot start any token"},
		{"after a wide character", "name: \"é\"\nport: é: 1\n", "f.yaml:2:8: YAML syntax: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v sample
			_, err := Decode("f.yaml", []byte(tt.in), &v)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Every prefix of a file with a syntax error is located without a panic
// and inside the file.
func TestSyntaxPositionInRange(t *testing.T) {
	in := "name: a\nnested:\n  name: \"b\n  tags: [x, {y: 'z}\n\tport: 1\n"
	for i := 1; i <= len(in); i++ {
		var v sample
		_, err := Decode("f.yaml", []byte(in[:i]), &v)
		if err == nil || !strings.Contains(err.Error(), "YAML syntax") {
			continue
		}
		e := err.(interface{ WrappedErrors() []error }).WrappedErrors()[0].(*Error)
		lines := strings.Split(in[:i], "\n")
		if e.Pos.Line < 1 || e.Pos.Line > len(lines) || e.Pos.Col < 1 || e.Pos.Col > len([]rune(lines[e.Pos.Line-1]))+1 {
			t.Errorf("prefix %q: position %v outside the text", in[:i], e.Pos)
		}
	}
}
