// Package kb is the knowledge base of known failures: Markdown articles,
// each with the failure patterns it answers, matched against the failures
// of a run so that a report or a notification carries the known fix.
package kb

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/result"
	"onboard/internal/step"
	"onboard/internal/strictyaml"
)

// Pattern is one kind of failure an article answers. Every field given
// must hold; a pattern gives at least one.
type Pattern struct {
	Kind  string `yaml:"kind" json:"kind,omitempty"`   // step kind, e.g. package
	Phase string `yaml:"phase" json:"phase,omitempty"` // check, apply, verify, connect or handover
	Class string `yaml:"class" json:"class,omitempty"` // error class, e.g. cannot-run
	// Output is a substring (any case) or a /regular expression/ of the
	// failure's message and output.
	Output string `yaml:"output" json:"output,omitempty" onboard:"text"`
	Host   string `yaml:"host" json:"host,omitempty"` // glob of the host name

	re *regexp.Regexp
}

// Article is one known failure and its fix.
type Article struct {
	ID      string    `yaml:"id" onboard:"required"`
	Title   string    `yaml:"title" onboard:"required,text"`
	Link    string    `yaml:"link"`
	Matches []Pattern `yaml:"matches" onboard:"required"`
	// Body is the fix, Markdown: everything after the front matter.
	Body string `yaml:"-"`
	// File is where the article was read from.
	File string `yaml:"-"`
}

// Base is a loaded knowledge base.
type Base struct {
	Articles []Article // in id order
}

// Phases a pattern may name.
var Phases = []string{"check", "apply", "verify", "connect", "handover"}

