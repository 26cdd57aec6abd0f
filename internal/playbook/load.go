package playbook

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

func reflectOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// Load reads and checks one playbook file. Errors name file:line:column.
func Load(path string) (*Playbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read playbook: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a playbook from data; path names the file in errors. When
// the YAML itself is readable, the playbook is returned even with errors,
// so the planner can report its own findings alongside them; on a syntax
// error it is nil.
func Parse(path string, data []byte) (*Playbook, error) {
	pb := &Playbook{File: path}
	doc, err := strictyaml.Decode(path, data, pb)
	pb.Doc = doc
	if doc == nil || !doc.Has("") {
		return nil, err
	}
	var errs *multierror.Error
	if err != nil {
		errs = multierror.Append(errs, err)
	}
	if doc != nil {
		// Checked whatever decoding found, so that every error is reported
		// at once; what a check would say again about a refused value is
		// dropped.
		errs = multierror.Append(errs, strictyaml.DropFollowOn(pb.check(), doc)...)
	}
	if errs != nil {
		errs.ErrorFormat = strictyaml.ListFormat
	}
	return pb, errs.ErrorOrNil()
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	modeRE     = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	employeeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// check validates what a playbook can say about itself, without the
// inventory: formats, exclusive fields, template syntax.
func (pb *Playbook) check() []error {
	var errs []error
	d := pb.Doc
	fail := func(path, format string, args ...any) { errs = append(errs, d.Errorf(path, format, args...)) }

	p := pb.Person
	if p.EmployeeID != "" && !employeeRE.MatchString(p.EmployeeID) {
		fail("person.employee_id", "must be letters, digits, '.', '_' or '-' (it names steps and files), got %q", p.EmployeeID)
	}
	if p.StartDate != "" {
		if _, err := time.Parse("2006-01-02", p.StartDate); err != nil || !dateRE.MatchString(p.StartDate) {
			fail("person.start_date", "must be a date written YYYY-MM-DD, got %q", p.StartDate)
		}
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			fail("person.email", "is not an email address: %q", p.Email)
		}
	}
	for _, f := range []struct{ path, v string }{
		{"person.given_name", p.GivenName}, {"person.surname", p.Surname}, {"person.preferred_name", p.PreferredName},
	} {
		if strings.ContainsAny(f.v, "\n\r") {
			fail(f.path, "must be one line")
		}
	}

	m := pb.Machine
	if m.Host != "" && !nameRE.MatchString(m.Host) {
		fail("machine.host", "must be a host name (letters, digits, '.', '_', '-'), got %q", m.Host)
	}
	if m.Address == "" {
		// Connection fields only describe an inline machine; for an
		// inventory host they would be silently ignored.
		for _, f := range []struct {
			path string
			set  bool
		}{
			{"machine.os", m.OS != ""}, {"machine.transport", m.Transport != ""}, {"machine.user", m.User != ""},
			{"machine.credential", m.Credential != ""}, {"machine.port", m.Port != 0}, {"machine.auth", m.Auth != ""},
			{"machine.known_hosts", len(m.KnownHosts) > 0}, {"machine.host_key", len(m.HostKey) > 0},
			{"machine.become", m.Become != ""}, {"machine.become_password", m.BecomePassword != ""},
			{"machine.package_manager", m.PackageManager != ""},
		} {
			if f.set {
				fail(f.path, "describes an inline machine, so machine.address is needed too (an inventory host's settings live in the inventory)")
			}
		}
	}
	for _, r := range []struct{ path, v string }{{"machine.credential", m.Credential}, {"machine.become_password", m.BecomePassword}} {
		if r.v == "" {
			continue
		}
		if secret.Ref(r.v).Validate() == nil {
			// A playbook may come from another system (HR): given env: or
			// file:, it could send any of the technician's secrets to the
			// address it names.
			fail(r.path, "names a credential the inventory defines for inline machines (playbooks.credentials), never a reference: a playbook cannot use the technician's env:, file: or cmd: secrets")
		} else if !nameRE.MatchString(r.v) {
			// Never echo the value: it may be a pasted password.
			fail(r.path, "must name a credential of the inventory's playbooks.credentials (letters, digits, '.', '_', '-'; got %d characters)", len(r.v))
		}
	}
	if (m.Host != "" || m.Address != "") && m.Host == "" {
		fail("machine.host", "is required: name the machine (an inventory host, or a name for the inline machine)")
	}
	for i, f := range m.Files {
		path := fmt.Sprintf("machine.files[%d]", i)
		if !IsAbs(f.Path) && !strings.HasPrefix(f.Path, "${") {
			fail(path+".path", "must be an absolute path, got %q", f.Path)
		}
		if f.Content != "" && f.Source != "" {
			fail(path+".source", "give content or source, not both")
		}
		if f.Mode != "" && !modeRE.MatchString(f.Mode) {
			fail(path+".mode", "must be an octal mode in quotes such as \"0644\", got %q (unquoted 0644 is read as a number)", f.Mode)
		} else if m, err := strconv.ParseUint(f.Mode, 8, 32); err == nil && f.Sensitive && m&0o004 != 0 {
			fail(path+".mode", "lets every user of the machine read a file marked sensitive: give a mode without read for others, such as \"0600\" or \"0640\" (the default of a sensitive file is 0600)")
		}
		// A source is read when the plan is made, confined to the folders
		// the inventory allows (internal/planner/reach.go).
	}
	names := map[string]bool{}
	for i, c := range m.Commands {
		path := fmt.Sprintf("machine.commands[%d]", i)
		if c.Creates == "" && c.Unless == "" {
			fail(path, "needs creates (a path the command makes) or unless (a command that exits 0 when the work is done), so that a re-run changes nothing")
		}
		if names[c.Name] {
			fail(path+".name", "%q is used by another command", c.Name)
		}
		names[c.Name] = true
	}
	a := pb.Account
	if a.Password.Deliver != "" && a.Password.Deliver != "terminal" && !strings.HasPrefix(a.Password.Deliver, "file:") {
		fail("account.password.deliver", "must be file:PATH or terminal, got %q", a.Password.Deliver)
	}
	if a.Password.Length != 0 && (a.Password.Length < 12 || a.Password.Length > 128) {
		fail("account.password.length", "must be between 12 and 128, got %d", a.Password.Length)
	}
	if a.Password.Adopted != "" && a.Password.Adopted != "reset" && a.Password.Adopted != "keep" {
		fail("account.password.adopted", "must be reset or keep, got %q", a.Password.Adopted)
	} else if a.Password.Adopted != "" && !a.Adopt {
		fail("account.password.adopted", "applies only with account.adopt: true")
	}
	if a.Directory != "" && a.Password.Deliver == "" {
		fail("account.password.deliver", "is required with a directory account: say how the initial password reaches the hire (file:PATH or terminal)")
	}
	if a.Directory == "" && (a.Password.Deliver != "" || a.Adopt || a.MustChangePassword != nil) {
		fail("account.directory", "is required: the account settings need a directory to make the account in")
	}
	if pb.Prune.Groups && a.Directory == "" {
		fail("prune.groups", "prunes the groups of the hire's directory account: set account.directory")
	}
	if w := pb.Handover.Welcome; w.Password != "" || w.FirstLogin != "" || len(w.Sheets) > 0 {
		for i, f := range w.Sheets {
			if e := strings.ToLower(filepath.Ext(f)); e != ".md" && e != ".html" && e != ".htm" {
				fail(fmt.Sprintf("handover.welcome.sheets[%d]", i), "a welcome sheet is .md or .html, got %q", f)
			}
		}
		switch {
		case len(w.Sheets) == 0:
			fail("handover.welcome.sheets", "is required: the files the welcome sheet is written to (.md, .html)")
		case w.Password != "" && w.Password != "sheet":
			fail("handover.welcome.password", "must be sheet (the initial password is printed on the sheet) or left out, got %q", w.Password)
		case w.Password == "sheet" && !strings.HasPrefix(a.Password.Deliver, "file:"):
			fail("handover.welcome.password", "sheet copies the initial password from its password file: account.password.deliver must be file:PATH")
		}
	}
	if j := m.DomainJoin; j != nil {
		if j.Stale != "" && j.Stale != "reuse" && j.Stale != "fail" {
			fail("machine.domain_join.stale", "must be reuse or fail, got %q", j.Stale)
		}
		if j.Logins != "" && j.Logins != "sssd" {
			fail("machine.domain_join.logins", "must be sssd (domain users sign in through SSSD), got %q", j.Logins)
		}
		if j.Directory == "" && a.Directory == "" {
			fail("machine.domain_join.directory", "is required: name the domain's directory (or set account.directory)")
		}
		if j.Name != "" && !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`).MatchString(j.Name) {
			fail("machine.domain_join.name", "a computer name is letters, digits and '-', at most 15 characters (NetBIOS), got %q", j.Name)
		}
	}
	errs = append(errs, checkChecks(d, "checks", pb.Checks)...)
	errs = append(errs, CheckNotify(d, "notify", pb.Notify)...)
	errs = append(errs, CheckSetRefs(d, "check_sets", pb.CheckSets)...)
	errs = append(errs, checkWaivers(d, pb.Waivers)...)
	errs = append(errs, pb.checkTemplates()...)
	return errs
}

// CheckChecks validates a list of checks (of a playbook, a profile or a
// check set) at the field path base of d.
func CheckChecks(d *strictyaml.Doc, base string, checks []Check) []error {
	return checkChecks(d, base, checks)
}

// setRefRE is a check set reference: NAME or NAME@VERSION.
var setRefRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(@([1-9][0-9]*))?$`)

// ParseSetRef splits "baseline@1" into its name and version (0 when none
// is pinned).
func ParseSetRef(ref string) (name string, version int, err error) {
	m := setRefRE.FindStringSubmatch(ref)
	if m == nil {
		return "", 0, fmt.Errorf("must name a check set as NAME or NAME@VERSION (baseline, baseline@1), got %q", ref)
	}
	if m[3] != "" {
		version, _ = strconv.Atoi(m[3])
	}
	return m[1], version, nil
}

// CheckSetRefs validates the spelling of check set references at base.
func CheckSetRefs(d *strictyaml.Doc, base string, refs []string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range refs {
		path := fmt.Sprintf("%s[%d]", base, i)
		name, _, err := ParseSetRef(r)
		switch {
		case err != nil:
			errs = append(errs, d.Errorf(path, "%v", err))
		case seen[name]:
			errs = append(errs, d.Errorf(path, "check set %s is named twice", name))
		}
		seen[name] = true
	}
	return errs
}

// checkWaivers validates what a waiver says on its own; that its check
// exists is known only once sets are resolved (the planner).
func checkWaivers(d *strictyaml.Doc, ws []Waiver) []error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range ws {
		path := fmt.Sprintf("waivers[%d]", i)
		if d.Has(path + ".expires") {
			if _, err := time.Parse("2006-01-02", w.Expires); err != nil || !dateRE.MatchString(w.Expires) {
				errs = append(errs, d.Errorf(path+".expires", "must be a date written YYYY-MM-DD (the last day the waiver applies, UTC), got %q", w.Expires))
			}
		}
		if w.Check != "" && seen[w.Check] {
			errs = append(errs, d.Errorf(path+".check", "check %q is waived twice", w.Check))
		}
		seen[w.Check] = true
	}
	return errs
}

func checkChecks(d *strictyaml.Doc, base string, checks []Check) []error {
	var errs []error
	names := map[string]bool{}
	for i, c := range checks {
		path := fmt.Sprintf("%s[%d]", base, i)
		if n := len(c.kinds()); n != 1 && !(n == 0 && d.FailedWithin(path)) {
			errs = append(errs, d.Errorf(path, "needs exactly one of %s (has %d)", strings.Join(CheckKinds, ", "), n))
		}
		errs = append(errs, c.validate(d, path)...)
		if names[c.Name] {
			errs = append(errs, d.Errorf(path+".name", "%q is used by another check", c.Name))
		}
		names[c.Name] = true
		if c.File != nil && c.File.Mode != "" && !modeRE.MatchString(c.File.Mode) {
			errs = append(errs, d.Errorf(path+".file.mode", "must be an octal mode in quotes such as \"0644\", got %q", c.File.Mode))
		}
		if c.Command != nil {
			errs = append(errs, c.Command.checkExits(d, path+".command")...)
			for j, s := range c.Command.Stdout {
				if len(s) > 1 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
					if _, err := regexp.Compile(s[1 : len(s)-1]); err != nil {
						errs = append(errs, d.Errorf(fmt.Sprintf("%s.command.stdout[%d]", path, j), "bad regular expression: %v", err))
					}
				}
			}
		}
	}
	return errs
}

