package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"onboard/internal/inventory"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// The documentation is tested against the program:
//
//   - every `onboard COMMAND --flag` written in README.md and docs/*.md (in
//     code blocks and inline code) names a command that exists and flags
//     that command accepts, and every flag written alone in inline code
//     (`--parallel N`) is a flag of some command;
//   - every ```yaml block validates as the playbook, profile or inventory
//     it shows (told apart by its top-level keys), as `onboard validate`
//     would check it alone (references to hosts or profiles elsewhere are
//     not looked up).
//
// Markers, HTML comments on the line before a block (invisible once
// rendered): <!-- docs-test: partial --> for a snippet that is part of a
// document (it must still be YAML, and when its top-level keys are a
// playbook's or an inventory's it must decode as one, but for the fields
// it leaves out); <!-- docs-test: playbook -->, profile or inventory to
// say what a block is. A line holding <!-- docs-test: not onboard --> is
// not read for commands and flags (a sentence about another tool's
// flags); nor is one holding <!-- docs-test: refused --> (an example of a
// command line onboard refuses), which before a block marks the whole
// block. A flag of one dash and several letters written alone (go test
// -short, PowerShell's -EncodedCommand) is another tool's.

// docFiles are the documents the test reads.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	return append([]string{filepath.Join("..", "..", "README.md")}, files...)
}

// docName is a document's path as a reader knows it.
func docName(path string) string {
	rel, err := filepath.Rel(filepath.Join("..", ".."), path)
	if err != nil {
		return path
	}
	return rel
}

// block is a fenced code block.
type block struct {
	lang   string
	marker string // the docs-test marker before it, if any
	line   int    // of the first line inside
	text   string
}

// mdLine is a line of prose, with the code blocks taken out.
type mdLine struct {
	n    int
	text string
}

var markerRE = regexp.MustCompile(`<!--\s*docs-test:\s*([a-z ]+?)\s*-->`)

// splitMarkdown separates fenced blocks from prose.
func splitMarkdown(text string) (blocks []block, prose []mdLine) {
	lines := strings.Split(text, "\n")
	var cur *block
	var body []string
	marker := ""
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if cur != nil {
			if strings.HasPrefix(trimmed, "```") {
				cur.text = strings.Join(body, "\n") + "\n"
				blocks = append(blocks, *cur)
				cur, body = nil, nil
				continue
			}
			body = append(body, l)
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			cur = &block{lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), marker: marker, line: i + 2}
			continue
		}
		if m := markerRE.FindStringSubmatch(l); m != nil {
			marker = m[1]
		} else if trimmed != "" {
			marker = ""
		}
		prose = append(prose, mdLine{i + 1, l})
	}
	return blocks, prose
}

var inlineCodeRE = regexp.MustCompile("`([^`]+)`")