// Classes a pattern may name.
var Classes = []string{result.ClassCannotRun, result.ClassNotYet}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Load reads every *.md article under dir (recursively). All problems are
// returned together, each at its file, line and column.
func Load(dir string) (*Base, error) {
	var files []string
	err := filepath.WalkDir(dir, func(f string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() && strings.HasSuffix(f, ".md") {
			files = append(files, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	sort.Strings(files)
	b := &Base{}
	var errs *multierror.Error
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("knowledge base: %w", err))
			continue
		}
		a, ferrs := parse(f, data)
		errs = multierror.Append(errs, ferrs...)
		if a == nil {
			continue
		}
		if prev, ok := seen[a.ID]; ok {
			errs = multierror.Append(errs, strictyaml.Errorf(a.idPos, "id", "%q is also the id of %s", a.ID, prev))
			continue
		}
		seen[a.ID] = f
		b.Articles = append(b.Articles, a.Article)
	}
	sort.Slice(b.Articles, func(i, j int) bool { return b.Articles[i].ID < b.Articles[j].ID })
	errs.ErrorFormat = strictyaml.ListFormat
	return b, errs.ErrorOrNil()
}

// parsed is an article with the position of its id, for duplicates.
type parsed struct {
	Article
	idPos strictyaml.Pos
}

// parse reads one article: YAML front matter between "---" lines, then
// the fix. Positions in errors are those of the article file.
func parse(file string, data []byte) (*parsed, []error) {
	at := func(line int, format string, args ...any) []error {
		return []error{strictyaml.Errorf(strictyaml.Pos{File: file, Line: line, Col: 1}, "", format, args...)}
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(data, []byte("---\n")) {
		return nil, at(1, "an article starts with YAML front matter between --- lines (title, id, matches)")
	}
	// The front matter is decoded with its opening "---" (a YAML document
	// start), so that lines and columns are those of the file.
	end, bodyAt, line := -1, 0, 1
	for i := 4; i < len(data); {
		line++
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		if l := strings.TrimRight(string(data[i:next]), "\n"); l == "---" || l == "..." {
			end, bodyAt = i, next
			break
		}
		i = next
	}
	if end < 0 {
		return nil, at(1, "the front matter is not closed: end it with a line ---")
	}
	var a Article
	doc, err := strictyaml.Decode(file, data[:end], &a)
	var errs []error
	if err != nil {
		if me, ok := err.(*multierror.Error); ok {
			errs = append(errs, me.Errors...)
		} else {
			errs = append(errs, err)
		}
	}
	if !doc.Readable() {
		return nil, errs
	}
	a.File = file
	a.Body = strings.TrimSpace(string(data[bodyAt:]))
	if a.Body == "" {
		errs = append(errs, at(line+1, "the article has no fix: write it below the front matter")...)
	}
	if a.ID != "" && !idRE.MatchString(a.ID) {
		errs = append(errs, doc.Errorf("id", "ids are lower-case letters, digits, '.', '_' or '-'"))
	}
	if a.Link != "" {
		// Reports link it: only web addresses, never javascript: or data:.
		if u, err := url.Parse(a.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, doc.Errorf("link", "must be an http:// or https:// address, got %q", a.Link))
		}
	}
	for i := range a.Matches {
		errs = append(errs, a.Matches[i].compile(doc, fmt.Sprintf("matches[%d]", i))...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &parsed{Article: a, idPos: doc.Pos("id")}, nil
}

// compile validates a pattern and prepares its regular expression.
func (p *Pattern) compile(doc *strictyaml.Doc, key string) []error {
	var errs []error
	if (*p == Pattern{}) {
		return []error{doc.Errorf(key, "matches everything: give at least one of kind, phase, class, output, host")}
	}
	if p.Kind != "" {
		if _, ok := step.Kinds[p.Kind]; !ok {
			errs = append(errs, doc.Errorf(key+".kind", "unknown step kind %q%s", p.Kind, strictyaml.Suggest(p.Kind, kinds())))
		}
	}
	if p.Phase != "" && !contains(Phases, p.Phase) {
		errs = append(errs, doc.Errorf(key+".phase", "unknown phase %q (one of %s)", p.Phase, strings.Join(Phases, ", ")))
	}
	if p.Class != "" && !contains(Classes, p.Class) {
		errs = append(errs, doc.Errorf(key+".class", "unknown error class %q (one of %s)", p.Class, strings.Join(Classes, ", ")))
	}
	if expr, ok := regexpOf(p.Output); ok {
		re, err := regexp.Compile(expr)
		if err != nil {
			errs = append(errs, doc.Errorf(key+".output", "bad regular expression: %v", err))
		}
		p.re = re
	}
	if p.Host != "" {
		if _, err := path.Match(p.Host, ""); err != nil {
			errs = append(errs, doc.Errorf(key+".host", "bad glob %q: %v", p.Host, err))
		}
	}
	return errs
}

// regexpOf returns the expression of an output written /like this/.
func regexpOf(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' {
		return s[1 : len(s)-1], true
	}
	return "", false
}

func kinds() []string {
	var ks []string
	for k := range step.Kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// score is how specific the pattern is when it matches the failure (the
// number of fields that hold, the output counting twice: the text is the
// strongest evidence), or 0 when it does not match.
func (p *Pattern) score(f *result.Failure, kind string) int {
	n := 0
	for _, c := range []struct{ want, got string }{{p.Kind, kind}, {p.Phase, f.Phase}, {p.Class, f.Class}} {
		if c.want == "" {
			continue
		}
		if c.want != c.got {
			return 0
		}
		n++
	}
	if p.Host != "" {
		if ok, _ := path.Match(p.Host, f.Host); !ok {
			return 0
		}
		n++
	}
	if p.Output != "" {
		text := f.Message
		if f.Output != "" {
			text += "\n" + f.Output
		}
		if p.re != nil {
			if !p.re.MatchString(text) {
				return 0
			}
		} else if !strings.Contains(strings.ToLower(text), strings.ToLower(p.Output)) {
			return 0
		}
		n += 2
	}
	return n
}

// Match returns the articles that answer a failure of a step of the given
// kind, the most specific first (ties in id order).
func (b *Base) Match(f *result.Failure, kind string) []Article {
	if b == nil || f == nil {
		return nil
	}
	type hit struct {
		a     Article
		score int
	}
	var hits []hit
	for _, a := range b.Articles {
		best := 0
		for i := range a.Matches {
			best = max(best, a.Matches[i].score(f, kind))
		}
		if best > 0 {
			hits = append(hits, hit{a, best})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	out := make([]Article, len(hits))
	for i, h := range hits {
		out[i] = h.a
	}
	return out
}

// Fix is the article's first paragraph that is not a heading: what a
// report or a notification shows; the whole body is in the article.
func (a Article) Fix() string {
	for _, para := range strings.Split(a.Body, "\n\n") {
		para = strings.TrimSpace(para)
		if para != "" && !strings.HasPrefix(para, "#") {
			return para
		}
	}
	return ""
}

// Known is the article as a failure carries it.
func (a Article) Known() *result.Known {
	return &result.Known{ID: a.ID, Title: a.Title, Fix: a.Fix(), Link: a.Link}
}

// Annotate sets Known on every failure of the run (steps and handover
// re-checks) to the best matching article, and clears it where none
// matches.
func (b *Base) Annotate(run *result.Run) {
	if b == nil || run == nil {
		return
	}
	for _, list := range [][]result.Step{run.Steps, run.Handover} {
		for i := range list {
			f := list[i].Failure
			if f == nil {
				continue
			}
			f.Known = nil
			if m := b.Match(f, list[i].Kind); len(m) > 0 {
				f.Known = m[0].Known()
			}
		}
	}
}