// TemplateVars are the names a template may use for this playbook. The
// username and home are given by the caller once the account is known.
func (pb *Playbook) TemplateVars(username, host string) map[string]string {
	p := pb.Person
	v := map[string]string{
		"person.employee_id":    p.EmployeeID,
		"person.given_name":     p.GivenName,
		"person.surname":        p.Surname,
		"person.preferred_name": p.PreferredName,
		"person.name":           p.DisplayName(),
		"person.title":          p.Title,
		"person.department":     p.Department,
		"person.manager":        p.Manager,
		"person.start_date":     p.StartDate,
		"person.email":          p.Email,
		"machine.host":          host,
	}
	if username != "" {
		v["account.username"] = username
		v["account.home"] = "/home/" + username
	}
	for k, val := range pb.Vars {
		v["vars."+k] = val
	}
	return v
}

// checkTemplates expands every templated field once with placeholder
// values, so a syntax error or unknown name is reported at load time.
func (pb *Playbook) checkTemplates() []error {
	var errs []error
	// The username cannot refer to itself: it is expanded without account.*.
	if _, err := Expand(pb.Account.Username, pb.TemplateVars("", pb.Machine.Host)); err != nil {
		errs = append(errs, templateErrors(pb.Doc, "account.username", err)...)
	}
	vars := pb.TemplateVars("username", "host")
	try := func(path, s string) {
		if _, err := Expand(s, vars); err != nil {
			errs = append(errs, templateErrors(pb.Doc, path, err)...)
		}
	}
	for k, v := range pb.Account.Attributes {
		try("account.attributes."+k, v)
	}
	for i, f := range pb.Machine.Files {
		p := fmt.Sprintf("machine.files[%d]", i)
		try(p+".path", f.Path)
		try(p+".content", f.Content)
		try(p+".owner", f.Owner)
	}
	for i, c := range pb.Machine.Commands {
		p := fmt.Sprintf("machine.commands[%d]", i)
		try(p+".run", c.Run)
		try(p+".creates", c.Creates)
		try(p+".unless", c.Unless)
	}
	errs = append(errs, checkCheckTemplates(pb.Doc, "checks", pb.Checks, vars)...)
	try("handover.notes", pb.Handover.Notes)
	try("account.password.deliver", pb.Account.Password.Deliver)
	return errs
}

