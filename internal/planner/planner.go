// Package planner turns playbooks and the inventory into a plan: it merges
// role profiles, resolves hosts and catalogue entries, expands templates,
// and orders the steps. It reads files only; it never touches a host.
package planner

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/folder"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// Options tune plan building.
type Options struct {
	// ProfileDirs are searched first for NAME.yaml, then the playbook's own
	// profiles/ folder, the inventory's, and ./playbooks/profiles.
	ProfileDirs []string
	// Write are folders (from the command line) that playbooks' reports and
	// password deliveries may be written in, besides the inventory's.
	Write []string
	// Now stamps the plan; zero means time.Now.
	Now time.Time
	// Usernames picks a derived username in a directory: the account this
	// employee already has, or the first candidate nobody holds (the
	// collision rule). Nil takes the first candidate (no directory lookup).
	Usernames func(d *plan.Directory, employeeID string, candidates []string) (string, error)
	// History is, per employee id, what the journal knows of the hire's
	// earlier setup (journal.History): a hire it names is re-planned as a
	// mover (mover.go). Nil plans every hire as new.
	History map[string]*plan.History
	// Groups lists the groups of the directory the account is a member of,
	// for a playbook's prune.groups; nil prunes only the groups the
	// journal knows.
	Groups func(d *plan.Directory, username string) ([]string, error)
}

// Default timeouts of one attempt of a step, by kind.
var defaultTimeouts = map[string]time.Duration{
	plan.KindPackage: 10 * time.Minute,
	plan.KindPrinter: 2 * time.Minute,
	plan.KindCommand: 5 * time.Minute,
	plan.KindFile:    time.Minute,
	plan.KindCheck:   time.Minute,
}

// Build makes one plan for all playbooks. Every problem found is returned
// together, each naming file:line:column and the field.
func Build(pbs []*playbook.Playbook, inv *inventory.Inventory, opt Options) (*plan.Plan, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now().UTC().Truncate(time.Second)
	}
	p := &plan.Plan{Version: 1, Created: now, Hosts: map[string]*plan.Host{}, Directories: map[string]*plan.Directory{}, KnowledgeBase: inv.KnowledgeBaseDir()}
	b := &builder{inv: inv, opt: opt, plan: p, profiles: map[string]*playbook.Profile{}}
	b.folders()
	seen := map[string]string{}
	for _, pb := range pbs {
		p.Sources = append(p.Sources, pb.File)
		if prev, ok := seen[pb.Person.EmployeeID]; ok {
			b.fail(pb.Doc.Errorf("person.employee_id", "%q is also the employee id in %s: one playbook per hire", pb.Person.EmployeeID, prev))
			continue
		}
		seen[pb.Person.EmployeeID] = pb.File
		b.hire(pb)
		b.move(pb)
		b.welcome(pb)
	}
	b.keepShared()
	b.listRemovals()
	b.checkConflicts()
	b.checkOutputs()
	for path := range b.profiles {
		p.ProfileFiles = append(p.ProfileFiles, path)
	}
	sort.Strings(p.ProfileFiles)
	if b.errs != nil {
		b.errs.ErrorFormat = strictyaml.ListFormat
		return nil, b.errs
	}
	return p, nil
}

// checkConflicts refuses a plan whose steps cannot all hold at once: the
// same step twice, or two hires wanting different things of one resource
// of a host (a file's content, the default printer). Such a plan would
// flip the host on every run and never pass its handover check.
func (b *builder) checkConflicts() {
	ids := map[string]bool{}
	files := map[string]*plan.Step{}
	defaults := map[string]*plan.Step{}
	accounts := map[string]*plan.Step{}
	delivery := map[string]*plan.Step{}
	for _, s := range b.plan.Steps {
		if ids[s.ID] {
			b.fail(fmt.Errorf("%s: step %s is planned twice (two files or commands of one hire with the same path or name)", b.source(s.Hire), s.ID))
		}
		ids[s.ID] = true
		if s.File != nil {
			key := s.Host + "\x00" + s.File.Path
			if o, ok := files[key]; ok && o.Hire != s.Hire && (o.File.Content != s.File.Content || o.File.Mode != s.File.Mode || o.File.Owner != s.File.Owner) {
				b.fail(fmt.Errorf("%s and %s both write %s on %s, differently", b.source(o.Hire), b.source(s.Hire), s.File.Path, s.Host))
			}
			files[key] = s
		}
		if s.Activate != nil && strings.HasPrefix(s.Activate.Deliver, "file:") {
			// One file per password: a second hire's would overwrite the first's.
			if o, ok := delivery[s.Activate.Deliver]; ok {
				b.fail(fmt.Errorf("%s and %s deliver their initial passwords to the same file %s", b.source(o.Hire), b.source(s.Hire), strings.TrimPrefix(s.Activate.Deliver, "file:")))
			}
			delivery[s.Activate.Deliver] = s
		}
		if s.Account != nil {
			key := s.Directory + "\x00" + s.Account.Username
			if o, ok := accounts[key]; ok {
				b.fail(fmt.Errorf("%s and %s both want the account %s in %s", b.source(o.Hire), b.source(s.Hire), s.Account.Username, s.Directory))
			}
			accounts[key] = s
		}
		if s.Printer != nil && s.Printer.Default {
			if o, ok := defaults[s.Host]; ok && o.Printer.Name != s.Printer.Name {
				b.fail(fmt.Errorf("%s and %s want different default printers on %s (%s, %s)", b.source(o.Hire), b.source(s.Hire), s.Host, o.Printer.Name, s.Printer.Name))
			}
			defaults[s.Host] = s
		}
	}
}