// findCommand walks the command tree along args, as cobra would.
func findChild(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

// lookupFlag finds a flag of c by its long name or shorthand.
func lookupFlag(c *cobra.Command, name string, short bool) *pflag.Flag {
	for _, fs := range []*pflag.FlagSet{c.Flags(), c.InheritedFlags(), c.PersistentFlags()} {
		if short {
			if f := fs.ShorthandLookup(name); f != nil {
				return f
			}
		} else if f := fs.Lookup(name); f != nil {
			return f
		}
	}
	if !short && (name == "help") || short && name == "h" {
		return &pflag.Flag{Name: "help", Value: boolValue{}, NoOptDefVal: "true"}
	}
	return nil
}

type boolValue struct{}

func (boolValue) String() string   { return "false" }
func (boolValue) Set(string) error { return nil }
func (boolValue) Type() string     { return "bool" }

// takesValue reports whether a flag reads the next word as its value.
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

var (
	commandWordRE  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	shellCommentRE = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	shellStopRE    = regexp.MustCompile(`^(\||\|\||&&|;|&|>|>>|<|2>|2>&1|#.*)$`)
)

// isOnboard reports whether a word runs onboard: onboard, bin/onboard,
// ./bin/onboard, /usr/local/bin/onboard (not /etc/onboard).
func isOnboard(w string) bool {
	dir, base := filepath.Split(w)
	if base != "onboard" {
		return false
	}
	dir = strings.TrimSuffix(dir, "/")
	return dir == "" || dir == "." || filepath.Base(dir) == "bin"
}

// checkInvocations finds `onboard ...` in text and checks the command and
// its flags against root; problems are returned as messages.
func checkInvocations(root *cobra.Command, text string) []string {
	// A shell comment is words about onboard, not a command line.
	text = shellCommentRE.ReplaceAllString(text, "")
	text = strings.NewReplacer(`\|`, " ", "[", " ", "]", " ", "(", " ", ")", " ", "…", " ").Replace(text)
	words := strings.Fields(text)
	var problems []string
	for i := 0; i < len(words); i++ {
		if !isOnboard(words[i]) {
			continue
		}
		c := root
		path := "onboard"
		positional := false
	args:
		for i++; i < len(words); i++ {
			w := strings.TrimRight(words[i], ",.:;")
			switch {
			case shellStopRE.MatchString(words[i]) || strings.HasSuffix(words[i], ";"):
				break args
			case w == "--" || w == "-" || w == "":
				continue
			case strings.HasPrefix(w, "$"), strings.Contains(w, "..."):
				positional = true // a variable or a placeholder: an argument
			case strings.HasPrefix(w, "--"):
				name, _, hasValue := strings.Cut(w[2:], "=")
				f := lookupFlag(c, name, false)
				if f == nil {
					problems = append(problems, fmt.Sprintf("%s has no flag --%s", path, name))
					continue
				}
				if takesValue(f) && !hasValue {
					i++
				}
			case strings.HasPrefix(w, "-") && len(w) > 1:
				letters := w[1:]
				if len(letters) > 1 && strings.Count(letters, letters[:1]) != len(letters) {
					f := lookupFlag(c, letters[:1], true)
					if f == nil || !takesValue(f) {
						problems = append(problems, fmt.Sprintf("%s: %s is not a flag (one dash takes one letter: --%s?)", path, w, letters))
						continue
					}
				}
				f := lookupFlag(c, letters[:1], true)
				if f == nil {
					problems = append(problems, fmt.Sprintf("%s has no flag -%s", path, letters[:1]))
					continue
				}
				if takesValue(f) && len(letters) == 1 {
					i++
				}
			default:
				if positional || !commandWordRE.MatchString(w) {
					positional = true
					continue
				}
				if sub := findChild(c, w); sub != nil {
					c, path = sub, path+" "+w
					continue
				}
				// A lower-case word where a command may stand is a command
				// name to a reader: onboard takes paths (with / or a .yaml
				// ending) and upper-case placeholders as its arguments.
				if c.HasSubCommands() {
					problems = append(problems, fmt.Sprintf("%s has no command %q", path, w))
				}
				positional = true
			}
		}
	}
	return problems
}

// allFlags is every long flag and shorthand of the tree.
func allFlags(root *cobra.Command) map[string]bool {
	names := map[string]bool{"--help": true, "-h": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				names["--"+f.Name] = true
				if f.Shorthand != "" {
					names["-"+f.Shorthand] = true
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}

// skipLine reports a line marked as another tool's words, or as an
// example of a command line onboard refuses (<!-- docs-test: refused -->,
// on the line, or before a code block for the whole block).
func skipLine(s string) bool {
	return strings.Contains(s, "docs-test: not onboard") || strings.Contains(s, "docs-test: refused")
}

// docsRoot is the command tree with the flags cobra adds when it runs
// (--help, and --version on the root).
func docsRoot() *cobra.Command {
	root := newRoot(strings.NewReader(""), io.Discard, io.Discard)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	return root
}

func TestDocsNameRealCommandsAndFlags(t *testing.T) {
	root := docsRoot()
	flags := allFlags(root)
	for _, path := range docFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blocks, prose := splitMarkdown(string(data))
		report := func(line int, problems []string) {
			for _, p := range problems {
				t.Errorf("%s:%d: %s", docName(path), line, p)
			}
		}
		for _, b := range blocks {
			if b.lang != "" && b.lang != "sh" && b.lang != "bash" && b.lang != "console" && b.lang != "shell" {
				continue
			}
			if b.marker == "refused" || b.marker == "not onboard" {
				continue
			}
			// Continued lines are one command.
			lines := strings.Split(strings.ReplaceAll(b.text, "\\\n", "  \n"), "\n")
			joined := ""
			start := 0
			for i, l := range lines {
				if joined == "" {
					start = i
				}
				joined += l
				if strings.HasSuffix(l, "  ") && i+1 < len(lines) {
					continue
				}
				if !skipLine(joined) {
					report(b.line+start, checkInvocations(root, joined))
				}
				joined = ""
			}
		}
		for _, l := range prose {
			if skipLine(l.text) {
				continue
			}
			for _, m := range inlineCodeRE.FindAllStringSubmatch(l.text, -1) {
				code := m[1]
				report(l.n, checkInvocations(root, code))
				// A flag written alone is a flag of some command.
				if w := strings.Fields(code); len(w) > 0 && strings.HasPrefix(w[0], "-") && !strings.Contains(l.text, "onboard "+code) {
					name, _, _ := strings.Cut(strings.TrimRight(w[0], ",.;:"), "=")
					for _, n := range strings.Split(name, "/") { // -v/-vv
						if strings.HasPrefix(n, "-") && !strings.HasPrefix(n, "--") && len(n) > 2 {
							if strings.Count(n[1:], n[1:2]) != len(n)-1 {
								continue // another tool's -flag
							}
							n = n[:2] // -vv is -v twice
						}
						if n != "" && n != "-" && n != "--" && !flags[n] {
							t.Errorf("%s:%d: no command has the flag %s", docName(path), l.n, n)
						}
					}
				}
			}
		}
	}
}

// The parser of invocations itself: what it accepts and refuses.
func TestCheckInvocations(t *testing.T) {
	root := docsRoot()
	tests := []struct {
		text string
		want string // "" when accepted
	}{
		{"onboard plan examples/new-hire.yaml", ""},
		{"bin/onboard -i inventory --parallel 10 -o json examples/batch/ > events.jsonl", ""},
		{"onboard history [--hire ID] [--host H] [--since DATE] [--outcome failed]", ""},
		{"onboard schema [playbook\\|profile\\|inventory]", ""},
		{"onboard journal verify --expect-head SEQ:HASH", ""},
		{"onboard plan -vv examples/", ""},
		{"onboard --version", ""},
		{"make build   # or: bin/onboard and bin/onboard-lab here", ""},
		{"onboard plan --out plan.json x.yaml && onboard apply plan.json", ""},
		{"onboard vaildate x.yaml", `onboard has no command "vaildate"`},
		{"onboard journal frobnicate", `onboard journal has no command "frobnicate"`},
		{"onboard plan --frobnicate x.yaml", "onboard plan has no flag --frobnicate"},
		{"onboard validate --parallel 3", "onboard validate has no flag --parallel"},
		{"onboard plan -x a.yaml", "onboard plan has no flag -x"},
		{"onboard plan -detailed-exitcode a.yaml", "onboard plan: -detailed-exitcode is not a flag (one dash takes one letter: --detailed-exitcode?)"},
		{"mkdir -p /etc/onboard /var/lib/onboard", ""},
	}
	for _, tt := range tests {
		got := strings.Join(checkInvocations(root, tt.text), "; ")
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.text, got, tt.want)
		}
	}
}

