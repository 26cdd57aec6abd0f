// Package plan holds the plan: plain data listing every step of an
// onboarding, its dependencies and what it will change. Apply consumes only
// a plan; a plan can be printed as text or JSON and saved for later.
package plan

import (
	"fmt"
	"time"
)

// Action is what a step will do, as far as the plan can tell.
type Action string

const (
	// ActionUnknown: the step has not been checked (a static plan).
	ActionUnknown Action = ""
	// ActionNone: the step is already in the desired state.
	ActionNone Action = "none"
	// ActionCreate: the thing does not exist and will be made.
	ActionCreate Action = "create"
	// ActionUpdate: the thing exists but differs and will be changed.
	ActionUpdate Action = "update"
	// ActionCannotTell: the check could not run (host unreachable, or it
	// depends on a step that has not been applied yet).
	ActionCannotTell Action = "cannot-tell"
)

func (a Action) String() string {
	if a == ActionUnknown {
		return "unchecked"
	}
	return string(a)
}

// Step kinds known to the engine. Later kinds (directory accounts, domain
// join, Windows steps) add their own constants and specs.
const (
	KindPackage = "package"
	KindPrinter = "printer"
	KindCommand = "command"
	KindFile    = "file"
	KindCheck   = "check"

	// Directory kinds: their steps run against a directory (Step.Directory);
	// the join also runs on the host.
	KindAccount    = "account"
	KindMembership = "membership"
	KindActivate   = "activate"
	KindComputer   = "computer"
	KindJoin       = "domain-join"

	// Windows kinds, run over WinRM with generated PowerShell.
	KindWinSoftware = "win-software"
	KindWinPrinter  = "win-printer"
	KindLocalGroup  = "local-group"
	KindWinJoin     = "win-join"
	KindWinCommand  = "win-command"
	KindWinFile     = "win-file"
	KindReboot      = "reboot"
)

// Plan is everything apply needs, and nothing secret: credentials appear
// only as references, resolved at apply time.
type Plan struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Sources are the playbook files the plan was made from.
	Sources []string         `json:"sources"`
	Hires   []Hire           `json:"hires"`
	Hosts   map[string]*Host `json:"hosts"`
	// Directories are the LDAP directories the plan's accounts live in.
	Directories map[string]*Directory `json:"directories,omitempty"`
	Steps       []*Step               `json:"steps"`
	// Writable are the folders (symlinks resolved) the hires' handover
	// reports were confined to; each is written beneath its folder.
	Writable []string `json:"writable,omitempty"`
	// ProfileFiles are the role profile files the hires' profiles were
	// read from, sorted; for the inputs of a saved plan, not saved.
	ProfileFiles []string `json:"-"`
	// Inputs are the files a saved plan was made from, with their digests:
	// apply refuses the plan when one has changed since (a stale plan).
	Inputs []Input `json:"inputs,omitempty"`
	// DirectoryState is what a saved plan read in its directories and
	// depended on; apply refuses the plan when it has changed since.
	DirectoryState []DirectoryFact `json:"directory_state,omitempty"`
	// KnowledgeBase is the inventory's folder of known failures (absolute),
	// read again when the plan runs later (resume, a saved plan).
	KnowledgeBase string `json:"knowledge_base,omitempty"`
}

// Input is one file (or the file list of an inventory folder) a saved
// plan was made from.
type Input struct {
	Path string `json:"path"` // absolute
	// Kind is playbook, profile, inventory, or inventory-folder (whose
	// digest is of the names of the inventory files inside).
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
}

// DirectoryFact is one thing a saved plan found in a directory: the
// account of a username or of an employee id, a group's or a computer's
// DN, or that there is none.
type DirectoryFact struct {
	Directory string `json:"directory"`
	// Kind is account (by username), employee (the account of an employee
	// id), group or computer; Name the username, id or name looked up.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// State is Absent, or what was found: a DN (an account's with its
	// employee id), or the username of an employee's account.
	State string `json:"state"`
}

