package strictyaml

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Sample is exported so that it can be embedded inline.
type Sample = sample

type sample struct {
	Name    string            `yaml:"name" onboard:"required"`
	Port    int               `yaml:"port"`
	On      bool              `yaml:"on"`
	Wait    time.Duration     `yaml:"wait"`
	Tags    []string          `yaml:"tags"`
	Hosts   []string          `yaml:"hosts" onboard:"one"`
	Labels  map[string]string `yaml:"labels"`
	Nested  *sample           `yaml:"nested"`
	Ignored string            `yaml:"-"`
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // each must appear
	}{
		{"unknown field", "name: a\nnmae: b\n", []string{"f.yaml:2:1: nmae: unknown field (did you mean \"name\"?)"}},
		{"missing required", "port: 1\n", []string{"f.yaml:1:1: name: is required"}},
		{"empty required", "name: \"\"\n", []string{"f.yaml:1:7: name: is required and must not be empty"}},
		{"wrong types", "name: a\nport: x\non: maybe\nwait: soon\ntags: {a: 1}\n", []string{
			"f.yaml:2:7: port: must be a whole number", "f.yaml:3:5: on: must be true or false",
			"f.yaml:4:7: wait: must be a positive duration", "f.yaml:5:7: tags: must be a list"}},
		{"duplicate key", "name: a\nport: 1\nname: b\n", []string{"f.yaml:3:1: name: duplicate key; first at f.yaml:1:1"}},
		{"duplicate nested key", "name: a\nlabels:\n  x: \"1\"\n  y: \"2\"\n  x: \"3\"\n", []string{"f.yaml:5:3: labels.x: duplicate key; first at f.yaml:3:3"}},
		{"scalar for a list", "name: a\ntags: single\n", []string{"f.yaml:2:7: tags: must be a list, got \"single\" (for a list of one, write [single])"}},
		{"number for a list", "name: a\ntags: 12\n", []string{"f.yaml:2:7: tags: must be a list, got \"12\" (for a list of one, write [12])"}},
		{"mapping for a list", "name: a\nhosts: {a: b}\n", []string{"f.yaml:2:8: hosts: must be a list, got a mapping"}},
		{"nested position", "name: a\nnested:\n  name: b\n  bogus: 1\n", []string{"f.yaml:4:3: nested.bogus: unknown field"}},
		{"second document", "name: a\n---\nname: b\n", []string{"f.yaml:2:1: a second YAML document"}},
		{"syntax", "name: [a\n", []string{"f.yaml:", "YAML syntax"}},
		{"empty file", "", []string{"the file is empty"}},
		{"NUL", "name: \"a\\0b\"\n", []string{"must not contain a NUL character"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v sample
			_, err := Decode("f.yaml", []byte(tt.in), &v)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	in := `defaults: &d
  port: 22
  on: true
name: web
<<: *d
wait: 90s
hosts: single
tags: [a]
labels: {a: "1"}
nested: {name: inner, port: 0777}
`
	var full struct {
		Defaults struct {
			Port int  `yaml:"port"`
			On   bool `yaml:"on"`
		} `yaml:"defaults"`
		Sample `yaml:",inline"`
	}
	doc, err := Decode("f.yaml", []byte(in), &full)
	if err != nil {
		t.Fatal(err)
	}
	if full.Port != 22 || !full.On || full.Wait != 90*time.Second || len(full.Hosts) != 1 || full.Hosts[0] != "single" {
		t.Errorf("decoded %+v", full.Sample)
	}
	if full.Nested == nil || full.Nested.Port != 777 {
		t.Errorf("nested: %+v (0777 is read as the decimal text it is)", full.Nested)
	}
	if p := doc.Pos("nested.name"); p.Line != 10 || p.Col != 16 {
		t.Errorf("position of nested.name = %v", p)
	}
	if p := doc.Pos("hosts[3]"); p.Line != 7 {
		t.Errorf("a missing path falls back to its parent: %v", p)
	}
}

type tree struct {
	Name string `yaml:"name"`
	Kids []tree `yaml:"kids"`
}

func TestAliasLimits(t *testing.T) {
	// Nine levels of ten: a billion nodes from a few hundred bytes. The
	// walk stops inside l3 (a thousand values, nearly all through aliases).
	var b strings.Builder
	b.WriteString("l0: &l0 {name: lol}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {kids: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("top: *l9\n")
	var v map[string]tree
	allocs := testing.AllocsPerRun(1, func() {
		_, err := Decode("f.yaml", []byte(b.String()), &v)
		if err == nil || !strings.Contains(err.Error(), "f.yaml:4:32: l3.kids[3]: the alias *l2 expands to too many values") {
			t.Errorf("error: %v", err)
		}
	})
	if allocs > 200000 {
		t.Errorf("refusing a billion laughs took %.0f allocations", allocs)
	}

	var r map[string]tree
	_, err := Decode("f.yaml", []byte("a: &a {name: x, kids: [*a]}\n"), &r)
	if err == nil || !strings.Contains(err.Error(), "f.yaml:1:24: a.kids[0]: the alias *a refers to a value that contains it") {
		t.Errorf("recursive anchor: %v", err)
	}
}

func TestControlCharacters(t *testing.T) {
	type doc struct {
		Name   string            `yaml:"name"`
		Paths  []string          `yaml:"paths" onboard:"one"`
		Labels map[string]string `yaml:"labels"`
		Run    string            `yaml:"run" onboard:"text"`
	}
	tests := []struct {
		name, in, want string // want "" means accepted
	}{
		{"plain name", "name: Ada Lovelace\n", ""},
		{"ESC in a name", "name: \"Ada\\e[2J\"\n", "f.yaml:1:7: name: must not contain a control character (U+001B at character 4 of the value)"},
		{"BEL in a list item", "paths: [/srv/a, \"/srv/\\a\"]\n", "f.yaml:1:17: paths[1]: must not contain a control character (U+0007"},
		{"single string as list", "paths: \"/srv/\\x9b\"\n", "f.yaml:1:8: paths: must not contain a control character (U+009B"},
		{"C1 in a map value", "labels: {a: \"x\\u0085\"}\n", "labels.a: must not contain a control character (U+0085"},
		{"control in a map key", "labels: {\"a\\eb\": x}\n", "f.yaml:1:10: labels: the key \"a\\x1bb\" contains the control character U+001B"},
		{"newline in a name", "name: \"Ada\\nLovelace\"\n", "name: must not contain a line break or tab (U+000A"},
		{"tab in a name", "name: \"Ada\\tL\"\n", "name: must not contain a line break or tab (U+0009"},
		{"bidi override in a name", "name: \"abc\\u202Ecba\"\n", "name: must not contain a control character (U+202E"},
		{"DEL", "name: \"a\\x7f\"\n", "U+007F"},
		{"multi-line command", "run: |\n  echo a\n  \techo b\n", ""},
		{"ESC in a command", "run: \"printf '\\e[2J'\"\n", "f.yaml:1:6: run: must not contain a control character (U+001B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v doc
			_, err := Decode("f.yaml", []byte(tt.in), &v)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
