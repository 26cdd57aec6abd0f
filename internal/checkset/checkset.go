// Package checkset holds named, versioned sets of checks: the security
// baseline onboard ships, and the sets an inventory defines on top of it
// (extends, override and remove by check name).
package checkset

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// Def is a check set as written: in the shipped baseline.yaml, or as one
// entry of an inventory's check_sets.
type Def struct {
	Description string `yaml:"description"`
	Version     int    `yaml:"version" onboard:"required"`
	// Extends names the set this one builds on, with its version pinned
	// ("baseline@1"): its checks are taken over, a check of the same name
	// here replaces the parent's, and Remove drops checks by name.
	Extends string           `yaml:"extends"`
	Checks  []playbook.Check `yaml:"checks"`
	Remove  []string         `yaml:"remove"`
}

// Set is a resolved check set: every check it runs, in order.
type Set struct {
	Name        string
	Version     int
	Description string
	Checks      []playbook.Check
}

// Ref is "NAME@VERSION", how reports name the set.
func (s *Set) Ref() string { return fmt.Sprintf("%s@%d", s.Name, s.Version) }

//go:embed baseline.yaml
var baselineYAML []byte

//go:embed baseline-windows.yaml
var baselineWindowsYAML []byte

// BaselineFile names the shipped set in errors.
const BaselineFile = "onboard:checkset/baseline.yaml"

// shipped are the sets onboard ships, by name: the file each is read
// from (named so in errors) and its text.
var shipped = map[string]struct {
	file string
	yaml []byte
}{
	"baseline":         {BaselineFile, baselineYAML},
	"baseline-windows": {"onboard:checkset/baseline-windows.yaml", baselineWindowsYAML},
}

// entry is a definition with where it was written, for errors.
type entry struct {
	def  Def
	doc  *strictyaml.Doc
	path string // field path of the definition in doc ("" for a whole file)
}

// Catalogue is every known set: the shipped ones and an inventory's. It is
// safe for concurrent use once its sets are added (plans made in parallel
// by onboard serve share one inventory).
type Catalogue struct {
	mu       sync.Mutex // guards resolved
	defs     map[string]entry
	resolved map[string]*Set
}

// New returns a catalogue holding the sets onboard ships (baseline for
// Linux, baseline-windows for Windows).
func New() *Catalogue {
	c := &Catalogue{defs: map[string]entry{}, resolved: map[string]*Set{}}
	for name, sh := range shipped {
		var d Def
		doc, err := strictyaml.Decode(sh.file, sh.yaml, &d)
		if err == nil {
			if errs := playbook.CheckChecks(doc, "checks", d.Checks); len(errs) > 0 {
				err = errs[0]
			}
		}
		if err != nil {
			// The file is part of the binary and tested: this is a build defect.
			panic(fmt.Sprintf("shipped check set %s: %v", name, err))
		}
		c.defs[name] = entry{def: d, doc: doc}
	}
	return c
}

// OS is the operating system the set's checks run on: "linux" when one
// reads Linux tools (command, file, package, printer), "windows" when
// one asks Windows alone (windows_security), "" when every check runs on
// both (dns, tcp, http, service, user, group).
func (s *Set) OS() string {
	for _, c := range s.Checks {
		switch {
		case c.LinuxOnly():
			return "linux"
		case c.WindowsOnly():
			return "windows"
		}
	}
	return ""
}

// Add records a set defined at path (check_sets.NAME) of doc. A name the
// catalogue already holds (a shipped set included) is an error there.
func (c *Catalogue) Add(name string, d Def, doc *strictyaml.Doc, path string) error {
	if prev, ok := c.defs[name]; ok {
		where := prev.doc.File
		if prev.path != "" {
			where = prev.doc.Pos(prev.path).String()
		}
		return doc.Errorf(path, "check set %s is also defined at %s: extend it under another name (extends: %s@%d)", name, where, name, prev.def.Version)
	}
	c.defs[name] = entry{def: d, doc: doc, path: path}
	return nil
}

// Resolve checks every definition and resolves its extends chain; all
// errors are returned, each at its file:line:column.
func (c *Catalogue) Resolve() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, name := range c.Names() {
		if _, err := c.resolve(name); err != nil {
			errs = append(errs, err...)
		}
	}
	return errs
}