// Subject names what a fact is about, for a reader: "account ada",
// "the account of employee E1001", "group developers".
func (f DirectoryFact) Subject() string {
	if f.Kind == "employee" {
		return "the account of employee " + f.Name
	}
	return f.Kind + " " + f.Name
}

// Absent is the State of a DirectoryFact about something that does not
// exist.
const Absent = "absent"

// Directory is how to reach one LDAP directory. Secrets are references.
type Directory struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"` // active-directory or openldap
	URLs         []string `json:"urls"`
	BaseDN       string   `json:"base_dn"`
	UsersOU      string   `json:"users_ou"`
	GroupsBase   string   `json:"groups_base,omitempty"`
	ComputersOU  string   `json:"computers_ou,omitempty"`
	Domain       string   `json:"domain,omitempty"`
	BindDN       string   `json:"bind_dn"`
	BindPassword string   `json:"bind_password"` // reference
	CACert       string   `json:"ca_cert,omitempty"`
	JoinUser     string   `json:"join_user,omitempty"`
	JoinPassword string   `json:"join_password,omitempty"` // reference
	Source       string   `json:"source,omitempty"`
	// AllowAttributes extend the kind's allow-list of extra attributes.
	AllowAttributes []string `json:"allow_attributes,omitempty"`
	// Posix: Active Directory accounts get uidNumber and gidNumber (RFC
	// 2307), and joined machines use them instead of mapping IDs from
	// SIDs. OpenLDAP accounts always have them (posixAccount).
	Posix bool `json:"posix,omitempty"`
}

