// Package playbook reads the YAML that describes one new hire (and the role
// profiles playbooks name), strictly, with file:line:column in every error.
package playbook

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"onboard/internal/strictyaml"
)

// Playbook is one new hire's setup, as written.
type Playbook struct {
	Person  Person            `yaml:"person" onboard:"required"`
	Profile string            `yaml:"profile"`
	Vars    map[string]string `yaml:"vars" onboard:"text"`
	Account Account           `yaml:"account"`
	Machine Machine           `yaml:"machine"`
	Checks  []Check           `yaml:"checks"`
	// CheckSets name check sets run at handover besides Checks: "baseline"
	// or "baseline@1" (the version pinned).
	CheckSets []string `yaml:"check_sets"`
	// Waivers let named checks fail for this hire without blocking the
	// handover, each with a reason and an expiry date.
	Waivers  []Waiver `yaml:"waivers"`
	Handover Handover `yaml:"handover"`
	// Notify: who learns of the handover, a failure, a task left for a
	// human, drift (see notify.go).
	Notify []NotifyRule `yaml:"notify"`
	// Prune: the kinds a re-plan removes even when the journal does not
	// show onboard put them there (see Prune).
	Prune Prune `yaml:"prune"`

	// Set by Load.
	File string          `yaml:"-"`
	Doc  *strictyaml.Doc `yaml:"-"`
}

// Prune says, per kind, whether a re-plan of a moved hire removes what
// the new setup does not name although onboard did not put it there (by
// hand, or from before). Without it, only what the journal shows onboard
// placed is removed.
type Prune struct {
	Groups   bool `yaml:"groups"`
	Software bool `yaml:"software"`
	Printers bool `yaml:"printers"`
}

// Person is who is being onboarded.
type Person struct {
	EmployeeID    string `yaml:"employee_id" onboard:"required"`
	GivenName     string `yaml:"given_name" onboard:"required"`
	Surname       string `yaml:"surname" onboard:"required"`
	PreferredName string `yaml:"preferred_name"`
	Title         string `yaml:"title"`
	Department    string `yaml:"department"`
	Manager       string `yaml:"manager"`
	StartDate     string `yaml:"start_date" onboard:"required"`
	Email         string `yaml:"email"`
}

// DisplayName is the preferred name (or given name) and surname.
func (p Person) DisplayName() string {
	first := p.PreferredName
	if first == "" {
		first = p.GivenName
	}
	return first + " " + p.Surname
}

// Account is the hire's directory account.
type Account struct {
	Directory  string            `yaml:"directory"`
	Username   string            `yaml:"username"`
	Groups     List              `yaml:"groups"`
	Attributes map[string]string `yaml:"attributes"`
	// MustChangePassword: the hire must change the initial password at
	// first logon (default true).
	MustChangePassword *bool `yaml:"must_change_password"`
	// Adopt takes over an existing account with this username instead of
	// stopping with an error.
	Adopt    bool     `yaml:"adopt"`
	Password Password `yaml:"password"`
}

// Password says how the generated initial password reaches the hire.
type Password struct {
	// Deliver is file:PATH (written with mode 0600) or terminal (printed
	// once to the technician's terminal).
	Deliver string `yaml:"deliver"`
	Length  int    `yaml:"length"`
	// Adopted says what an adopted account that is disabled gets when it
	// is enabled: reset (the default: a new password, delivered) or keep
	// (its old password, which somebody else may know).
	Adopted string `yaml:"adopted"`
}

// DomainJoin joins the machine to the account's (or another) directory.
type DomainJoin struct {
	Directory string `yaml:"directory"`
	OU        string `yaml:"ou"`
	// Stale: what to do with an existing computer account of the machine's
	// name when the machine is not joined: reuse it, or fail (default).
	Stale    string `yaml:"stale"`
	Prestage bool   `yaml:"prestage"`
	// Name is the computer account name; default: the machine's host name.
	Name string `yaml:"name"`
	// Logins: "sssd" configures SSSD after the join, so that domain users
	// (the hire) resolve and sign in on the machine; default none.
	Logins string `yaml:"logins"`
}

// Machine is the hire's workstation: an inventory host, or one described
// inline (a laptop fresh out of its box, not yet in the inventory).
type Machine struct {
	Host string `yaml:"host"`
	// Inline host description; Address makes the host inline.
	Address        string   `yaml:"address"`
	Port           int      `yaml:"port"`
	OS             string   `yaml:"os"`
	Transport      string   `yaml:"transport"`
	User           string   `yaml:"user"`
	Credential     string   `yaml:"credential"`
	Auth           string   `yaml:"auth"`
	KnownHosts     []string `yaml:"known_hosts" onboard:"one"`
	HostKey        []string `yaml:"host_key" onboard:"one"`
	Become         string   `yaml:"become"`
	BecomePassword string   `yaml:"become_password"`
	PackageManager string   `yaml:"package_manager"`

	DomainJoin     *DomainJoin `yaml:"domain_join"`
	Software       List        `yaml:"software"`
	Printers       List        `yaml:"printers"`
	DefaultPrinter string      `yaml:"default_printer"`
	Files          []File      `yaml:"files"`
	Commands       []Command   `yaml:"commands"`
	// LocalGroups (Windows): local groups the hire's domain account joins.
	LocalGroups []string `yaml:"local_groups"`
}

// File is a file to write on the machine.
type File struct {
	Path    string        `yaml:"path" onboard:"required"`
	Content string        `yaml:"content" onboard:"text"`
	Source  string        `yaml:"source"` // a local file, relative to the playbook
	Owner   string        `yaml:"owner"`
	Group   string        `yaml:"group"`
	Mode    string        `yaml:"mode"`
	Timeout time.Duration `yaml:"timeout"`
	// Sensitive: the content is never shown (--diff redacts it), and the
	// mode defaults to 0600.
	Sensitive bool `yaml:"sensitive"`
}