// kinds of documents, by their top-level keys.
var (
	inventoryKeys = map[string]bool{"groups": true, "hosts": true, "printers": true, "software": true, "directories": true, "playbooks": true, "hr": true, "notify": true, "helpdesk": true, "check_sets": true}
	profileKeys   = map[string]bool{"description": true, "groups": true, "software": true, "printers": true, "default_printer": true, "checks": true, "manual": true, "join_ou": true, "notify": true, "first_login": true, "check_sets": true}
)

// kindOf tells a playbook, a profile and an inventory file apart.
func kindOf(b block) (string, error) {
	switch b.marker {
	case "playbook", "profile", "inventory":
		return b.marker, nil
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(b.text), &top); err != nil {
		return "", err
	}
	if _, ok := top["person"]; ok {
		return "playbook", nil
	}
	inv, prof := true, true
	for k, v := range top {
		// An inventory's sections are mappings; a profile's groups,
		// software and printers are lists.
		inv = inv && inventoryKeys[k] && v.Kind == yaml.MappingNode
		prof = prof && profileKeys[k] && !(k == "groups" && v.Kind == yaml.MappingNode)
	}
	switch {
	case inv && len(top) > 0:
		return "inventory", nil
	case prof && len(top) > 0:
		return "profile", nil
	}
	return "", fmt.Errorf("cannot tell whether it is a playbook, a profile or an inventory: mark it <!-- docs-test: KIND --> or <!-- docs-test: partial -->")
}