// Hire is the merged view of one playbook: what the plan will set up for
// one person, after the role profile was applied.
type Hire struct {
	ID         string   `json:"id"` // employee id
	Source     string   `json:"source"`
	Name       string   `json:"name"` // display name
	Username   string   `json:"username"`
	Email      string   `json:"email,omitempty"`
	Title      string   `json:"title,omitempty"`
	Department string   `json:"department,omitempty"`
	Manager    string   `json:"manager,omitempty"`
	StartDate  string   `json:"start_date,omitempty"`
	Profile    string   `json:"profile,omitempty"`
	Host       string   `json:"host,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	Software   []string `json:"software,omitempty"`
	Printers   []string `json:"printers,omitempty"`
	Handover   Handover `json:"handover"`
	Manual     []string `json:"manual,omitempty"` // left to do by hand
	Provenance []Origin `json:"provenance,omitempty"`
	// Kept lists what a re-plan of a moved hire keeps or removes of what
	// the earlier setup had, and the rule that decided each.
	Kept []Kept `json:"kept,omitempty"`
	// Moved says what changed since the run that last applied the hire's
	// setup (journal): "profile: \"engineering\" → \"sales\" (run R)".
	Moved []string `json:"moved,omitempty"`
	// Notify: the hire's notification rules, recipients resolved to
	// addresses when the plan was made.
	Notify []NotifyRule `json:"notify,omitempty"`
}

// NotifyRule is one notification rule of a hire: on these events, these
// recipients, through these inventory channels.
type NotifyRule struct {
	On  []string    `json:"on"`
	To  []Recipient `json:"to,omitempty"`
	Via []string    `json:"via"`
}

// Recipient is a rule's recipient as written (manager, on-duty,
// team:NAME, an address) and the address it stands for.
type Recipient struct {
	Who     string `json:"who"`
	Address string `json:"address"`
}

// Origin says where a merged item came from (profile or playbook), so the
// plan can show the merge.
type Origin struct {
	Item string `json:"item"` // e.g. "software: htop"
	From string `json:"from"` // "profile engineering", "playbook", "omitted by playbook"
}

// Handover holds what the handover report should contain and where it goes.
type Handover struct {
	Contact string   `json:"contact,omitempty"`
	Notes   string   `json:"notes,omitempty"`
	Reports []string `json:"reports,omitempty"` // paths to write (.md, .html, .xml)
	// Welcome is the hire's welcome sheet; nil when the playbook asks for none.
	Welcome *Welcome `json:"welcome,omitempty"`
}

// Welcome is what the hire's welcome sheet says and where it is written.
// Everything it shows besides the run's findings is fixed at plan time, so
// a sheet made later from the journal says the same.
type Welcome struct {
	Sheets []string `json:"sheets"` // paths to write (.md, .html)
	// Password is "sheet" when the playbook names the sheet as a channel
	// for the initial password (read back from its 0600 password file);
	// otherwise the sheet only says how the password reaches the hire.
	Password   string        `json:"password,omitempty"`
	OS         string        `json:"os,omitempty"`
	FirstLogin string        `json:"first_login,omitempty"`
	Helpdesk   *Helpdesk     `json:"helpdesk,omitempty"`
	Software   []WelcomeItem `json:"software,omitempty"`
	Printers   []WelcomeItem `json:"printers,omitempty"`
}

// WelcomeItem is one piece of software or one printer on the sheet: the
// step that sets it up (whose handover re-check proves it), what the hire
// reads, and a detail (where a printer is).
type WelcomeItem struct {
	Step    string `json:"step"`
	Display string `json:"display"`
	Detail  string `json:"detail,omitempty"`
}

// Helpdesk is where a hire gets help.
type Helpdesk struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	URL   string `json:"url,omitempty"`
	Hours string `json:"hours,omitempty"`
}

// Host is how to reach one machine. Secrets are references only.
type Host struct {
	Name       string `json:"name"`
	Address    string `json:"address"`
	Port       int    `json:"port,omitempty"`
	OS         string `json:"os"`        // linux, windows, macos
	Transport  string `json:"transport"` // ssh (winrm later)
	User       string `json:"user"`
	Credential string `json:"credential,omitempty"` // reference: env:, file:, cmd:
	// Auth is key, password or agent.
	Auth           string   `json:"auth,omitempty"`
	KnownHosts     []string `json:"known_hosts,omitempty"` // files
	HostKeys       []string `json:"host_keys,omitempty"`   // authorized_keys-format lines
	Become         string   `json:"become,omitempty"`      // sudo or none
	BecomePassword string   `json:"become_password,omitempty"`
	PackageManager string   `json:"package_manager,omitempty"` // apt
	// WinRM: HTTPS (default) or HTTP, the CA that signed the host's
	// certificate, the loudly named escape hatch, a client certificate.
	HTTPS              *bool  `json:"https,omitempty"`
	CACert             string `json:"ca_cert,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
	ClientCert         string `json:"client_cert,omitempty"`
	ClientKey          string `json:"client_key,omitempty"`
	// RebootTimeout: how long the host may take to come back (Windows).
	RebootTimeout Duration `json:"reboot_timeout,omitempty"`
	// Kerberos (WinRM): realm, KDC, keytab or ticket cache, service host.
	Realm       string `json:"realm,omitempty"`
	KDC         string `json:"kdc,omitempty"`
	Keytab      string `json:"keytab,omitempty"`
	CCache      string `json:"ccache,omitempty"`
	ServiceHost string `json:"service_host,omitempty"`
	// Source is the inventory file or playbook that described the host.
	Source string `json:"source,omitempty"`
}

