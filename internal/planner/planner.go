// Package planner turns playbooks and the inventory into a plan: it merges
// role profiles, resolves hosts and catalogue entries, expands templates,
// and orders the steps. It reads files only; it never touches a host.
package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// Options tune plan building.
type Options struct {
	// ProfileDirs are searched in order for NAME.yaml. When empty, a
	// playbook's own profiles/ folder and ./playbooks/profiles are used.
	ProfileDirs []string
	// Now stamps the plan; zero means time.Now.
	Now time.Time
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
	p := &plan.Plan{Version: 1, Created: now, Hosts: map[string]*plan.Host{}}
	b := &builder{inv: inv, opt: opt, plan: p, profiles: map[string]*playbook.Profile{}}
	seen := map[string]string{}
	for _, pb := range pbs {
		p.Sources = append(p.Sources, pb.File)
		if prev, ok := seen[pb.Person.EmployeeID]; ok {
			b.fail(pb.Doc.Errorf("person.employee_id", "%q is also the employee id in %s: one playbook per hire", pb.Person.EmployeeID, prev))
			continue
		}
		seen[pb.Person.EmployeeID] = pb.File
		b.hire(pb)
	}
	if b.errs != nil {
		b.errs.ErrorFormat = strictyaml.ListFormat
		return nil, b.errs
	}
	return p, nil
}

type builder struct {
	inv      *inventory.Inventory
	opt      Options
	plan     *plan.Plan
	profiles map[string]*playbook.Profile
	errs     *multierror.Error
}

func (b *builder) fail(err error) { b.errs = multierror.Append(b.errs, err) }