// source names the playbook of a hire, for errors about the whole plan.
func (b *builder) source(hire string) string {
	for _, h := range b.plan.Hires {
		if h.ID == hire {
			return h.Source
		}
	}
	return hire
}

type builder struct {
	inv      *inventory.Inventory
	opt      Options
	plan     *plan.Plan
	profiles map[string]*playbook.Profile
	errs     *multierror.Error
	read     folder.Set // besides each playbook's own folder
	write    folder.Set
	private  folder.Set // never read: the inventory's folders and secret files
}

func (b *builder) fail(err error) { b.errs = multierror.Append(b.errs, err) }

func (b *builder) profile(pb *playbook.Playbook) *playbook.Profile {
	if pb.Profile == "" {
		return &playbook.Profile{}
	}
	dirs := b.profileDirs(pb)
	path, err := playbook.FindProfile(pb.Profile, dirs)
	if err != nil {
		b.fail(pb.Doc.Errorf("profile", "%v", err))
		return nil
	}
	if pr, ok := b.profiles[path]; ok {
		return pr
	}
	pr, err := playbook.LoadProfile(path)
	if err != nil {
		b.fail(err)
		return nil
	}
	b.profiles[path] = pr
	return pr
}

// merged is the result of a profile plus a playbook's additions and omissions.
type merged struct {
	items []string
	paths map[string]string // item -> field path in the playbook (or "" for the profile)
}

func (b *builder) merge(pb *playbook.Playbook, what, field string, fromProfile []string, pr *playbook.Profile, l playbook.List, h *plan.Hire) merged {
	m := merged{paths: map[string]string{}}
	add := func(item, path, from string) {
		if _, dup := m.paths[item]; dup {
			return
		}
		m.items = append(m.items, item)
		m.paths[item] = path
		h.Provenance = append(h.Provenance, plan.Origin{Item: what + ": " + item, From: from})
	}
	for _, it := range fromProfile {
		add(it, "", "profile "+pr.Name)
	}
	for i, it := range l.Add {
		add(it, l.AddPaths[i], "playbook")
	}
	for i, it := range l.Omit {
		if _, ok := m.paths[it]; !ok {
			b.fail(pb.Doc.Errorf(l.OmitPaths[i], "omits %s %q, which the profile does not give%s", what, it, strictyaml.Suggest(it, fromProfile)))
			continue
		}
		delete(m.paths, it)
		for j, x := range m.items {
			if x == it {
				m.items = append(m.items[:j], m.items[j+1:]...)
				break
			}
		}
		h.Provenance = append(h.Provenance, plan.Origin{Item: what + ": " + it, From: "omitted by playbook"})
	}
	_ = field
	return m
}