// Step is one unit of work with check, apply and verify.
type Step struct {
	ID        string   `json:"id"` // unique in the plan, stable across runs
	Kind      string   `json:"kind"`
	Hire      string   `json:"hire"` // employee id
	Host      string   `json:"host,omitempty"`
	Directory string   `json:"directory,omitempty"`
	Title     string   `json:"title"`
	DependsOn []string `json:"depends_on,omitempty"`
	// Timeout bounds one attempt of the step (check, apply and verify).
	Timeout Duration `json:"timeout,omitempty"`

	// Rule says why a removal step removes its item (Rule* constants),
	// with Evidence naming the journal record behind it.
	Rule     string `json:"rule,omitempty"`
	Evidence string `json:"evidence,omitempty"`

	// Set by the check pass of `onboard plan`.
	Action Action `json:"action,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Diff is what the step would change in a file's content, as a
	// unified diff with secrets redacted (plan --diff).
	Diff string `json:"diff,omitempty"`

	Package *PackageSpec `json:"package,omitempty"`
	Printer *PrinterSpec `json:"printer,omitempty"`
	Command *CommandSpec `json:"command,omitempty"`
	File    *FileSpec    `json:"file,omitempty"`
	Check   *CheckSpec   `json:"check,omitempty"`

	Account    *AccountSpec    `json:"account,omitempty"`
	Membership *MembershipSpec `json:"membership,omitempty"`
	Activate   *ActivateSpec   `json:"activate,omitempty"`
	Computer   *ComputerSpec   `json:"computer,omitempty"`
	Join       *JoinSpec       `json:"join,omitempty"`
	Leaver     *LeaverSpec     `json:"leaver,omitempty"`

	WinSoftware *WinSoftwareSpec `json:"win_software,omitempty"`
	WinPrinter  *WinPrinterSpec  `json:"win_printer,omitempty"`
	LocalGroup  *LocalGroupSpec  `json:"local_group,omitempty"`
	WinJoin     *WinJoinSpec     `json:"win_join,omitempty"`
	Reboot      *RebootSpec      `json:"reboot,omitempty"`

	LoginRevoke *LoginRevokeSpec `json:"login_revoke,omitempty"`
	HomeArchive *HomeArchiveSpec `json:"home_archive,omitempty"`
}

// WinSoftwareSpec installs software on Windows: an MSI, or a winget or
// Chocolatey package.
type WinSoftwareSpec struct {
	Name        string `json:"name"`                   // catalogue name
	Manager     string `json:"manager"`                // msi, winget, choco
	Source      string `json:"source,omitempty"`       // msi: a path or URL the host reads itself
	ProductCode string `json:"product_code,omitempty"` // msi: {GUID}
	Package     string `json:"package,omitempty"`      // winget id or choco package
	Version     string `json:"version,omitempty"`
	Args        string `json:"args,omitempty"` // extra installer arguments (trusted, from the catalogue)
}

// WinPrinterSpec adds a per-machine printer connection (for every user of
// the machine), with its driver installed first.
type WinPrinterSpec struct {
	Name       string `json:"name"`
	Connection string `json:"connection"` // \\server\share
	Driver     string `json:"driver"`
}

// LocalGroupSpec puts a member (DOMAIN\user) in a local group.
type LocalGroupSpec struct {
	Group  string `json:"group"`
	Member string `json:"member"`
}

// WinJoinSpec renames the computer if asked and joins it to a domain; the
// reboot that completes it is the run's reboot step.
type WinJoinSpec struct {
	Domain  string `json:"domain"`
	NewName string `json:"new_name,omitempty"`
	OU      string `json:"ou,omitempty"`
}

// RebootSpec restarts a Windows host once, after the steps that may ask
// for it, when anything did; it waits until the host is back.
type RebootSpec struct {
	Wait Duration `json:"wait"` // how long the host may take to come back
}

// AccountSpec is a directory account with its attributes.
type AccountSpec struct {
	Username    string            `json:"username"`
	EmployeeID  string            `json:"employee_id"`
	GivenName   string            `json:"given_name"`
	Surname     string            `json:"surname"`
	DisplayName string            `json:"display_name"`
	Email       string            `json:"email,omitempty"`
	Title       string            `json:"title,omitempty"`
	Department  string            `json:"department,omitempty"`
	Manager     string            `json:"manager,omitempty"` // the manager's username
	Extra       map[string]string `json:"extra,omitempty"`
	// Adopt takes over an existing account of this username that onboard
	// did not make for this hire.
	Adopt bool `json:"adopt,omitempty"`
	// POSIX attributes (OpenLDAP's posixAccount; Active Directory's RFC 2307
	// attributes when its directory asks for them): a uidNumber of at least
	// UIDMin is allocated when the account has none.
	UIDMin    int    `json:"uid_min,omitempty"`
	GIDNumber int    `json:"gid_number,omitempty"`
	Home      string `json:"home,omitempty"`
	Shell     string `json:"shell,omitempty"`
}

// MembershipSpec puts the hire's account in one group.
type MembershipSpec struct {
	Username string `json:"username"`
	Group    string `json:"group"`
}

// ActivateSpec sets the initial password and enables the account.
type ActivateSpec struct {
	Username           string `json:"username"`
	MustChangePassword bool   `json:"must_change_password"`
	// MustChangeRequired: the playbook asked for it explicitly, so a
	// directory that cannot force it is an error rather than a note.
	MustChangeRequired bool `json:"must_change_required,omitempty"`
	Length             int  `json:"length,omitempty"`
	// Deliver is how the password reaches the hire: "file:PATH" (mode
	// 0600) or "terminal" (printed once). It is never in a log or report.
	Deliver string `json:"deliver"`
	// DeliverRoot is the allowed folder a file: delivery was confined to
	// when planned; the file is created beneath it, never replacing one.
	DeliverRoot string `json:"deliver_root,omitempty"`
	// Avoid: words the password must not contain (AD's complexity rule).
	Avoid []string `json:"avoid,omitempty"`
	// Adopt: the account may be one onboard did not make. A disabled one
	// gets a new password, unless KeepPassword (the playbook's explicit
	// password.adopted: keep) enables it with the password it has.
	Adopt        bool `json:"adopt,omitempty"`
	KeepPassword bool `json:"keep_password,omitempty"`
	// Scrambled (a restore): a password the directory dates at or before
	// this time is the one the offboarding scrambled, which nobody knows,
	// so an enabled account still needs a new one.
	Scrambled time.Time `json:"scrambled,omitzero"`
}

// ComputerSpec pre-stages a computer account.
type ComputerSpec struct {
	Name string `json:"name"`
	OU   string `json:"ou,omitempty"`
	// Stale: reuse takes an existing account onboard did not pre-stage.
	Stale string `json:"stale,omitempty"`
}

// JoinSpec joins a Linux host to an Active Directory domain with adcli.
type JoinSpec struct {
	Domain string `json:"domain"`
	// Computer is the computer account name (the host name), FQDN its DNS name.
	Computer string `json:"computer"`
	FQDN     string `json:"fqdn"`
	OU       string `json:"ou,omitempty"`
	// Stale says what to do with an existing computer account of that name
	// when the host is not joined: reuse it, or fail.
	Stale string `json:"stale"`
	// Logins "sssd": configure SSSD after the join so that domain users
	// resolve and sign in; User is one who must resolve (the hire).
	Logins string `json:"logins,omitempty"`
	User   string `json:"user,omitempty"`
	// PosixIDs: SSSD takes the accounts' uidNumber and gidNumber from the
	// directory (its accounts have them: Directory.Posix) rather than
	// mapping IDs from SIDs.
	PosixIDs bool `json:"posix_ids,omitempty"`
}

// PackageSpec installs one piece of software from the catalogue.
type PackageSpec struct {
	Name    string `json:"name"`    // catalogue name
	Manager string `json:"manager"` // apt, or command
	Package string `json:"package"` // the OS package name
	Version string `json:"version,omitempty"`
	// For manager "command": shell commands from the catalogue.
	Install      string `json:"install,omitempty"`
	IsInstalled  string `json:"is_installed,omitempty"`
	VersionQuery string `json:"version_query,omitempty"`
	Uninstall    string `json:"uninstall,omitempty"` // package-remove of a command package
}

// PrinterSpec maps one printer queue through CUPS.
type PrinterSpec struct {
	Name        string `json:"name"` // queue name
	URI         string `json:"uri"`
	Model       string `json:"model"` // "everywhere" for driverless IPP
	Location    string `json:"location,omitempty"`
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default,omitempty"`
}