// CheckTemplates validates the templated fields of checks defined outside
// a playbook (a check set) against the names any playbook offers.
func CheckTemplates(doc *strictyaml.Doc, base string, checks []Check) []error {
	return checkCheckTemplates(doc, base, checks, (&Playbook{}).TemplateVars("username", "host"))
}

// checkCheckTemplates validates the templated fields of checks (of a
// playbook or a profile) against the names a playbook offers.
func checkCheckTemplates(doc *strictyaml.Doc, base string, checks []Check, vars map[string]string) []error {
	var errs []error
	try := func(path, s string) {
		if _, err := Expand(s, vars); err != nil {
			errs = append(errs, templateErrors(doc, path, err)...)
		}
	}
	for i, c := range checks {
		p := fmt.Sprintf("%s[%d]", base, i)
		if c.Command != nil {
			try(p+".command.run", c.Command.Run)
		}
		if c.File != nil {
			try(p+".file.path", c.File.Path)
			for j, s := range c.File.Contains {
				try(fmt.Sprintf("%s.file.contains[%d]", p, j), s)
			}
		}
		for _, f := range c.templated(p) {
			try(f[0], f[1])
		}
	}
	return errs
}

// templateErrors is one error at path for each problem of a template.
func templateErrors(doc *strictyaml.Doc, path string, err error) []error {
	var errs []error
	for _, p := range Problems(err) {
		errs = append(errs, doc.Errorf(path, "%s", p))
	}
	return errs
}

