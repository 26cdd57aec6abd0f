package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// Removal steps' timeouts, as their counterparts'.
var removalTimeouts = map[string]time.Duration{
	plan.KindMembershipRemove:  time.Minute,
	plan.KindPackageRemove:     10 * time.Minute,
	plan.KindPrinterRemove:     2 * time.Minute,
	plan.KindWinSoftwareRemove: 30 * time.Minute,
	plan.KindWinPrinterRemove:  5 * time.Minute,
	plan.KindLocalGroupRemove:  2 * time.Minute,
}

// pruneKind is the playbook's prune field that covers a kind.
func pruneKind(kind string) string {
	switch kind {
	case plan.KindMembership, plan.KindLocalGroup:
		return "groups"
	case plan.KindPackage, plan.KindWinSoftware:
		return "software"
	case plan.KindPrinter, plan.KindWinPrinter:
		return "printers"
	}
	return ""
}

func prunes(pb *playbook.Playbook, field string) bool {
	switch field {
	case "groups":
		return pb.Prune.Groups
	case "software":
		return pb.Prune.Software
	case "printers":
		return pb.Prune.Printers
	}
	return false
}

// move re-plans a hire the journal knows (Options.History): what the new
// setup no longer names is removed if onboard put it there (RulePlaced) or
// the playbook prunes its kind (RulePrune), and kept otherwise
// (RuleNotPlaced, in Hire.Kept); what it still names is kept silently, by
// the step that keeps it in place. It runs after hire has planned pb.
func (b *builder) move(pb *playbook.Playbook) {
	id := pb.Person.EmployeeID
	hist := b.opt.History[id]
	if hist == nil {
		return
	}
	h := &b.plan.Hires[len(b.plan.Hires)-1]
	if h.ID != id {
		return // hire planned nothing (it failed); its errors say why
	}
	var mine []*plan.Step
	wanted := map[string]bool{}
	for _, s := range b.plan.Steps {
		if s.Hire == id {
			mine = append(mine, s)
			if k := plan.ItemKey(s); k != "" {
				wanted[k] = true
			}
		}
	}
	if hist.Last != nil {
		h.Moved = moved(hist.LastRun, hist.Last, h)
	}

	m := &mover{b: b, pb: pb, h: h, mine: mine, seen: map[string]bool{}, shared: hist.Shared}
	for _, it := range hist.Items {
		key := plan.ItemKey(it.Step)
		m.seen[key] = true
		if wanted[key] {
			continue // still named: the new setup's step keeps it
		}
		if by := hist.Shared[key]; by != "" && (it.ByOnboard || prunes(pb, pruneKind(it.Step.Kind))) {
			h.Kept = append(h.Kept, plan.Kept{Item: where(it.Step), Rule: plan.RuleStillWanted, Evidence: by + "; " + it.Evidence()})
			continue
		}
		switch {
		case it.ByOnboard:
			m.remove(it.Step, it.Host, it.Directory, plan.RulePlaced, it.Evidence())
		case prunes(pb, pruneKind(it.Step.Kind)):
			m.remove(it.Step, it.Host, it.Directory, plan.RulePrune, it.Evidence())
		default:
			h.Kept = append(h.Kept, plan.Kept{Item: where(it.Step), Rule: plan.RuleNotPlaced, Evidence: it.Evidence()})
		}
	}
	if hist.Last != nil {
		// Only a re-plan prunes: a first onboarding keeps what it finds.
		m.prune(wanted)
	}
	m.order()
}