// CommandSpec runs a command; Creates or Unless make it idempotent.
type CommandSpec struct {
	Run        string `json:"run"`
	Creates    string `json:"creates,omitempty"` // a path the command makes
	Unless     string `json:"unless,omitempty"`  // skip when this exits 0
	Privileged bool   `json:"privileged,omitempty"`
	// Values are the templates' values, which Run and Unless refer to as
	// the variables __onboard_1, __onboard_2, ... (codetemplate): values
	// travel as data, never as code.
	Values []string `json:"values,omitempty"`
}

// FileSpec writes a file with content, owner and mode.
type FileSpec struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Owner   string `json:"owner,omitempty"`
	Group   string `json:"group,omitempty"`
	Mode    string `json:"mode,omitempty"` // octal, e.g. "0644"
	// Sensitive: the content is never shown, not even in a --diff.
	Sensitive bool `json:"sensitive,omitempty"`
}

// CheckSpec is a declarative check (goss style). Exactly one target is set.
type CheckSpec struct {
	Name    string        `json:"name"`
	Command *CommandCheck `json:"command,omitempty"`
	File    *FileCheck    `json:"file,omitempty"`
	Package *PackageCheck `json:"package,omitempty"`
	Printer *PrinterCheck `json:"printer,omitempty"`
	DNS     *DNSCheck     `json:"dns,omitempty"`
	TCP     *TCPCheck     `json:"tcp,omitempty"`
	HTTP    *HTTPCheck    `json:"http,omitempty"`
	Service *ServiceCheck `json:"service,omitempty"`
	User    *UserCheck    `json:"user,omitempty"`
	Group   *GroupCheck   `json:"group,omitempty"`
	Login   *LoginCheck   `json:"login,omitempty"`
	// WindowsSecurity is one item of Windows' security baseline.
	WindowsSecurity *WindowsSecurityCheck `json:"windows_security,omitempty"`
	// Retry repeats a check that does not pass until it does or the time
	// is up (see check.go).
	Retry *Retry `json:"retry,omitempty"`
	// Set names the check set that gave the check ("baseline@1"); empty
	// for a playbook's or profile's own check.
	Set string `json:"set,omitempty"`
	// Waiver lets this check fail without blocking the handover, until it
	// expires.
	Waiver *Waiver `json:"waiver,omitempty"`
}