func TestDocsYAMLExamplesValidate(t *testing.T) {
	n := 0
	// The inventory examples of all documents are one inventory, each a
	// file of it, as an inventory folder is: a host names a group, a rule
	// a directory, of another example.
	invDir := t.TempDir()
	invFiles := map[string]string{} // temporary file -> document
	for _, path := range docFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blocks, _ := splitMarkdown(string(data))
		name := docName(path)
		for _, b := range blocks {
			if b.lang != "yaml" && b.lang != "yml" {
				continue
			}
			n++
			// Blank lines before the block make every error's line the
			// document's own.
			text := strings.Repeat("\n", b.line-1) + b.text
			if b.marker == "partial" {
				if err := decodePartial(name, text); err != nil {
					t.Errorf("%s:%d: the partial example does not decode:\n%v", name, b.line, err)
				}
				continue
			}
			kind, err := kindOf(b)
			if err != nil {
				t.Errorf("%s:%d: %v", name, b.line, err)
				continue
			}
			if kind == "inventory" {
				f := filepath.Join(invDir, fmt.Sprintf("%s-%04d.yaml", strings.ReplaceAll(name, "/", "_"), b.line))
				if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				invFiles[f] = name
				continue
			}
			if err := validateExample(t, name, kind, text); err != nil {
				t.Errorf("%s:%d: the %s example does not validate:\n%v", name, b.line, kind, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no YAML examples found")
	}
	if len(invFiles) == 0 {
		t.Fatal("no inventory examples found")
	}
	if _, err := inventory.Load(invDir); err != nil {
		msg := err.Error()
		for f, doc := range invFiles {
			msg = strings.ReplaceAll(msg, f, doc)
		}
		t.Errorf("the inventory examples, loaded together, do not validate:\n%s", msg)
	}
}

// validateExample checks a playbook or profile example as onboard
// validate would check it alone: errors name the document (and its lines).
func validateExample(t *testing.T, doc, kind, text string) error {
	if kind == "playbook" {
		_, err := playbook.Parse(doc, []byte(text))
		return err
	}
	file := filepath.Join(t.TempDir(), "profiles", "example.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, err := playbook.LoadProfile(file)
	if err == nil {
		err = lintProfile(pr)
	}
	if err == nil {
		return nil
	}
	return errors.New(strings.ReplaceAll(err.Error(), file, doc))
}

// yamlFields are the top-level field names of a document type.
func yamlFields(v any) map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); n != "" && n != "-" {
			names[n] = true
		}
	}
	return names
}

// decodePartial decodes a snippet strictly as the document its top-level
// keys belong to, leaving out only the errors of fields it does not
// write; a snippet of anything else must be YAML.
func decodePartial(doc, text string) error {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(text), &top); err != nil {
		var v any
		return yaml.Unmarshal([]byte(text), &v)
	}
	within := func(fields map[string]bool) bool {
		for k := range top {
			if !fields[k] {
				return false
			}
		}
		return len(top) > 0
	}
	// The first kind whose fields hold every key and that decodes wins: a
	// playbook's notify is a list of rules, an inventory's a mapping.
	candidates := []struct {
		fields map[string]bool
		v      any
	}{
		{yamlFields(playbook.Playbook{}), &playbook.Playbook{}},
		{yamlFields(playbook.Machine{}), &playbook.Machine{}},
		{inventoryKeys, &inventory.File{}},
	}
	var first error
	tried := false
	for _, c := range candidates {
		if !within(c.fields) {
			continue
		}
		tried = true
		_, err := strictyaml.Decode(doc, []byte(text), c.v)
		err = dropRequired(err)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if !tried {
		return nil
	}
	return first
}

// dropRequired leaves out "is required" errors: a partial example may
// leave out what its document needs.
func dropRequired(err error) error {
	var me *multierror.Error
	if !errors.As(err, &me) {
		return err
	}
	var kept []error
	for _, e := range me.Errors {
		if !strings.HasSuffix(e.Error(), ": is required") {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &multierror.Error{Errors: kept, ErrorFormat: strictyaml.ListFormat}
}

// Examples are told apart by their keys, and a partial one is still
// decoded strictly where its keys say what it is part of.
func TestDocsExampleKinds(t *testing.T) {
	kinds := []struct{ text, want string }{
		{"person: {employee_id: E1}\n", "playbook"},
		{"hosts: {ws1: {address: 10.0.0.1}}\n", "inventory"},
		{"groups: {all: {}}\n", "inventory"},
		{"groups: [a]\nsoftware: [b]\n", "profile"},
		{"account: {directory: x}\n", ""},
	}
	for _, k := range kinds {
		got, err := kindOf(block{text: k.text})
		if got != k.want || (k.want == "") != (err != nil) {
			t.Errorf("kindOf(%q) = %q, %v; want %q", k.text, got, err, k.want)
		}
	}
	partials := []struct{ text, want string }{
		{"account: {directory: corp-ad, adopt: true}\n", ""},
		{"account: {directory: corp-ad, adopt: yes-please}\n", "account.adopt: must be true or false"},
		{"directories: {corp-ad: {allow_attributes: [seeAlso]}}\n", ""},
		{"directories: {corp-ad: {alow_attributes: [seeAlso]}}\n", "unknown field (did you mean \"allow_attributes\"?)"},
		{"commands:\n  - name: x\n    run: true\n    creates: /x\n", ""},
		{"commands:\n  - name: x\n    rnu: true\n", "commands[0].rnu: unknown field"},
		{"anything: [1, 2]\n", ""},
		{"not: [yaml\n", "did not find expected"},
	}
	for _, p := range partials {
		err := decodePartial("doc.md", p.text)
		switch {
		case p.want == "" && err != nil:
			t.Errorf("decodePartial(%q): %v", p.text, err)
		case p.want != "" && (err == nil || !strings.Contains(err.Error(), p.want)):
			t.Errorf("decodePartial(%q) = %v, want %q", p.text, err, p.want)
		}
	}
}