// Profile is a role profile: what every hire of a role gets.
type Profile struct {
	Description    string   `yaml:"description"`
	Groups         []string `yaml:"groups"`
	Software       []string `yaml:"software"`
	Printers       []string `yaml:"printers"`
	DefaultPrinter string   `yaml:"default_printer"`
	Checks         []Check  `yaml:"checks"`
	// CheckSets name check sets every hire of the role is checked against.
	CheckSets []string `yaml:"check_sets"`
	Manual    []string `yaml:"manual" onboard:"text"`
	// JoinOU is the OU that machines of this role join into.
	JoinOU string `yaml:"join_ou"`
	// Notify: rules every hire of the role gets (see notify.go).
	Notify []NotifyRule `yaml:"notify"`
	// FirstLogin is the first-login text of this role's welcome sheets.
	FirstLogin string `yaml:"first_login" onboard:"text"`

	Name string          `yaml:"-"`
	File string          `yaml:"-"`
	Doc  *strictyaml.Doc `yaml:"-"`
}

// LoadProfile reads one profile file.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	pr := &Profile{File: path, Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))}
	doc, err := strictyaml.Decode(path, data, pr)
	pr.Doc = doc
	var errs *multierror.Error
	errs = multierror.Append(errs, err)
	if doc != nil {
		errs = multierror.Append(errs, strictyaml.DropFollowOn(checkChecks(doc, "checks", pr.Checks), doc)...)
		errs = multierror.Append(errs, strictyaml.DropFollowOn(CheckNotify(doc, "notify", pr.Notify), doc)...)
		errs = multierror.Append(errs, strictyaml.DropFollowOn(CheckSetRefs(doc, "check_sets", pr.CheckSets), doc)...)
		errs = multierror.Append(errs, strictyaml.DropFollowOn(checkCheckTemplates(doc, "checks", pr.Checks, (&Playbook{}).TemplateVars("username", "host")), doc)...)
	}
	errs.ErrorFormat = strictyaml.ListFormat
	return pr, errs.ErrorOrNil()
}