// Waiver excuses one hire's check: why, and the last day (UTC,
// YYYY-MM-DD) it applies.
type Waiver struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires"`
}

// CommandCheck runs a command and compares its exit status and output.
type CommandCheck struct {
	Run        string   `json:"run"`
	ExitStatus int      `json:"exit_status"`
	Stdout     []string `json:"stdout,omitempty"` // substrings, or /regexp/
	Privileged bool     `json:"privileged,omitempty"`
	Values     []string `json:"values,omitempty"` // as CommandSpec.Values
	// CannotTellExit: the exit status by which the command says the host
	// cannot tell (a failure of class cannot-run, never a pass);
	// NotApplicableExit: the one by which it says the check does not apply
	// here (a pass that says so). 0: none.
	CannotTellExit    int `json:"cannot_tell_exit,omitempty"`
	NotApplicableExit int `json:"not_applicable_exit,omitempty"`
}

// FileCheck tests a path.
type FileCheck struct {
	Path     string   `json:"path"`
	Exists   bool     `json:"exists"`
	Mode     string   `json:"mode,omitempty"`
	Owner    string   `json:"owner,omitempty"`
	Contains []string `json:"contains,omitempty"`
}

// PackageCheck tests an OS package. Version is an exact version ("3.1.0")
// or a comparison (">= 3.1", see step.ParseVersionWant).
type PackageCheck struct {
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Version   string `json:"version,omitempty"`
}

// PrinterCheck tests a CUPS queue.
type PrinterCheck struct {
	Name    string `json:"name"`
	Exists  bool   `json:"exists"`
	Default bool   `json:"default,omitempty"`
}

// Step returns the step with the given id, or nil.
func (p *Plan) Step(id string) *Step {
	for _, s := range p.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Duration is a time.Duration that reads and writes as "90s" in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}
