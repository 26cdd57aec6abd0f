package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"onboard/internal/inventory"
	"onboard/internal/playbook"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

var update = flag.Bool("update", false, "rewrite the golden schemas in testdata/")

func TestGolden(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			got, err := JSON(name)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".schema.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/schema -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from JSON(%q); if the change is intended, run go test ./internal/schema -update and review the diff", path, name)
			}
		})
	}
}

// docs/NAME.schema.json, which playbooks point editors at, is what the
// code makes (make schema writes it).
func TestDocsUpToDate(t *testing.T) {
	for _, name := range Names() {
		path := filepath.Join("..", "..", "docs", name+".schema.json")
		docs, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := JSON(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace(docs), got) {
			t.Errorf("%s is out of date: run make schema", path)
		}
	}
}

func TestUnknownName(t *testing.T) {
	_, err := JSON("playbooks")
	if err == nil {
		t.Fatal("no error for an unknown schema name")
	}
	for _, n := range []string{"playbook", "profile", "inventory"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %q", err, n)
		}
	}
}

// Every description and rule names a field or type that exists, so none
// is left behind when a field is renamed or removed.
func TestNoStaleEntries(t *testing.T) {
	used := map[string]bool{}
	for _, f := range formats {
		_, g := generate(f)
		if err := g.err(); err != nil {
			t.Error(err)
		}
		for k := range g.used {
			used[k] = true
		}
	}
	for k := range descriptions {
		if !used[k] {
			t.Errorf("descriptions[%q] describes no field", k)
		}
	}
	for k := range fieldRules {
		if !used["rule "+k] {
			t.Errorf("fieldRules[%q] names no field", k)
		}
	}
	for k := range typeRules {
		if !used["rule "+k] {
			t.Errorf("typeRules[%q] names no type", k)
		}
	}
}

// The schema's enumerations are the values the inventory's checks accept.
func TestEnumsMatchInventory(t *testing.T) {
	doc, err := strictyaml.Decode("x.yaml", []byte("{}"), &inventory.File{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field  string
		values []string
		set    func(*inventory.HostFields, string)
	}{
		{"os", osNames, func(h *inventory.HostFields, v string) { h.OS = v }},
		{"transport", transportNames, func(h *inventory.HostFields, v string) { h.Transport = v }},
		{"auth", authNames, func(h *inventory.HostFields, v string) { h.Auth = v }},
		{"become", becomeNames, func(h *inventory.HostFields, v string) { h.Become = v }},
		{"package_manager", managerNames, func(h *inventory.HostFields, v string) { h.PackageManager = v }},
	} {
		for _, v := range append(slices.Clone(c.values), "bogus") {
			var h inventory.HostFields
			c.set(&h, v)
			errs := inventory.CheckHostFields(doc, "host", h)
			if ok := len(errs) == 0; ok != (v != "bogus") {
				t.Errorf("%s: %q: inventory says %v, the schema says %v", c.field, v, errs, v != "bogus")
			}
		}
	}
	for _, m := range append(slices.Clone(managerNames), "bogus") {
		path := filepath.Join(t.TempDir(), "inv.yaml")
		// Windows managers are checked in a windows entry, with what an MSI needs.
		osName := "linux"
		if m == "msi" || m == "winget" || m == "choco" {
			osName = "windows"
		}
		data := fmt.Sprintf("software:\n  x:\n    %s: {manager: %s, package: x, install: x, is_installed: x, source: x.msi, product_code: '{12345678-1234-1234-1234-123456789012}'}\n", osName, m)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := inventory.Load(path)
		if ok := err == nil; ok != (m != "bogus") {
			t.Errorf("manager %q: inventory says %v, the schema says %v", m, err, m != "bogus")
		}
	}
}

// The samples in testdata/valid are accepted by the schema and by onboard.
func TestValidSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	schemas := compileAll(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			kind := kindOf(t, path)
			if err := validate(schemas[kind], path); err != nil {
				t.Errorf("schema rejects it:\n%v", err)
			}
			if err := load(kind, path); err != nil {
				t.Errorf("onboard rejects it:\n%v", err)
			}
		})
	}
}