// Names lists the set names, sorted.
func (c *Catalogue) Names() []string {
	var ns []string
	for n := range c.defs {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func (e entry) at(field string) string {
	if e.path == "" {
		return field
	}
	if field == "" {
		return e.path
	}
	return e.path + "." + field
}

// resolve makes the set name, following extends.
func (c *Catalogue) resolve(name string) (*Set, []error) {
	if s, ok := c.resolved[name]; ok {
		return s, nil
	}
	e := c.defs[name]
	d := e.def
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, e.doc.Errorf(e.at(field), format, args...))
	}
	if d.Version < 1 && e.doc.Has(e.at("version")) {
		fail("version", "must be a whole number from 1, got %d", d.Version)
	}
	errs = append(errs, playbook.CheckChecks(e.doc, e.at("checks"), d.Checks)...)
	errs = append(errs, playbook.CheckTemplates(e.doc, e.at("checks"), d.Checks)...)
	set := &Set{Name: name, Version: d.Version, Description: d.Description}
	if d.Extends == "" {
		if len(d.Remove) > 0 {
			fail("remove", "applies only with extends: there is no parent set to remove checks from")
		}
		set.Checks = append(set.Checks, d.Checks...)
	} else {
		parent, perrs := c.parent(e, name)
		if perrs != nil && errs == nil {
			errs = []error{} // failed with its parent, reported there
		}
		errs = append(errs, perrs...)
		if parent != nil {
			set.Checks = merge(parent, d, func(i int, r string) {
				fail(fmt.Sprintf("remove[%d]", i), "%s has no check %q%s", parent.Ref(), r, strictyaml.Suggest(r, checkNames(parent.Checks)))
			})
		}
	}
	if errs == nil {
		// One check for Linux and one for Windows: no host runs the set.
		var lin, win string
		for _, ch := range set.Checks {
			switch {
			case ch.LinuxOnly() && lin == "":
				lin = ch.Name
			case ch.WindowsOnly() && win == "":
				win = ch.Name
			}
		}
		if lin != "" && win != "" {
			fail("", "check set %s mixes Linux and Windows checks (%s reads Linux tools, %s asks Windows): no host can run it; make one set per OS", name, lin, win)
		}
	}
	if errs != nil {
		return nil, errs
	}
	c.resolved[name] = set
	return set, nil
}

// parent resolves the set e extends, checking its pinned version.
func (c *Catalogue) parent(e entry, name string) (*Set, []error) {
	fail := func(format string, args ...any) []error {
		return []error{e.doc.Errorf(e.at("extends"), format, args...)}
	}
	pname, pver, err := playbook.ParseSetRef(e.def.Extends)
	if err != nil {
		return nil, fail("%v", err)
	}
	if _, ok := c.defs[pname]; !ok {
		return nil, fail("unknown check set %q%s", pname, strictyaml.Suggest(pname, c.Names()))
	}
	if pver == 0 {
		// A parent that changes under a set would change what it checks
		// without anyone editing it.
		return nil, fail("must pin the version of the set it extends (%s@%d)", pname, c.defs[pname].def.Version)
	}
	// Follow the chain of extends from here: one that comes back is a
	// cycle, reported at every set on it.
	chain := []string{name}
	for n := pname; n != ""; {
		chain = append(chain, n)
		if n == name {
			return nil, fail("the sets it extends lead back to it: %s", strings.Join(chain, " → "))
		}
		if len(chain) > len(c.defs) {
			return nil, []error{} // a cycle further up, reported there
		}
		n, _, _ = playbook.ParseSetRef(c.defs[n].def.Extends)
	}
	p, perrs := c.resolve(pname)
	if perrs != nil {
		// Reported where the parent is defined; this set fails with it.
		return nil, []error{}
	}
	if p.Version != pver {
		return nil, fail("extends %s@%d, but %s is version %d: review what changed and pin %s@%d", pname, pver, pname, p.Version, pname, p.Version)
	}
	return p, nil
}

// merge is the parent's checks, each replaced by d's check of the same name
// or dropped when d removes it, followed by d's new checks.
func merge(parent *Set, d Def, unknown func(i int, name string)) []playbook.Check {
	own := map[string]playbook.Check{}
	for _, ch := range d.Checks {
		own[ch.Name] = ch
	}
	drop := map[string]bool{}
	have := map[string]bool{}
	for _, ch := range parent.Checks {
		have[ch.Name] = true
	}
	for i, r := range d.Remove {
		if !have[r] {
			unknown(i, r)
		}
		drop[r] = true
	}
	var out []playbook.Check
	for _, ch := range parent.Checks {
		if drop[ch.Name] {
			continue
		}
		if o, ok := own[ch.Name]; ok {
			ch = o
		}
		out = append(out, ch)
	}
	for _, ch := range d.Checks {
		if !have[ch.Name] {
			out = append(out, ch)
		}
	}
	return out
}

func checkNames(cs []playbook.Check) []string {
	var ns []string
	for _, c := range cs {
		ns = append(ns, c.Name)
	}
	return ns
}

// Get returns the resolved set named by ref ("baseline" or "baseline@1").
// A pinned version that is not the set's is an error saying both.
func (c *Catalogue) Get(ref string) (*Set, error) {
	name, ver, err := playbook.ParseSetRef(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := c.defs[name]; !ok {
		return nil, fmt.Errorf("unknown check set %q: the sets are %s%s", name, strings.Join(c.Names(), ", "), strictyaml.Suggest(name, c.Names()))
	}
	c.mu.Lock()
	s, errs := c.resolve(name)
	c.mu.Unlock()
	if errs != nil {
		// Inventory.Load reports each error where it is; this is a
		// catalogue used without resolving it first.
		return nil, fmt.Errorf("check set %s is not valid (%d errors, see onboard validate)", name, len(errs))
	}
	if ver != 0 && ver != s.Version {
		return nil, fmt.Errorf("check set %s is version %d, not %d", name, s.Version, ver)
	}
	return s, nil
}