// FindProfile looks for NAME.yaml in each directory in order.
func FindProfile(name string, dirs []string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("profile name %q must be letters, digits, '.', '_' or '-'", name)
	}
	for _, dir := range dirs {
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(dir, name+ext)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("unknown profile %q: no %s.yaml or %s.yml in %s", name, name, name, strings.Join(dirs, ", "))
}

// ParseMode reads an octal mode string.
func ParseMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	return os.FileMode(v), err
}

var winAbs = regexp.MustCompile(`^([A-Za-z]:\\|\\\\)`)

// IsAbs reports whether p is an absolute path on Linux or Windows.
func IsAbs(p string) bool { return strings.HasPrefix(p, "/") || winAbs.MatchString(p) }

// checkExits refuses verdict exit statuses that would be ambiguous: the
// one a pass exits with, the shell's 126 and 127 (a tool missing), or one
// status for two verdicts.
func (c *CommandCheck) checkExits(d *strictyaml.Doc, path string) []error {
	var errs []error
	pass := 0
	if c.ExitStatus != nil {
		pass = *c.ExitStatus
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"cannot_tell_exit", c.CannotTellExit}, {"not_applicable_exit", c.NotApplicableExit}} {
		switch {
		case !d.Has(path + "." + f.field):
		case f.v < 1 || f.v > 125:
			errs = append(errs, d.Errorf(path+"."+f.field, "must be an exit status from 1 to 125 (126 and 127 already mean a tool is missing), got %d", f.v))
		case f.v == pass:
			errs = append(errs, d.Errorf(path+"."+f.field, "is %d, the exit status of a pass", f.v))
		}
	}
	if c.CannotTellExit != 0 && c.CannotTellExit == c.NotApplicableExit {
		errs = append(errs, d.Errorf(path+".not_applicable_exit", "is %d, also cannot_tell_exit", c.NotApplicableExit))
	}
	return errs
}