// moved says what changed since the run that last applied the hire's
// setup: `profile: "engineering" → "sales" (run R)`. Attributes also change
// through the account step, whose check shows each one old → new.
func moved(run string, last *plan.Hire, now *plan.Hire) []string {
	var out []string
	for _, f := range []struct{ name, old, new string }{
		{"profile", last.Profile, now.Profile},
		{"machine", last.Host, now.Host},
		{"username", last.Username, now.Username},
		{"department", last.Department, now.Department},
		{"title", last.Title, now.Title},
		{"manager", last.Manager, now.Manager},
	} {
		if f.old != f.new {
			out = append(out, fmt.Sprintf("%s: %s → %s (run %s)", f.name, orNone(f.old), orNone(f.new), run))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

// where names an item with its host or directory: "software: htop on ws1".
func where(s *plan.Step) string {
	if s.Host != "" {
		return plan.ItemName(s) + " on " + s.Host
	}
	return plan.ItemName(s) + " in " + s.Directory
}

// mover builds one hire's removals.
type mover struct {
	b        *builder
	pb       *playbook.Playbook
	h        *plan.Hire
	mine     []*plan.Step
	seen     map[string]bool   // items the journal knows
	shared   map[string]string // items other hires' setups have (History.Shared)
	removals []*plan.Step
}

// remove plans the removal of what src put in place, on src's host or in
// its directory: the current inventory's description, else the one the
// journal recorded (a machine since dropped from the inventory).
func (m *mover) remove(src *plan.Step, host *plan.Host, dir *plan.Directory, rule, evidence string) {
	b, h := m.b, m.h
	if src.Host != "" && b.plan.Hosts[src.Host] == nil {
		if ih, err := b.inv.Host(src.Host); err == nil {
			b.plan.Hosts[src.Host] = ih
		} else if host != nil {
			b.plan.Hosts[src.Host] = host
		} else {
			h.Manual = append(h.Manual, fmt.Sprintf("Remove %s by hand (%s): host %s is described neither in the inventory nor in the journal", where(src), evidence, src.Host))
			return
		}
	}
	if src.Directory != "" && b.plan.Directories[src.Directory] == nil {
		if d, err := b.inv.Directory(src.Directory); err == nil {
			b.plan.Directories[src.Directory] = d
		} else if dir != nil {
			b.plan.Directories[src.Directory] = dir
		} else {
			h.Manual = append(h.Manual, fmt.Sprintf("Remove %s by hand (%s): directory %s is described neither in the inventory nor in the journal", where(src), evidence, src.Directory))
			return
		}
	}
	kind := plan.RemovalOf[src.Kind]
	s := &plan.Step{Kind: kind, Hire: h.ID, Host: src.Host, Directory: src.Directory, Rule: rule, Evidence: evidence,
		Timeout: plan.Duration(removalTimeouts[kind])}
	var name string
	switch {
	case src.Membership != nil:
		v := *src.Membership
		s.Membership, name = &v, v.Group
		s.Title = fmt.Sprintf("Remove %s from group %s", v.Username, v.Group)
		s.Host = "" // a membership lives in the directory
	case src.Package != nil:
		v := *src.Package
		s.Package, name = &v, v.Name
		s.Title = fmt.Sprintf("Uninstall %s from %s", v.Name, src.Host)
	case src.Printer != nil:
		v := *src.Printer
		v.Default = false
		s.Printer, name = &v, v.Name
		s.Title = fmt.Sprintf("Unmap printer %s on %s", v.Name, src.Host)
	case src.WinSoftware != nil:
		v := *src.WinSoftware
		s.WinSoftware, name = &v, v.Name
		s.Title = fmt.Sprintf("Uninstall %s from %s", v.Name, src.Host)
	case src.WinPrinter != nil:
		v := *src.WinPrinter
		s.WinPrinter, name = &v, v.Name
		s.Title = fmt.Sprintf("Disconnect printer %s on %s", v.Connection, src.Host)
	case src.LocalGroup != nil:
		v := *src.LocalGroup
		s.LocalGroup, name = &v, v.Group
		s.Title = fmt.Sprintf("Remove %s from the local group %s on %s", v.Member, v.Group, src.Host)
	default:
		return
	}
	// One item per host or directory: the id names where, so that the
	// same software on an old and a new machine are two steps.
	if s.Host != "" {
		name += "@" + s.Host
	} else {
		name += "@" + s.Directory
	}
	s.ID = h.ID + ":" + kind + ":" + name
	m.removals = append(m.removals, s)
}

// prune plans, for each kind the playbook prunes, the removal of what the
// new setup does not name and the journal does not know of (those were
// decided above): the groups the directory has the account in when the
// plan is made (Options.Groups), and the catalogue's software and printers
// for the machine, which a removal step's check removes only if they are
// there. Nothing outside the catalogue or the directory's groups is
// touched.
func (m *mover) prune(wanted map[string]bool) {
	b, pb, h := m.b, m.pb, m.h
	add := func(src *plan.Step, evidence string) {
		key := plan.ItemKey(src)
		if wanted[key] || m.seen[key] {
			return
		}
		m.seen[key] = true
		if by := m.shared[key]; by != "" {
			h.Kept = append(h.Kept, plan.Kept{Item: where(src), Rule: plan.RuleStillWanted, Evidence: by})
			return
		}
		m.remove(src, nil, nil, plan.RulePrune, evidence)
	}
	if pb.Prune.Groups && b.opt.Groups != nil && h.Username != "" {
		if d := b.plan.Directories[pb.Account.Directory]; d != nil {
			groups, err := b.opt.Groups(d, h.Username)
			if err != nil {
				b.fail(pb.Doc.Errorf("prune.groups", "list the groups of %s in %s: %v", h.Username, d.Name, err))
			}
			sort.Strings(groups)
			for _, g := range groups {
				add(&plan.Step{Kind: plan.KindMembership, Directory: d.Name, Membership: &plan.MembershipSpec{Username: h.Username, Group: g}},
					fmt.Sprintf("a member of %s in %s when planned", g, d.Name))
			}
		}
	}
	host := b.plan.Hosts[pb.Machine.Host]
	if host == nil {
		return
	}
	if pb.Prune.Software {
		for _, name := range b.inv.Names("software") {
			e := b.inv.Software[name]
			src := &plan.Step{Host: host.Name}
			switch {
			case host.OS == "windows" && e.Windows != nil:
				in := e.Windows
				src.Kind = plan.KindWinSoftware
				src.WinSoftware = &plan.WinSoftwareSpec{Name: name, Manager: in.Manager, Source: in.Source, ProductCode: in.ProductCode,
					Package: in.Package, Version: in.Version, Args: in.Args}
			case host.OS == "linux" && e.Linux != nil && (e.Linux.Manager == "" || e.Linux.Manager == "apt") && host.PackageManager == "apt":
				// A catalogue command install has no uninstall: never pruned.
				src.Kind = plan.KindPackage
				src.Package = &plan.PackageSpec{Name: name, Manager: "apt", Package: e.Linux.Package}
			default:
				continue
			}
			add(src, "in the software catalogue, not in the new setup: removed if installed")
		}
	}
	if pb.Prune.Printers {
		for _, name := range b.inv.Names("printers") {
			e := b.inv.Printers[name]
			src := &plan.Step{Host: host.Name}
			switch {
			case host.OS == "windows" && e.Connection != "" && e.Driver != "":
				src.Kind = plan.KindWinPrinter
				src.WinPrinter = &plan.WinPrinterSpec{Name: name, Connection: e.Connection, Driver: e.Driver}
			case host.OS == "linux":
				queue := e.Queue
				if queue == "" {
					queue = name
				}
				src.Kind = plan.KindPrinter
				src.Printer = &plan.PrinterSpec{Name: queue, URI: e.URI, Model: "everywhere"}
			default:
				continue
			}
			add(src, "in the printer catalogue, not in the new setup: unmapped if mapped")
		}
	}
}

// order puts each removal after what it must follow, and the hire's
// checks and Windows reboot on its host after it, then adds the removals
// to the plan.
func (m *mover) order() {
	for _, r := range m.removals {
		var after []string
		for _, s := range m.mine {
			switch {
			case r.Kind == plan.KindMembershipRemove:
				// The account first: removals never run for an account
				// that is not there.
				if s.Kind == plan.KindAccount && s.Directory == r.Directory {
					after = append(after, s.ID)
				}
			case s.Host != r.Host:
			case r.Kind == plan.KindPackageRemove && s.Kind == plan.KindPackage,
				r.Kind == plan.KindPrinterRemove && s.Kind == plan.KindPrinter,
				r.Kind == plan.KindWinSoftwareRemove && (s.Kind == plan.KindWinSoftware || s.Kind == plan.KindWinJoin),
				r.Kind == plan.KindWinPrinterRemove && (s.Kind == plan.KindWinPrinter || s.Kind == plan.KindReboot),
				r.Kind == plan.KindLocalGroupRemove && (s.Kind == plan.KindLocalGroup || s.Kind == plan.KindReboot):
				after = append(after, s.ID)
			case s.Kind == plan.KindCheck,
				s.Kind == plan.KindReboot && r.Kind == plan.KindWinSoftwareRemove:
				// Checks prove the final state; an uninstaller may ask
				// for the reboot.
				s.DependsOn = append(s.DependsOn, r.ID)
				sort.Strings(s.DependsOn)
			}
		}
		sort.Strings(after)
		r.DependsOn = slices.Compact(after)
	}
	sort.SliceStable(m.removals, func(i, j int) bool {
		return removalRank(m.removals[i]) < removalRank(m.removals[j])
	})
	m.b.plan.Steps = append(m.b.plan.Steps, m.removals...)
}

// removalRank orders removals in the plan: directory first, then by host.
func removalRank(s *plan.Step) string {
	return strings.Join([]string{s.Host, s.Kind, s.ID}, "\x00")
}

// keepShared drops a removal of what another hire of the plan puts in
// place (the same software on a shared machine): removing it would undo
// that hire's step on every run. The item is kept, with the rule and the
// step that wants it.
func (b *builder) keepShared() {
	wants := map[string]*plan.Step{}
	for _, s := range b.plan.Steps {
		if plan.RemovalOf[s.Kind] != "" {
			if k := plan.ItemKey(s); k != "" {
				wants[k] = s
			}
		}
	}
	dropped := map[string]bool{}
	for _, s := range b.plan.Steps {
		w := wants[plan.ItemKey(s)]
		if !plan.IsRemoval(s.Kind) || w == nil {
			continue
		}
		dropped[s.ID] = true
		for i := range b.plan.Hires {
			if h := &b.plan.Hires[i]; h.ID == s.Hire {
				h.Kept = append(h.Kept, plan.Kept{Item: where(s), Rule: plan.RuleStillWanted,
					Evidence: fmt.Sprintf("hire %s wants it (step %s); %s", w.Hire, w.ID, s.Evidence)})
			}
		}
	}
	if len(dropped) == 0 {
		return
	}
	b.plan.Steps = slices.DeleteFunc(b.plan.Steps, func(s *plan.Step) bool { return dropped[s.ID] })
	for _, s := range b.plan.Steps {
		s.DependsOn = slices.DeleteFunc(s.DependsOn, func(d string) bool { return dropped[d] })
	}
}

// listRemovals adds each removal step to its hire's Kept list too, with
// its rule and evidence, so that the list holds the rule that decided
// every item of the earlier setup the new one does not name.
func (b *builder) listRemovals() {
	for _, s := range b.plan.Steps {
		if !plan.IsRemoval(s.Kind) {
			continue
		}
		for i := range b.plan.Hires {
			if h := &b.plan.Hires[i]; h.ID == s.Hire {
				h.Kept = append(h.Kept, plan.Kept{Item: where(s), Rule: s.Rule, Evidence: s.Evidence})
			}
		}
	}
}
