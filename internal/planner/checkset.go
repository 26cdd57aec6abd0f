package planner

import (
	"fmt"
	"sort"
	"time"

	"onboard/internal/checkset"
	"onboard/internal/inventory"
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
// must name exactly one check. So is a set for another OS than host's.
func (b *builder) setChecks(pb *playbook.Playbook, pr *playbook.Profile, names map[string]bool, host *plan.Host) []setCheck {
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
			if err := forHost(set, host); err != nil {
				b.fail(doc.Errorf(path, "%v", err))
				continue
			}
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

// forHost says why set cannot run on host: its checks are for another
// OS (a set of dns, tcp, http, service, user and group checks runs on
// both).
func forHost(set *checkset.Set, host *plan.Host) error {
	switch os := set.OS(); {
	case os == "windows" && host.OS != "windows":
		return fmt.Errorf("host %s runs %s: check set %s is for Windows hosts (its checks ask Windows' own cmdlets)", host.Name, osName(host.OS), set.Ref())
	case os == "linux" && host.OS == "windows":
		return fmt.Errorf("host %s runs Windows: check set %s is for Linux hosts (baseline-windows is the Windows baseline)", host.Name, set.Ref())
	}
	return nil
}

// osName writes an inventory OS for people ("" is Linux, the default).
func osName(os string) string {
	switch os {
	case "", "linux":
		return "Linux"
	case "macos":
		return "macOS"
	}
	return os
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

// VerifyPlan plans a check set on its own against inventory hosts (onboard
// verify: machines onboard may not have set up). Each host stands as one
// "hire" named after it, so reports and the journal group its checks; a
// check's templates may use only ${machine.host}.
func VerifyPlan(inv *inventory.Inventory, ref string, hosts []string, now time.Time) (*plan.Plan, error) {
	if now.IsZero() {
		now = time.Now().UTC().Truncate(time.Second)
	}
	p := &plan.Plan{Version: 1, Created: now, Hosts: map[string]*plan.Host{}, Directories: map[string]*plan.Directory{}}
	b := &builder{inv: inv, plan: p, profiles: map[string]*playbook.Profile{}}
	source := "onboard verify --checks " + ref
	set, err := inv.CheckSets.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("--checks: %w", err)
	}
	if len(set.Checks) == 0 {
		// Nothing checked would read as everything passed.
		return nil, fmt.Errorf("--checks: check set %s has no checks", set.Ref())
	}
	// Errors in a set's checks were reported where the set is defined when
	// the inventory loaded; what remains (templates) is named by the flag.
	doc := &strictyaml.Doc{File: "--checks " + set.Ref()}
	seen := map[string]bool{}
	for _, name := range hosts {
		if seen[name] {
			continue
		}
		seen[name] = true
		h, err := inv.Host(name)
		if err != nil {
			b.fail(err)
			continue
		}
		if err := forHost(set, h); err != nil {
			b.fail(err)
			continue
		}
		p.Hosts[name] = h
		p.Sources = append(p.Sources, source+" "+name)
		p.Hires = append(p.Hires, plan.Hire{ID: name, Source: source, Name: name + " (" + set.Ref() + ")", Host: name})
		vars := map[string]string{"machine.host": name}
		expand := func(path, s string) string {
			out, err := playbook.Expand(s, vars)
			if err != nil {
				b.fail(doc.Errorf(path, "%v", err))
			}
			return out
		}
		for i, c := range set.Checks {
			path := fmt.Sprintf("checks[%d]", i)
			timeout := checkTimeout(c)
			if timeout == 0 {
				timeout = defaultTimeouts[plan.KindCheck]
			}
			s := &plan.Step{ID: name + ":check:" + c.Name, Kind: plan.KindCheck, Hire: name, Host: name,
				Title: fmt.Sprintf("Check %s on %s", c.Name, name), Timeout: plan.Duration(timeout)}
			s.Check = b.check(c, path, expand, b.code(doc, h.OS, vars))
			s.Check.Set = set.Ref()
			p.Steps = append(p.Steps, s)
		}
	}
	if b.errs != nil {
		b.errs.ErrorFormat = strictyaml.ListFormat
		return nil, b.errs
	}
	return p, nil
}