// The samples in testdata/invalid are refused by both, for the reason their
// "# want-schema:" and "# want-decoder:" lines name.
func TestInvalidSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no samples")
	}
	schemas := compileAll(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			kind := kindOf(t, path)
			want := wants(t, path)
			if want["schema"] == "" || want["decoder"] == "" {
				t.Fatal("the sample needs # want-schema: and # want-decoder: lines")
			}
			if err := validate(schemas[kind], path); err == nil {
				t.Error("schema accepts it")
			} else if !strings.Contains(err.Error(), want["schema"]) {
				t.Errorf("schema error does not mention %q:\n%v", want["schema"], err)
			}
			if err := load(kind, path); err == nil {
				t.Error("onboard accepts it")
			} else if !strings.Contains(err.Error(), want["decoder"]) {
				t.Errorf("onboard's error does not mention %q:\n%v", want["decoder"], err)
			}
		})
	}
}

// Every document elsewhere in the repository that onboard accepts, the
// schema accepts too: an editor must not flag a file onboard takes.
func TestRepositoryDocuments(t *testing.T) {
	schemas := compileAll(t)
	root := filepath.Join("..", "..")
	glob := func(patterns ...string) []string {
		var out []string
		for _, p := range patterns {
			m, _ := filepath.Glob(filepath.Join(root, p))
			out = append(out, m...)
		}
		return out
	}
	n := 0
	check := func(kind, path string, loaded error) {
		n++
		if loaded != nil {
			t.Logf("%s: onboard rejects it, skipped", path)
			return
		}
		if err := validate(schemas[kind], path); err != nil {
			t.Errorf("%s: onboard accepts it, the %s schema does not:\n%v", path, kind, err)
		}
	}
	for _, p := range glob("examples/*.yaml", "examples/*/*.yaml", "internal/planner/testdata/valid/*.yaml", "internal/planner/testdata/invalid/*.yaml") {
		check("playbook", p, load("playbook", p))
	}
	for _, p := range glob("playbooks/profiles/*.yaml", "internal/planner/testdata/profiles/*.yaml") {
		check("profile", p, load("profile", p))
	}
	// Inventory files refer to each other (hosts to groups): load each
	// inventory whole.
	for _, dir := range glob("inventory", "internal/planner/testdata/inventory") {
		_, err := inventory.Load(dir)
		for _, p := range glob(strings.TrimPrefix(dir, root+string(filepath.Separator)) + "/*.yaml") {
			check("inventory", p, err)
		}
	}
	for _, p := range glob("internal/lab/testdata/inventory.golden.yaml") {
		check("inventory", p, load("inventory", p))
	}
	if n == 0 {
		t.Fatal("no documents found in the repository")
	}
}

// What the test helpers know of each format.

func kindOf(t *testing.T, path string) string {
	kind, _, _ := strings.Cut(filepath.Base(path), "-")
	if !slices.Contains(Names(), kind) {
		t.Fatalf("%s: name samples KIND-what.yaml, KIND one of %v", path, Names())
	}
	return kind
}

// wants reads the "# want-KEY: text" lines at the top of a sample.
func wants(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "# want-")
		if !ok {
			break
		}
		k, v, _ := strings.Cut(line, ":")
		w[k] = strings.TrimSpace(v)
	}
	return w
}