func (b *builder) hire(pb *playbook.Playbook) {
	pr := b.profile(pb)
	if pr == nil {
		pr = &playbook.Profile{}
	}
	doc := pb.Doc
	id := pb.Person.EmployeeID
	h := plan.Hire{
		ID: id, Source: pb.File, Name: pb.Person.DisplayName(), Email: pb.Person.Email, Title: pb.Person.Title,
		Department: pb.Person.Department, Manager: pb.Person.Manager, StartDate: pb.Person.StartDate,
		Profile: pb.Profile, Host: pb.Machine.Host,
		Handover: plan.Handover{Contact: pb.Handover.Contact, Reports: b.reports(pb)},
	}
	h.Manual = append(append(h.Manual, pr.Manual...), pb.Handover.Manual...)
	h.Notify = b.notifyRules(pb, pr)

	// The directory and the username first: templates elsewhere use it.
	var dir *plan.Directory
	var dirEntry inventory.Directory
	if name := pb.Account.Directory; name != "" {
		d, err := b.inv.Directory(name)
		if err != nil {
			b.fail(doc.Errorf("account.directory", "%v", err))
		} else {
			dir, dirEntry = d, b.inv.Directories[name]
			b.plan.Directories[name] = d
			b.checkAttributes(pb, dir, dirEntry)
		}
	}
	vars := pb.TemplateVars("", pb.Machine.Host)
	username, templateOK := b.username(pb, dir, dirEntry, vars)
	h.Username = username
	vars = pb.TemplateVars(username, pb.Machine.Host)
	expand := func(path, s string) string {
		out, err := playbook.Expand(s, vars)
		if err != nil {
			b.fail(doc.Errorf(path, "%v", err))
		}
		return out
	}
	h.Handover.Notes = expand("handover.notes", pb.Handover.Notes)

	groups := b.merge(pb, "group", "account.groups", pr.Groups, pr, pb.Account.Groups, &h)
	h.Groups = groups.items
	software := b.merge(pb, "software", "machine.software", pr.Software, pr, pb.Machine.Software, &h)
	h.Software = software.items
	printers := b.merge(pb, "printer", "machine.printers", pr.Printers, pr, pb.Machine.Printers, &h)
	h.Printers = printers.items

	prefix := id + ":"
	var steps []*plan.Step
	var accountIDs []string // what the machine's steps wait for
	if dir != nil && templateOK {
		steps, accountIDs = b.accountSteps(pb, dir, dirEntry, username, groups.items, expand)
	} else if len(groups.items) > 0 && pb.Account.Directory == "" {
		h.Manual = append(h.Manual, "Groups are listed but no account.directory is set: add the account to "+strings.Join(groups.items, ", ")+" by hand")
	}

	host := b.host(pb)
	if host == nil {
		b.plan.Steps = append(b.plan.Steps, steps...)
		if pb.Machine.Host == "" {
			if len(pb.Machine.Software.Add)+len(pb.Machine.Printers.Add)+len(pb.Machine.Files)+len(pb.Machine.Commands)+len(pb.Checks)+len(pb.CheckSets) > 0 || pb.Machine.DomainJoin != nil {
				b.fail(doc.Errorf("machine.host", "is required: software, printers, files, commands, checks and a domain join need a machine"))
			} else if len(software.items)+len(printers.items) > 0 {
				// An account-only onboarding (the machine comes later): the
				// profile's machine items are left for a later run.
				h.Manual = append(h.Manual, "No machine in this playbook: the profile's software ("+strings.Join(software.items, ", ")+
					") and printers ("+strings.Join(printers.items, ", ")+") are not set up; run again with machine.host")
			}
		}
		b.plan.Hires = append(b.plan.Hires, h)
		return
	}
	if (host.OS == "windows") != (host.Transport == "winrm") {
		b.fail(doc.Errorf("machine.host", "host %s: Windows hosts are driven over WinRM and Linux and macOS hosts over SSH (os %s, transport %s)", host.Name, host.OS, host.Transport))
	}
	if prev, ok := b.plan.Hosts[host.Name]; ok && !sameHost(prev, host) {
		// Two playbooks describing one name differently would send one
		// hire's setup to the other's machine.
		b.fail(doc.Errorf("machine.host", "host %s is described differently in %s", host.Name, prev.Source))
		return
	}
	b.plan.Hosts[host.Name] = host

	newStep := func(kind, name, title string, timeout time.Duration) *plan.Step {
		if timeout == 0 {
			timeout = defaultTimeouts[kind]
		}
		s := &plan.Step{ID: prefix + kind + ":" + name, Kind: kind, Hire: id, Host: host.Name, Title: title, Timeout: plan.Duration(timeout)}
		// The machine is set up once the account exists.
		s.DependsOn = append(s.DependsOn, accountIDs...)
		steps = append(steps, s)
		return s
	}

	if host.OS == "windows" {
		b.windowsSteps(pb, pr, host, dir, username, software, printers, newStep, &steps, &h)
		b.waive(pb, steps)
		b.plan.Steps = append(b.plan.Steps, steps...)
		b.plan.Hires = append(b.plan.Hires, h)
		return
	}

	if j := pb.Machine.DomainJoin; j != nil {
		b.joinSteps(pb, pr, host, j, username, newStep, &steps)
	}

	var pkgIDs []string
	for _, name := range software.items {
		path := software.paths[name]
		entry, ok := b.software(pb, pr, name, path)
		if !ok {
			continue
		}
		in := map[string]*inventory.Install{"linux": entry.Linux, "macos": entry.MacOS, "windows": entry.Windows}[host.OS]
		if in == nil {
			b.failItem(pb, pr, path, "software %q has no %s entry in the catalogue (%s)", name, host.OS, b.inv.Pos("software."+name))
			continue
		}
		mgr := in.Manager
		if mgr == "" {
			mgr = host.PackageManager
		}
		if mgr == "brew" {
			b.failItem(pb, pr, path, "software %q: the brew manager (macOS) is not supported yet", name)
			continue
		}
		title := "Install " + name
		if in.Version != "" {
			title += " " + in.Version
		}
		s := newStep(plan.KindPackage, name, title+" on "+host.Name, in.Timeout)
		s.Package = &plan.PackageSpec{Name: name, Manager: mgr, Package: in.Package, Version: in.Version,
			Install: in.Install, IsInstalled: in.IsInstalled, VersionQuery: in.VersionQuery, Uninstall: in.Uninstall}
		pkgIDs = append(pkgIDs, s.ID)
	}

	defPrinter := pr.DefaultPrinter
	defPath := ""
	if pb.Machine.DefaultPrinter != "" {
		defPrinter, defPath = pb.Machine.DefaultPrinter, "machine.default_printer"
	}
	if defPrinter != "" {
		if _, ok := printers.paths[defPrinter]; !ok {
			b.failItem(pb, pr, defPath, "default printer %q is not among the hire's printers (%s)", defPrinter, strings.Join(printers.items, ", "))
		}
	}
	for _, name := range printers.items {
		path := printers.paths[name]
		entry, ok := b.printer(pb, pr, name, path)
		if !ok {
			continue
		}
		queue := entry.Queue
		if queue == "" {
			queue = name
		}
		model := entry.Model
		if model == "" {
			model = "everywhere"
		}
		title := fmt.Sprintf("Map printer %s on %s", queue, host.Name)
		if name == defPrinter {
			title += " (default)"
		}
		s := newStep(plan.KindPrinter, name, title, 0)
		s.Printer = &plan.PrinterSpec{Name: queue, URI: entry.URI, Model: model, Location: entry.Location,
			Description: entry.Description, Default: name == defPrinter}
	}

	var fileIDs []string
	for i, f := range pb.Machine.Files {
		path := fmt.Sprintf("machine.files[%d]", i)
		content := f.Content
		if f.Source != "" {
			content = b.readSource(pb, path+".source", f.Source)
		} else {
			content = expand(path+".content", content)
		}
		fp := expand(path+".path", f.Path)
		if !playbook.IsAbs(fp) {
			b.fail(doc.Errorf(path+".path", "must be an absolute path once expanded, got %q", fp))
		}
		s := newStep(plan.KindFile, fp, fmt.Sprintf("Write %s on %s", fp, host.Name), f.Timeout)
		s.File = &plan.FileSpec{Path: fp, Content: content, Owner: expand(path+".owner", f.Owner), Group: f.Group, Mode: f.Mode, Sensitive: f.Sensitive}
		s.DependsOn = append(s.DependsOn, pkgIDs...)
		fileIDs = append(fileIDs, s.ID)
	}

	var prev string
	for i, c := range pb.Machine.Commands {
		path := fmt.Sprintf("machine.commands[%d]", i)
		s := newStep(plan.KindCommand, c.Name, fmt.Sprintf("Run %q on %s", c.Name, host.Name), c.Timeout)
		code := b.code(doc, host.OS, vars)
		s.Command = &plan.CommandSpec{Run: code.expand(path+".run", c.Run), Creates: expand(path+".creates", c.Creates),
			Unless: code.expand(path+".unless", c.Unless), Privileged: c.Privileged}
		s.Command.Values = code.values()
		if cr := s.Command.Creates; cr != "" && !strings.HasPrefix(cr, "/") {
			// It is tested literally (quoted): ~ and $HOME would never match.
			b.fail(doc.Errorf(path+".creates", "must be an absolute path once expanded, got %q", cr))
		}
		s.DependsOn = append(append(s.DependsOn, pkgIDs...), fileIDs...)
		if prev != "" {
			s.DependsOn = append(s.DependsOn, prev)
		}
		prev = s.ID
	}

	// Checks come last and depend on every step of the hire.
	var machineIDs []string
	for _, s := range steps {
		machineIDs = append(machineIDs, s.ID)
	}
	checks := append(append([]playbook.Check(nil), pr.Checks...), pb.Checks...)
	names := map[string]bool{}
	for i, c := range checks {
		path := fmt.Sprintf("checks[%d]", i-len(pr.Checks))
		if names[c.Name] {
			b.fail(doc.Errorf(path+".name", "check %q is also defined by profile %s", c.Name, pr.Name))
			continue
		}
		names[c.Name] = true
		if c.WindowsOnly() {
			cdoc, cpath := doc, path
			if i < len(pr.Checks) {
				cdoc, cpath = pr.Doc, fmt.Sprintf("checks[%d]", i)
			}
			b.fail(cdoc.Errorf(cpath, "host %s runs %s: windows_security checks are for Windows hosts", host.Name, osName(host.OS)))
			continue
		}
		s := newStep(plan.KindCheck, c.Name, fmt.Sprintf("Check %s on %s", c.Name, host.Name), checkTimeout(c))
		code := b.code(doc, host.OS, vars)
		if i < len(pr.Checks) {
			// A profile's check: its errors point into the profile.
			code = b.code(pr.Doc, host.OS, vars)
			code.rename = map[string]string{path: fmt.Sprintf("checks[%d]", i)}
		}
		s.Check = b.check(c, path, expand, code)
		if l := s.Check.Login; l != nil {
			b.loginCheck(pb, s, l, dir, username, path, i < len(pr.Checks), host.OS == "windows")
		}
		s.DependsOn = machineIDs
	}
	for _, sc := range b.setChecks(pb, pr, names, host) {
		c := sc.check
		s := newStep(plan.KindCheck, c.Name, fmt.Sprintf("Check %s on %s", c.Name, host.Name), checkTimeout(c))
		s.Check = b.check(c, sc.path, expand, b.code(sc.doc, host.OS, vars))
		s.Check.Set = sc.set
		s.DependsOn = machineIDs
	}
	b.waive(pb, steps)
	for _, s := range steps {
		sort.Strings(s.DependsOn)
	}
	b.plan.Steps = append(b.plan.Steps, steps...)
	b.plan.Hires = append(b.plan.Hires, h)
}