func (b *builder) profile(pb *playbook.Playbook) *playbook.Profile {
	if pb.Profile == "" {
		return &playbook.Profile{}
	}
	dirs := b.opt.ProfileDirs
	if len(dirs) == 0 {
		dirs = []string{filepath.Join(filepath.Dir(pb.File), "profiles"), filepath.Join("playbooks", "profiles")}
	}
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

var usernameClean = regexp.MustCompile(`[^a-z0-9._-]+`)

// DefaultUsername is the first initial and the surname, lowercased, folded
// to ASCII, with anything but letters, digits, '.', '_' and '-' dropped,
// at most 20 characters (Active Directory's sAMAccountName limit).
func DefaultUsername(p playbook.Person) string {
	first := []rune(playbook.ASCII(p.GivenName))
	u := strings.ToLower(playbook.ASCII(p.Surname))
	if len(first) > 0 {
		u = strings.ToLower(string(first[0])) + u
	}
	u = usernameClean.ReplaceAllString(u, "")
	if len(u) > 20 {
		u = u[:20]
	}
	return u
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
		Handover: plan.Handover{Contact: pb.Handover.Contact, Reports: pb.Handover.Reports},
	}
	h.Manual = append(append(h.Manual, pr.Manual...), pb.Handover.Manual...)

	// The username first: templates elsewhere may use it.
	vars := pb.TemplateVars("", pb.Machine.Host)
	username := DefaultUsername(pb.Person)
	templateOK := true
	if pb.Account.Username != "" {
		u, err := playbook.Expand(pb.Account.Username, vars)
		if err != nil {
			b.fail(doc.Errorf("account.username", "%v", err))
			templateOK = false
		}
		username = u
	}
	if templateOK && !regexp.MustCompile(`^[a-z_][a-z0-9._-]{0,31}$`).MatchString(username) {
		b.fail(doc.Errorf("account.username", "%q is not a valid username (lowercase letters, digits, '.', '_', '-'; at most 32; not starting with a digit or '-')", username))
	}
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

	host := b.host(pb)
	if host == nil {
		if pb.Machine.Host == "" && len(software.items)+len(printers.items)+len(pb.Machine.Files)+len(pb.Machine.Commands) > 0 {
			b.fail(doc.Errorf("machine.host", "is required: software, printers, files and commands need a machine"))
		}
		b.plan.Hires = append(b.plan.Hires, h)
		return
	}
	if host.Transport != "ssh" {
		b.fail(doc.Errorf("machine.host", "host %s uses transport %s, which this version of onboard cannot drive yet (only ssh)", host.Name, host.Transport))
	}
	b.plan.Hosts[host.Name] = host

	prefix := id + ":"
	var steps []*plan.Step
	newStep := func(kind, name, title string, timeout time.Duration) *plan.Step {
		if timeout == 0 {
			timeout = defaultTimeouts[kind]
		}
		s := &plan.Step{ID: prefix + kind + ":" + name, Kind: kind, Hire: id, Host: host.Name, Title: title, Timeout: plan.Duration(timeout)}
		steps = append(steps, s)
		return s
	}

	var pkgIDs []string
	for _, name := range software.items {
		path := software.paths[name]
		entry, ok := b.inv.Software[name]
		if !ok {
			b.failItem(pb, pr, path, "unknown software %q: not in the software catalogue%s", name, strictyaml.Suggest(name, b.inv.Names("software")))
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
		s := newStep(plan.KindPackage, name, title+" on "+host.Name, 0)
		s.Package = &plan.PackageSpec{Name: name, Manager: mgr, Package: in.Package, Version: in.Version,
			Install: in.Install, IsInstalled: in.IsInstalled, VersionQuery: in.VersionQuery}
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
		entry, ok := b.inv.Printers[name]
		if !ok {
			b.failItem(pb, pr, path, "unknown printer %q: not in the printer catalogue%s", name, strictyaml.Suggest(name, b.inv.Names("printers")))
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
			data, err := os.ReadFile(filepath.Join(filepath.Dir(pb.File), f.Source))
			if err != nil {
				b.fail(doc.Errorf(path+".source", "%v", err))
			}
			content = string(data)
		} else {
			content = expand(path+".content", content)
		}
		fp := expand(path+".path", f.Path)
		s := newStep(plan.KindFile, fp, fmt.Sprintf("Write %s on %s", fp, host.Name), f.Timeout)
		s.File = &plan.FileSpec{Path: fp, Content: content, Owner: expand(path+".owner", f.Owner), Group: f.Group, Mode: f.Mode}
		s.DependsOn = append(s.DependsOn, pkgIDs...)
		fileIDs = append(fileIDs, s.ID)
	}

	var prev string
	for i, c := range pb.Machine.Commands {
		path := fmt.Sprintf("machine.commands[%d]", i)
		s := newStep(plan.KindCommand, c.Name, fmt.Sprintf("Run %q on %s", c.Name, host.Name), c.Timeout)
		s.Command = &plan.CommandSpec{Run: expand(path+".run", c.Run), Creates: expand(path+".creates", c.Creates),
			Unless: expand(path+".unless", c.Unless), Privileged: c.Privileged}
		s.DependsOn = append(append(s.DependsOn, pkgIDs...), fileIDs...)
		if prev != "" {
			s.DependsOn = append(s.DependsOn, prev)
		}
		prev = s.ID
	}

	// Checks come last and depend on every step that makes the machine.
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
		s := newStep(plan.KindCheck, c.Name, fmt.Sprintf("Check %s on %s", c.Name, host.Name), c.Timeout)
		s.Check = b.check(c, path, expand)
		s.DependsOn = machineIDs
	}
	for _, s := range steps {
		sort.Strings(s.DependsOn)
	}
	b.plan.Steps = append(b.plan.Steps, steps...)
	b.plan.Hires = append(b.plan.Hires, h)
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

func (b *builder) check(c playbook.Check, path string, expand func(string, string) string) *plan.CheckSpec {
	cs := &plan.CheckSpec{Name: c.Name}
	switch {
	case c.Command != nil:
		exit := 0
		if c.Command.ExitStatus != nil {
			exit = *c.Command.ExitStatus
		}
		cs.Command = &plan.CommandCheck{Run: expand(path+".command.run", c.Command.Run), ExitStatus: exit, Stdout: c.Command.Stdout, Privileged: c.Command.Privileged}
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
	}
	return cs
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
	f := inventory.HostFields{Address: m.Address, Port: m.Port, OS: m.OS, Transport: m.Transport, User: m.User,
		Credential: m.Credential, Auth: m.Auth, KnownHosts: m.KnownHosts, HostKey: m.HostKey, Become: m.Become,
		BecomePassword: m.BecomePassword, PackageManager: m.PackageManager}
	for _, err := range inventory.CheckHostFields(doc, "machine", f) {
		b.fail(err)
	}
	if m.OS == "" {
		b.fail(doc.Errorf("machine.os", "is required for an inline machine (linux, macos or windows)"))
	}
	dir, _ := filepath.Abs(filepath.Dir(pb.File))
	h := b.inv.Inline(m.Host, f, dir)
	h.Source = doc.Pos("machine").String()
	return h
}
