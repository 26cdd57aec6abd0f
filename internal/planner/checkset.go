package planner

import (
	"fmt"
	"sort"

	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// setCheck is one check a check set gives a hire, with the reference that
// named the set (for errors) and the set's "NAME@VERSION".
type setCheck struct {
	check playbook.Check
	set   string
	doc   *strictyaml.Doc
	path  string
}

// setChecks resolves the check sets the profile and the playbook name, in
// that order (a set named by both runs once). A check whose name another
// check of the hire already has is an error at the reference: a waiver
// must name exactly one check.
func (b *builder) setChecks(pb *playbook.Playbook, pr *playbook.Profile, names map[string]bool) []setCheck {
	var out []setCheck
	seen := map[string]bool{}
	add := func(doc *strictyaml.Doc, refs []string) {
		for i, ref := range refs {
			path := fmt.Sprintf("check_sets[%d]", i)
			set, err := b.inv.CheckSets.Get(ref)
			if err != nil {
				b.fail(doc.Errorf(path, "%v", err))
				continue
			}
			if seen[set.Name] {
				continue
			}
			seen[set.Name] = true
			for _, c := range set.Checks {
				if names[c.Name] {
					b.fail(doc.Errorf(path, "check set %s has a check %q, and so does this hire's profile, playbook or another set: rename one (an inventory set may override or remove the set's check)", set.Ref(), c.Name))
					continue
				}
				names[c.Name] = true
				out = append(out, setCheck{check: c, set: set.Ref(), doc: doc, path: path})
			}
		}
	}
	if pr.Doc != nil {
		add(pr.Doc, pr.CheckSets)
	}
	add(pb.Doc, pb.CheckSets)
	return out
}

// waive puts each of the playbook's waivers on the check it names; a name
// that is no check of this hire (its own, its profile's, its sets') is an
// error at the waiver.
func (b *builder) waive(pb *playbook.Playbook, steps []*plan.Step) {
	checks := map[string]*plan.CheckSpec{}
	var names []string
	for _, s := range steps {
		if s.Check != nil {
			checks[s.Check.Name] = s.Check
			names = append(names, s.Check.Name)
		}
	}
	sort.Strings(names)
	for i, w := range pb.Waivers {
		c, ok := checks[w.Check]
		if !ok {
			if w.Check != "" {
				b.fail(pb.Doc.Errorf(fmt.Sprintf("waivers[%d].check", i), "unknown check %q: not a check of this hire%s", w.Check, strictyaml.Suggest(w.Check, names)))
			}
			continue
		}
		c.Waiver = &plan.Waiver{Reason: w.Reason, Expires: w.Expires}
	}
}