func sameHost(a, b *plan.Host) bool {
	x, y := *a, *b
	x.Source, y.Source = "", ""
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// software looks a name up in the software catalogue, reporting an unknown
// one at the field that asked for it.
func (b *builder) software(pb *playbook.Playbook, pr *playbook.Profile, name, path string) (inventory.Software, bool) {
	entry, ok := b.inv.Software[name]
	if !ok {
		b.failItem(pb, pr, path, "unknown software %q: not in the software catalogue%s", name, strictyaml.Suggest(name, b.inv.Names("software")))
	}
	return entry, ok
}

// printer looks a name up in the printer catalogue.
func (b *builder) printer(pb *playbook.Playbook, pr *playbook.Profile, name, path string) (inventory.Printer, bool) {
	entry, ok := b.inv.Printers[name]
	if !ok {
		b.failItem(pb, pr, path, "unknown printer %q: not in the printer catalogue%s", name, strictyaml.Suggest(name, b.inv.Names("printers")))
	}
	return entry, ok
}

// failItem reports a problem with a merged item at the playbook field that
// added it, or at the playbook's profile field when the profile gave it.
func (b *builder) failItem(pb *playbook.Playbook, pr *playbook.Profile, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path == "" {
		b.fail(pb.Doc.Errorf("profile", "profile %s (%s): %s", pr.Name, pr.File, msg))
		return
	}
	b.fail(pb.Doc.Errorf(path, "%s", msg))
}

func (b *builder) check(c playbook.Check, path string, expand func(string, string) string, code *codeFields) *plan.CheckSpec {
	cs := &plan.CheckSpec{Name: c.Name}
	switch {
	case c.Command != nil:
		exit := 0
		if c.Command.ExitStatus != nil {
			exit = *c.Command.ExitStatus
		}
		cs.Command = &plan.CommandCheck{Run: code.expand(path+".command.run", c.Command.Run), ExitStatus: exit, Stdout: c.Command.Stdout, Privileged: c.Command.Privileged,
			CannotTellExit: c.Command.CannotTellExit, NotApplicableExit: c.Command.NotApplicableExit}
		cs.Command.Values = code.values()
	case c.File != nil:
		exists := c.File.Exists == nil || *c.File.Exists
		var contains []string
		for j, s := range c.File.Contains {
			contains = append(contains, expand(fmt.Sprintf("%s.file.contains[%d]", path, j), s))
		}
		cs.File = &plan.FileCheck{Path: expand(path+".file.path", c.File.Path), Exists: exists, Mode: c.File.Mode, Owner: c.File.Owner, Contains: contains}
	case c.Package != nil:
		inst := c.Package.Installed == nil || *c.Package.Installed
		cs.Package = &plan.PackageCheck{Name: c.Package.Name, Installed: inst, Version: c.Package.Version}
	case c.Printer != nil:
		exists := c.Printer.Exists == nil || *c.Printer.Exists
		cs.Printer = &plan.PrinterCheck{Name: c.Printer.Name, Exists: exists, Default: c.Printer.Default}
	default:
		c.PlanState(cs, path, checkPlanner{expand: expand, code: code})
	}
	cs.Retry = c.PlanRetry()
	return cs
}

// loginCheck completes a login check from the hire's account: the user
// by default, and the directory its bind runs against. On Windows the
// machine's part signs in with the initial password in the account's
// Active Directory domain, so it needs that directory too.
func (b *builder) loginCheck(pb *playbook.Playbook, s *plan.Step, l *plan.LoginCheck, dir *plan.Directory, username, path string, fromProfile, windows bool) {
	doc := pb.Doc
	if fromProfile {
		// A profile's check has no position in the playbook.
		path = "profile"
	} else {
		path += ".login"
	}
	if l.User == "" {
		l.User = username
	}
	if l.User == "" {
		b.fail(doc.Errorf(path, "login check: the hire has no directory account (account.directory): set login.user"))
		return
	}
	if windows && l.Workstation {
		if dir == nil || dir.Kind != "active-directory" {
			b.fail(doc.Errorf(path, "login check: signing in on a Windows machine needs the hire's Active Directory account (account.directory), or set login.workstation: false"))
			return
		}
		s.Directory = pb.Account.Directory
	}
	if !l.Bind {
		return
	}
	if dir == nil {
		b.fail(doc.Errorf(path, "login check: a bind as the hire needs the hire's directory account (account.directory), or set login.bind: false"))
		return
	}
	s.Directory = pb.Account.Directory
}

// host resolves the hire's machine from the inventory or the playbook.
func (b *builder) host(pb *playbook.Playbook) *plan.Host {
	m := pb.Machine
	if m.Host == "" {
		return nil
	}
	doc := pb.Doc
	if m.Address == "" {
		h, err := b.inv.Host(m.Host)
		if err != nil {
			b.fail(doc.Errorf("machine.host", "%v", err))
			return nil
		}
		return h
	}
	if _, ok := b.inv.Hosts[m.Host]; ok {
		b.fail(doc.Errorf("machine.address", "host %s is already in the inventory (%s): drop the inline description or use another name", m.Host, b.inv.Pos("hosts."+m.Host)))
		return nil
	}
	if m.OS == "" {
		b.fail(doc.Errorf("machine.os", "is required for an inline machine (linux, macos or windows)"))
	}
	// The inventory's playbooks section decides whether, where and with what.
	h, errs := b.inv.InlineHost(doc, "machine", inlineMachine(m))
	for _, err := range errs {
		b.fail(err)
	}
	if h != nil {
		h.Source = doc.Pos("machine").String()
	}
	return h
}

// batchTaken reports whether a hire planned earlier in this batch has the
// username in the directory.
func (b *builder) batchTaken(dir, username string) bool {
	for _, s := range b.plan.Steps {
		if s.Account != nil && s.Directory == dir && s.Account.Username == username {
			return true
		}
	}
	return false
}

// accountSteps makes the directory steps of a hire: the account, its
// groups, and its activation (password and enable) once both are in place.
func (b *builder) accountSteps(pb *playbook.Playbook, dir *plan.Directory, d inventory.Directory, username string, groups []string,
	expand func(string, string) string) (steps []*plan.Step, waitFor []string) {
	p := pb.Person
	id := p.EmployeeID
	vars := pb.TemplateVars(username, pb.Machine.Host)
	tmpl := func(where, t, def string) string {
		if t == "" {
			t = def
		}
		v, err := playbook.Expand(t, vars)
		if err != nil {
			b.fail(fmt.Errorf("%s: %s: %w", b.inv.Pos("directories."+dir.Name), where, err))
		}
		return v
	}
	email := p.Email
	if email == "" && d.Naming.Email != "" {
		email = tmpl("naming.email", d.Naming.Email, "")
	}
	extra := map[string]string{}
	for k, v := range pb.Account.Attributes {
		extra[k] = expand("account.attributes."+k, v)
	}
	if len(extra) == 0 {
		extra = nil
	}
	acct := &plan.AccountSpec{
		Username: username, EmployeeID: id, GivenName: p.GivenName, Surname: p.Surname,
		DisplayName: tmpl("naming.display_name", d.Naming.DisplayName, "${person.name}"),
		Email:       email, Title: p.Title, Department: p.Department, Manager: p.Manager, Extra: extra, Adopt: pb.Account.Adopt,
	}
	if dir.Kind == "openldap" || dir.Posix {
		acct.UIDMin = d.Posix.UIDMin
		if acct.UIDMin == 0 {
			acct.UIDMin = 10000
		}
		acct.GIDNumber = d.Posix.GIDNumber
		if acct.GIDNumber == 0 {
			acct.GIDNumber = 10000
		}
		acct.Home = tmpl("posix.home", d.Posix.Home, "/home/${account.username}")
		acct.Shell = d.Posix.Shell
		if acct.Shell == "" {
			acct.Shell = "/bin/bash"
		}
	}
	mk := func(kind, name, title string) *plan.Step {
		s := &plan.Step{ID: id + ":" + kind + ":" + name, Kind: kind, Hire: id, Directory: dir.Name, Title: title,
			Timeout: plan.Duration(defaultTimeouts[kind])}
		steps = append(steps, s)
		return s
	}
	a := mk(plan.KindAccount, username, fmt.Sprintf("Account %s in %s", username, dir.Name))
	a.Account = acct
	var before []string
	for _, g := range groups {
		m := mk(plan.KindMembership, g, fmt.Sprintf("Add %s to group %s", username, g))
		m.Membership = &plan.MembershipSpec{Username: username, Group: g}
		m.DependsOn = []string{a.ID}
		before = append(before, m.ID)
	}
	must := true
	if pb.Account.MustChangePassword != nil {
		must = *pb.Account.MustChangePassword
	}
	act := mk(plan.KindActivate, username, fmt.Sprintf("Set the initial password of %s and enable it", username))
	act.Activate = &plan.ActivateSpec{Username: username, MustChangePassword: must, MustChangeRequired: pb.Account.MustChangePassword != nil && must,
		Length:  pb.Account.Password.Length,
		Deliver: expand("account.password.deliver", pb.Account.Password.Deliver),
		// AD refuses a password containing parts of the user's names.
		Avoid: []string{username, p.GivenName, p.Surname, acct.DisplayName},
		Adopt: pb.Account.Adopt, KeepPassword: pb.Account.Password.Adopted == "keep"}
	act.Activate.Deliver, act.Activate.DeliverRoot = b.deliverTarget(pb, act.Activate.Deliver)
	act.DependsOn = append([]string{a.ID}, before...)
	return steps, []string{a.ID}
}

// joinSteps makes the domain join of a Linux machine, and the computer
// account's pre-staging when asked.
func (b *builder) joinSteps(pb *playbook.Playbook, pr *playbook.Profile, host *plan.Host, j *playbook.DomainJoin, username string,
	newStep func(kind, name, title string, timeout time.Duration) *plan.Step, steps *[]*plan.Step) {
	doc := pb.Doc
	name := j.Directory
	if name == "" {
		name = pb.Account.Directory
	}
	dir, err := b.inv.Directory(name)
	if err != nil {
		b.fail(doc.Errorf("machine.domain_join.directory", "%v", err))
		return
	}
	if dir.Kind != "active-directory" {
		b.fail(doc.Errorf("machine.domain_join", "directory %s is %s: machines join Active Directory domains", name, dir.Kind))
		return
	}
	if host.OS != "linux" {
		b.fail(doc.Errorf("machine.domain_join", "host %s runs %s: this version joins Linux machines (adcli over SSH)", host.Name, host.OS))
		return
	}
	b.plan.Directories[name] = dir
	computer := j.Name
	if computer == "" {
		computer = strings.SplitN(host.Name, ".", 2)[0]
	}
	if j.Name == "" && len(computer) > 15 {
		b.fail(doc.Errorf("machine.domain_join.name", "the computer name %q is longer than 15 characters (NetBIOS): set machine.domain_join.name", computer))
		return
	}
	ou := j.OU
	if ou == "" && pr != nil {
		ou = pr.JoinOU
	}
	stale := j.Stale
	if stale == "" {
		stale = "fail"
	}
	var deps []string
	if j.Prestage {
		c := &plan.Step{ID: pb.Person.EmployeeID + ":" + plan.KindComputer + ":" + computer, Kind: plan.KindComputer, Hire: pb.Person.EmployeeID,
			Directory: name, Title: fmt.Sprintf("Pre-stage computer %s in %s", computer, name), Timeout: plan.Duration(defaultTimeouts[plan.KindComputer])}
		c.Computer = &plan.ComputerSpec{Name: computer, OU: ou, Stale: stale}
		*steps = append(*steps, c)
		deps = append(deps, c.ID)
	}
	s := newStep(plan.KindJoin, dir.Domain, fmt.Sprintf("Join %s to %s", host.Name, dir.Domain), 0)
	s.Directory = name
	s.Join = &plan.JoinSpec{Domain: dir.Domain, Computer: computer, FQDN: strings.ToLower(computer) + "." + dir.Domain, OU: ou, Stale: stale, Logins: j.Logins}
	s.Join.PosixIDs = j.Logins != "" && dir.Posix
	if j.Logins != "" && pb.Account.Directory == name {
		s.Join.User = username
	}
	s.DependsOn = append(s.DependsOn, deps...)
}

// windowsSteps plans a Windows machine: the join (renamed if asked),
// software, then one reboot when anything asks for it, then what needs the
// domain (printer connections, local groups), files and commands.
func (b *builder) windowsSteps(pb *playbook.Playbook, pr *playbook.Profile, host *plan.Host, acctDir *plan.Directory, username string,
	software, printers merged, newStep func(kind, name, title string, timeout time.Duration) *plan.Step, steps *[]*plan.Step, h *plan.Hire) {
	doc := pb.Doc
	var beforeReboot []string
	if j := pb.Machine.DomainJoin; j != nil {
		name := j.Directory
		if name == "" {
			name = pb.Account.Directory
		}
		d, err := b.inv.Directory(name)
		if err != nil {
			b.fail(doc.Errorf("machine.domain_join.directory", "%v", err))
		} else if d.Kind != "active-directory" {
			b.fail(doc.Errorf("machine.domain_join", "directory %s is %s: machines join Active Directory domains", name, d.Kind))
		} else if j.Logins != "" {
			b.fail(doc.Errorf("machine.domain_join.logins", "host %s runs Windows, where domain users sign in without it: logins (SSSD) is for Linux machines", host.Name))
		} else {
			b.plan.Directories[name] = d
			ou := j.OU
			if ou == "" && pr != nil {
				ou = pr.JoinOU
			}
			var deps []string
			if j.Prestage {
				computer := j.Name
				if computer == "" {
					computer = strings.ToUpper(strings.SplitN(host.Name, ".", 2)[0])
				}
				c := &plan.Step{ID: pb.Person.EmployeeID + ":" + plan.KindComputer + ":" + computer, Kind: plan.KindComputer, Hire: pb.Person.EmployeeID,
					Directory: name, Title: fmt.Sprintf("Pre-stage computer %s in %s", computer, name), Timeout: plan.Duration(defaultTimeouts[plan.KindComputer])}
				c.Computer = &plan.ComputerSpec{Name: computer, OU: ou, Stale: j.Stale}
				*steps = append(*steps, c)
				deps = append(deps, c.ID)
			}
			s := newStep(plan.KindWinJoin, d.Domain, fmt.Sprintf("Join %s to %s", host.Name, d.Domain), 5*time.Minute)
			s.Directory = name
			s.WinJoin = &plan.WinJoinSpec{Domain: d.Domain, NewName: j.Name, OU: ou}
			s.DependsOn = append(s.DependsOn, deps...)
			beforeReboot = append(beforeReboot, s.ID)
		}
	}
	joinIDs := append([]string(nil), beforeReboot...)
	for _, name := range software.items {
		path := software.paths[name]
		entry, ok := b.software(pb, pr, name, path)
		if !ok {
			continue
		}
		in := entry.Windows
		if in == nil {
			b.failItem(pb, pr, path, "software %q has no windows entry in the catalogue (%s)", name, b.inv.Pos("software."+name))
			continue
		}
		title := "Install " + name
		if in.Version != "" {
			title += " " + in.Version
		}
		timeout := in.Timeout
		if timeout == 0 {
			timeout = 30 * time.Minute
		}
		s := newStep(plan.KindWinSoftware, name, title+" on "+host.Name, timeout)
		s.WinSoftware = &plan.WinSoftwareSpec{Name: name, Manager: in.Manager, Source: in.Source, ProductCode: in.ProductCode,
			Package: in.Package, Version: in.Version, Args: in.Args}
		s.DependsOn = append(s.DependsOn, joinIDs...) // installers wait for the join
		beforeReboot = append(beforeReboot, s.ID)
	}
	var afterReboot []string
	if len(beforeReboot) > 0 {
		wait := time.Duration(host.RebootTimeout)
		if wait <= 0 {
			wait = 10 * time.Minute
		}
		r := newStep(plan.KindReboot, host.Name, "Reboot "+host.Name+" if anything asked for it", wait+5*time.Minute)
		r.Reboot = &plan.RebootSpec{Wait: plan.Duration(wait)}
		r.DependsOn = append(r.DependsOn, beforeReboot...)
		afterReboot = []string{r.ID}
	}
	for _, name := range printers.items {
		path := printers.paths[name]
		entry, ok := b.printer(pb, pr, name, path)
		if !ok {
			continue
		}
		if entry.Connection == "" || entry.Driver == "" {
			b.failItem(pb, pr, path, "printer %q has no Windows connection and driver in the catalogue (%s)", name, b.inv.Pos("printers."+name))
			continue
		}
		s := newStep(plan.KindWinPrinter, name, fmt.Sprintf("Connect printer %s on %s", entry.Connection, host.Name), 5*time.Minute)
		s.WinPrinter = &plan.WinPrinterSpec{Name: name, Connection: entry.Connection, Driver: entry.Driver}
		s.DependsOn = append(s.DependsOn, afterReboot...)
	}
	def := pb.Machine.DefaultPrinter
	if def == "" && pr != nil {
		def = pr.DefaultPrinter
	}
	if def != "" {
		// Windows keeps the default printer per user: it cannot be set
		// remotely for a user who has never logged on.
		h.Manual = append(h.Manual, fmt.Sprintf("At %s's first logon on %s, make %s the default printer (Windows keeps the default per user)", h.Name, host.Name, def))
	}
	for i, g := range pb.Machine.LocalGroups {
		path := fmt.Sprintf("machine.local_groups[%d]", i)
		if acctDir == nil || acctDir.Kind != "active-directory" {
			b.fail(doc.Errorf(path, "local groups take the hire's domain account: set account.directory to an Active Directory"))
			break
		}
		member := strings.ToUpper(strings.SplitN(acctDir.Domain, ".", 2)[0]) + `\` + username
		s := newStep(plan.KindLocalGroup, g, fmt.Sprintf("Add %s to the local group %s on %s", member, g, host.Name), 0)
		s.LocalGroup = &plan.LocalGroupSpec{Group: g, Member: member}
		s.DependsOn = append(s.DependsOn, afterReboot...)
	}
	vars := pb.TemplateVars(username, host.Name)
	expand := func(path, t string) string {
		v, err := playbook.Expand(t, vars)
		if err != nil {
			b.fail(doc.Errorf(path, "%v", err))
		}
		return v
	}
	for i, f := range pb.Machine.Files {
		path := fmt.Sprintf("machine.files[%d]", i)
		fp := expand(path+".path", f.Path)
		content := expand(path+".content", f.Content)
		if f.Source != "" {
			content = b.readSource(pb, path+".source", f.Source)
		}
		s := newStep(plan.KindWinFile, fp, fmt.Sprintf("Write %s on %s", fp, host.Name), f.Timeout)
		s.File = &plan.FileSpec{Path: fp, Content: content, Sensitive: f.Sensitive}
		s.DependsOn = append(s.DependsOn, afterReboot...)
	}
	var prev string
	for i, c := range pb.Machine.Commands {
		path := fmt.Sprintf("machine.commands[%d]", i)
		s := newStep(plan.KindWinCommand, c.Name, fmt.Sprintf("Run %q on %s", c.Name, host.Name), c.Timeout)
		code := b.code(doc, host.OS, vars)
		s.Command = &plan.CommandSpec{Run: code.expand(path+".run", c.Run), Creates: expand(path+".creates", c.Creates), Unless: code.expand(path+".unless", c.Unless)}
		s.Command.Values = code.values()
		s.DependsOn = append(s.DependsOn, afterReboot...)
		if prev != "" {
			s.DependsOn = append(s.DependsOn, prev)
		}
		prev = s.ID
	}
	// Checks come last and depend on every step of the hire. Windows runs
	// dns, tcp, http, service, user, group and login (internal/step, check_win.go); the others read Linux tools
	// (sh, dpkg, CUPS).
	var machineIDs []string
	for _, s := range *steps {
		machineIDs = append(machineIDs, s.ID)
	}
	var prChecks []playbook.Check
	if pr != nil {
		prChecks = pr.Checks
	}
	checks := append(append([]playbook.Check(nil), prChecks...), pb.Checks...)
	names := map[string]bool{}
	for i, c := range checks {
		path := fmt.Sprintf("checks[%d]", i-len(prChecks))
		cdoc := doc
		if i < len(prChecks) {
			cdoc, path = pr.Doc, fmt.Sprintf("checks[%d]", i)
		}
		if c.Command != nil || c.File != nil || c.Package != nil || c.Printer != nil {
			b.fail(cdoc.Errorf(path, "host %s runs Windows: its checks are of the kinds dns, tcp, http, service, user, group and login; command, file, package and printer checks are for Linux hosts", host.Name))
			continue
		}
		if names[c.Name] {
			b.fail(cdoc.Errorf(path+".name", "check %q is defined twice for this hire", c.Name))
			continue
		}
		names[c.Name] = true
		s := newStep(plan.KindCheck, c.Name, fmt.Sprintf("Check %s on %s", c.Name, host.Name), checkTimeout(c))
		code := b.code(cdoc, host.OS, vars)
		expandIn := func(p, t string) string {
			v, err := playbook.Expand(t, vars)
			if err != nil {
				b.fail(cdoc.Errorf(p, "%v", err))
			}
			return v
		}
		s.Check = b.check(c, path, expandIn, code)
		if l := s.Check.Login; l != nil {
			b.loginCheck(pb, s, l, acctDir, username, path, i < len(prChecks), true)
		}
		s.DependsOn = machineIDs
	}
	// The check sets for Windows (baseline-windows, an inventory's set
	// extending it, or one of checks that run on both).
	prof := pr
	if prof == nil {
		prof = &playbook.Profile{}
	}
	for _, sc := range b.setChecks(pb, prof, names, host) {
		c := sc.check
		s := newStep(plan.KindCheck, c.Name, fmt.Sprintf("Check %s on %s", c.Name, host.Name), checkTimeout(c))
		s.Check = b.check(c, sc.path, func(p, t string) string {
			v, err := playbook.Expand(t, vars)
			if err != nil {
				b.fail(sc.doc.Errorf(p, "%v", err))
			}
			return v
		}, b.code(sc.doc, host.OS, vars))
		s.Check.Set = sc.set
		s.DependsOn = machineIDs
	}
	for _, s := range *steps {
		sort.Strings(s.DependsOn)
	}
}
