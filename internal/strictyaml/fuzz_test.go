package strictyaml

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
)

// Any input decodes without a panic, and every syntax error is placed
// inside the text: a line that exists, a column at most one past its end.
// (Other errors are at yaml.v3's node positions: a null document's is the
// line after it.)
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"name: a\nport: 1\ntags: [a, b]\n",
		"name: a\ntags:\n\t- x\n",
		"name: a\nlabels:\n  x: \"abc\n  y: 2\n",
		"name: a\nnested:\n  name: b\n port: 2\n",
		"name: a: b\n",
		"name: a\ntags: [x, {y: 'z}\n",
		"name: a\nname: b\n",
		"hosts: single\ntags: single\n",
		"a: &a {name: x, kids: [*a]}\n",
		"name: \"é\"\nport: é: 1\n",
		"---\nname: a\n---\nname: b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return // the position search parses prefixes: keep each run short
		}
		var v sample
		_, err := Decode("f.yaml", []byte(in), &v)
		var me *multierror.Error
		if err == nil || !errors.As(err, &me) {
			return
		}
		lines := strings.Split(in, "\n")
		for _, e := range me.Errors {
			var se *Error
			if !errors.As(e, &se) {
				t.Fatalf("not an *Error: %v", e)
			}
			if !strings.HasPrefix(se.Msg, "YAML syntax") {
				continue
			}
			if se.Pos.Line < 1 || se.Pos.Line > len(lines) || se.Pos.Col < 1 || se.Pos.Col > len([]rune(lines[se.Pos.Line-1]))+1 {
				t.Fatalf("%q: %v is outside the text", in, se)
			}
		}
	})
}