// load reads a document with onboard's own loaders, checks included.
func load(kind, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	switch kind {
	case "playbook":
		_, err = playbook.Parse(path, data)
	case "profile":
		_, err = playbook.LoadProfile(path)
	case "inventory":
		if _, err := strictyaml.Decode(path, data, &inventory.File{}); err != nil {
			return err
		}
		_, err = inventory.Load(path)
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	return err
}

func compileAll(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	out := map[string]*jsonschema.Schema{}
	for _, name := range Names() {
		b, err := JSON(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		id := IDBase + name + ".schema.json"
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		// Compiling also validates the schema against the 2020-12 meta-schema.
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("%s schema: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// validate checks a YAML document against a schema, reading the YAML as
// an editor does: plain data, anchors and merge keys resolved.
func validate(s *jsonschema.Schema, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return err
	}
	v, err := plain(&root)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// plain turns YAML into JSON data. Timestamps stay text, as they do for
// onboard and for editors (YAML 1.2 has no timestamps).
func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := plain(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		merged := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			v, err := plain(val)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				srcs := []any{v}
				if l, ok := v.([]any); ok {
					srcs = l
				}
				for _, s := range srcs {
					m, ok := s.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("line %d: a merge key must refer to a mapping", k.Line)
					}
					for mk, mv := range m {
						if _, seen := merged[mk]; !seen {
							merged[mk] = mv
						}
					}
				}
				continue
			}
			out[k.Value] = v
		}
		for mk, mv := range merged {
			if _, ok := out[mk]; !ok {
				out[mk] = mv
			}
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			err := n.Decode(&v)
			return v, err
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// Editors validate with draft-07 semantics (VS Code's YAML extension), so
// the schemas use only keywords that mean the same there and in 2020-12.
func TestEditorKeywords(t *testing.T) {
	allowed := map[string]bool{}
	for _, k := range keyOrder {
		allowed[k] = true
	}
	allowed["const"] = true
	for _, name := range Names() {
		b, err := JSON(name)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var walk func(v any, at string, isSchema bool)
		walk = func(v any, at string, isSchema bool) {
			switch v := v.(type) {
			case map[string]any:
				for k, c := range v {
					switch {
					case !isSchema: // a map of schemas: properties
						walk(c, at+"/"+k, true)
					case !allowed[k]:
						t.Errorf("%s%s: keyword %q is not in keyOrder", name, at, k)
					case k == "properties":
						walk(c, at+"/"+k, false)
					case k == "items", k == "additionalProperties", k == "propertyNames", k == "not", k == "if", k == "then", k == "else", k == "anyOf", k == "oneOf":
						walk(c, at+"/"+k, true)
					}
				}
			case []any:
				for i, c := range v {
					walk(c, fmt.Sprintf("%s/%d", at, i), isSchema)
				}
			}
		}
		walk(v, "", true)
	}
}

func TestDurationPattern(t *testing.T) {
	re := regexp.MustCompile(durationPattern)
	for _, s := range []string{
		"90s", "5m", "1h30m", "1.5h", ".5s", "1.s", "+5s", "1µs", "1μs", "1us", "5ms", "250ns", "0h1m", "1h0m0s",
		"0s", "0.0s", "00m", "-5s", "5", "5 s", "forever", "1d", "", "s", "1h-1m",
	} {
		d, err := time.ParseDuration(s)
		decoder := err == nil && d > 0
		if schema := re.MatchString(s); schema != decoder {
			t.Errorf("%q: the decoder says %v, the schema pattern %v", s, decoder, schema)
		}
	}
}

func TestReferencePattern(t *testing.T) {
	re := regexp.MustCompile(refPattern)
	for _, s := range []string{"env:KEY", "file:keys/id", "cmd:pass show x", "env:", "env: ", "hunter2", "ENV:KEY", "file:  /x"} {
		onboard := secret.Ref(s).Validate() == nil
		if schema := re.MatchString(s); schema != onboard {
			t.Errorf("%q: onboard says %v, the schema pattern %v", s, onboard, schema)
		}
	}
}

func TestDatePattern(t *testing.T) {
	re := regexp.MustCompile(datePattern)
	// Every date onboard takes matches; the pattern cannot know month
	// lengths, so it also takes 2026-02-30, which onboard refuses.
	for _, s := range []string{"2026-12-01", "2024-02-29", "2026-01-31", "2027-10-09"} {
		if _, err := time.Parse("2006-01-02", s); err != nil || !re.MatchString(s) {
			t.Errorf("%q: onboard's error %v, matches the pattern: %v", s, err, re.MatchString(s))
		}
	}
	for _, s := range []string{"2026-13-01", "2026-00-10", "2026-1-5", "26-12-01", "2026-12-32", "2026-12-01T00:00:00Z", "01/12/2026"} {
		if _, err := time.Parse("2006-01-02", s); err == nil || re.MatchString(s) {
			t.Errorf("%q: onboard's error %v, matches the pattern: %v", s, err, re.MatchString(s))
		}
	}
}