// Command is a command to run on the machine. Creates or Unless keep it
// idempotent: without one, a re-run would run it again.
type Command struct {
	Name       string        `yaml:"name" onboard:"required"`
	Run        string        `yaml:"run" onboard:"required,text"`
	Creates    string        `yaml:"creates"`
	Unless     string        `yaml:"unless" onboard:"text"`
	Privileged bool          `yaml:"privileged"`
	Timeout    time.Duration `yaml:"timeout"`
}

// Check is a declarative check run before handover (goss style): exactly
// one kind (command, file, package, printer, or one of check.go's).
type Check struct {
	Name    string        `yaml:"name" onboard:"required"`
	Command *CommandCheck `yaml:"command"`
	File    *FileCheck    `yaml:"file"`
	Package *PackageCheck `yaml:"package"`
	Printer *PrinterCheck `yaml:"printer"`
	DNS     *DNSCheck     `yaml:"dns"`
	TCP     *TCPCheck     `yaml:"tcp"`
	HTTP    *HTTPCheck    `yaml:"http"`
	Service *ServiceCheck `yaml:"service"`
	User    *UserCheck    `yaml:"user"`
	Group   *GroupCheck   `yaml:"group"`
	Login   *LoginCheck   `yaml:"login"`
	Retry   *Retry        `yaml:"retry"`
	Timeout time.Duration `yaml:"timeout"`

	// WindowsSecurity is one item of Windows' security baseline
	// (check_windows_security.go).
	WindowsSecurity *WindowsSecurityCheck `yaml:"windows_security"`
}

// CommandCheck passes when the command exits as expected and its output
// contains every stdout entry (a /regexp/ or a substring).
type CommandCheck struct {
	Run        string   `yaml:"run" onboard:"required,text"`
	ExitStatus *int     `yaml:"exit_status"`
	Stdout     []string `yaml:"stdout" onboard:"text"`
	Privileged bool     `yaml:"privileged"`
	// CannotTellExit is the exit status by which the command says the
	// host cannot tell (never a pass); NotApplicableExit, the one by which
	// it says the check does not apply to this host.
	CannotTellExit    int `yaml:"cannot_tell_exit"`
	NotApplicableExit int `yaml:"not_applicable_exit"`
}

// Waiver lets one check fail for this hire without blocking the handover,
// until the end of Expires (a UTC day).
type Waiver struct {
	Check   string `yaml:"check" onboard:"required"`
	Reason  string `yaml:"reason" onboard:"required"`
	Expires string `yaml:"expires" onboard:"required"`
}

// FileCheck passes when the path exists (or not) with the given properties.
type FileCheck struct {
	Path     string   `yaml:"path" onboard:"required"`
	Exists   *bool    `yaml:"exists"`
	Mode     string   `yaml:"mode"`
	Owner    string   `yaml:"owner"`
	Contains []string `yaml:"contains" onboard:"text"`
}

// PackageCheck passes when an OS package is installed (or not).
type PackageCheck struct {
	Name      string `yaml:"name" onboard:"required"`
	Installed *bool  `yaml:"installed"`
	Version   string `yaml:"version"`
}

// PrinterCheck passes when a CUPS queue exists (and is the default).
type PrinterCheck struct {
	Name    string `yaml:"name" onboard:"required"`
	Exists  *bool  `yaml:"exists"`
	Default bool   `yaml:"default"`
}

// Handover says what the handover report contains and where it goes.
type Handover struct {
	Contact string   `yaml:"contact"`
	Notes   string   `yaml:"notes" onboard:"text"`
	Reports []string `yaml:"reports"`
	Manual  []string `yaml:"manual" onboard:"text"`
	Welcome Welcome  `yaml:"welcome"`
}

// Welcome asks for a welcome sheet for the hire (see docs/welcome-sheet.md).
type Welcome struct {
	// Sheets are the files to write, as handover.reports: .md or .html.
	Sheets []string `yaml:"sheets"`
	// Password: "sheet" puts the initial password on the sheet (read from
	// its password file); by default the sheet only says how it arrives.
	Password string `yaml:"password"`
	// FirstLogin replaces the profile's (or the default) first-login text.
	FirstLogin string `yaml:"first_login" onboard:"text"`
}

// List is a list of names that a playbook either writes plainly (items
// added to the profile's) or as a mapping with add and omit.
type List struct {
	Add  []string
	Omit []string
	// AddPaths and OmitPaths are the field paths of each item, for errors.
	AddPaths, OmitPaths []string
}

// UnmarshalStrict accepts `[a, b]` or `{add: [a], omit: [b]}`.
func (l *List) UnmarshalStrict(d *strictyaml.Decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.SequenceNode, yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		d.Value(n, reflectOf(&l.Add), path)
		for i := range l.Add {
			l.AddPaths = append(l.AddPaths, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.MappingNode:
		var m struct {
			Add  []string `yaml:"add"`
			Omit []string `yaml:"omit"`
		}
		d.Value(n, reflectOf(&m), path)
		l.Add, l.Omit = m.Add, m.Omit
		for i := range l.Add {
			l.AddPaths = append(l.AddPaths, fmt.Sprintf("%s.add[%d]", path, i))
		}
		for i := range l.Omit {
			l.OmitPaths = append(l.OmitPaths, fmt.Sprintf("%s.omit[%d]", path, i))
		}
	default:
		d.Fail(d.PosOf(n), path, "must be a list of names, or a mapping with add and omit")
	}
}
