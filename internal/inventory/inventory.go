// Package inventory reads what onboard knows about the estate: hosts and
// host groups, the printer catalogue and the software catalogue, from one
// YAML file or a directory of them.
package inventory

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-multierror"

	"onboard/internal/checkset"
	"onboard/internal/directory"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
	"onboard/internal/username"
)

// File is the shape of one inventory file; every section is optional.
type File struct {
	Groups      map[string]Group     `yaml:"groups"`
	Hosts       map[string]Host      `yaml:"hosts"`
	Printers    map[string]Printer   `yaml:"printers"`
	Software    map[string]Software  `yaml:"software"`
	Directories map[string]Directory `yaml:"directories"`
	// Playbooks says what playbooks may reach (see playbooks.go).
	Playbooks Playbooks `yaml:"playbooks"`
	// HR maps hires recorded by HR to playbooks and schedules (see hr.go).
	HR HR `yaml:"hr"`
	// Notify: notification channels and recipients (see notify.go).
	Notify Notify `yaml:"notify"`
	// Helpdesk is where hires get help (see helpdesk.go).
	Helpdesk *Helpdesk `yaml:"helpdesk"`
	// CheckSets are the organisation's check sets, by name (see
	// internal/checkset).
	CheckSets map[string]checkset.Def `yaml:"check_sets"`
	// KnowledgeBase is a folder of Markdown articles on known failures,
	// relative to the file (see knowledgebase.go and internal/kb).
	KnowledgeBase string `yaml:"knowledge_base"`
	// LegalHolds and Offboarding: what offboarding keeps and does (see
	// offboarding.go).
	LegalHolds  []LegalHold  `yaml:"legal_holds"`
	Offboarding *Offboarding `yaml:"offboarding"`
}

// Directory is an LDAP directory where accounts are made.
type Directory struct {
	Kind         string   `yaml:"kind" onboard:"required"` // active-directory or openldap
	URLs         []string `yaml:"urls" onboard:"required"` // ldaps:// or ldap:// (StartTLS); tried in order, one pinned per run
	BaseDN       string   `yaml:"base_dn" onboard:"required"`
	UsersOU      string   `yaml:"users_ou" onboard:"required"`
	GroupsBase   string   `yaml:"groups_base"`
	ComputersOU  string   `yaml:"computers_ou"`
	Domain       string   `yaml:"domain"`
	BindDN       string   `yaml:"bind_dn" onboard:"required"`
	BindPassword string   `yaml:"bind_password" onboard:"required"`
	CACert       string   `yaml:"ca_cert"`
	Naming       Naming   `yaml:"naming"`
	// AllowAttributes are extra attributes playbooks may set here beyond
	// the kind's informational allow-list (docs/directory.md).
	AllowAttributes []string `yaml:"allow_attributes"`
	Posix           Posix    `yaml:"posix"`
	Join            Join     `yaml:"join"`
	Leavers         Leavers  `yaml:"leavers"`
}

// Leavers is what offboarding does with this directory's accounts
// (docs/lifecycle.md): where a leaver's account goes, how long it can be
// restored, and when a later run may delete it.
type Leavers struct {
	// OU is the DN a leaver's account is moved to; empty: it stays.
	OU string `yaml:"ou"`
	// GraceDays: onboard restore brings a leaver back up to this many
	// days after the leave; 0: not at all.
	GraceDays int `yaml:"grace_days"`
	// RetentionDays: a run at least this many days after the leave deletes
	// the account, unless a legal hold stops it; 0: never deleted.
	RetentionDays int `yaml:"retention_days"`
}

// Naming is how usernames, display names and mail addresses are derived.
type Naming struct {
	Username    string `yaml:"username"`     // template
	MaxLength   int    `yaml:"max_length"`   // default 20 (sAMAccountName)
	Fallback    string `yaml:"fallback"`     // template, when a name derives nothing readable
	DisplayName string `yaml:"display_name"` // template
	Email       string `yaml:"email"`        // template
}

// Posix holds the POSIX attributes of new accounts: always in OpenLDAP
// (posixAccount), in Active Directory when Enabled (RFC 2307 uidNumber,
// gidNumber, unixHomeDirectory, loginShell), so that domain members use
// them rather than map IDs from SIDs.
type Posix struct {
	// Enabled gives Active Directory accounts POSIX attributes.
	Enabled   bool   `yaml:"enabled"`
	UIDMin    int    `yaml:"uid_min"`
	GIDNumber int    `yaml:"gid_number"`
	Home      string `yaml:"home"` // template
	Shell     string `yaml:"shell"`
}

// Join is the account that joins machines to an Active Directory domain.
type Join struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"` // reference
}

// HostFields are the connection settings a host or a group's defaults set.
type HostFields struct {
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
	// WinRM (Windows hosts).
	HTTPS              *bool  `yaml:"https"`
	CACert             string `yaml:"ca_cert"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	ClientCert         string `yaml:"client_cert"`
	ClientKey          string `yaml:"client_key"`
	// RebootTimeout: how long a Windows host may take to come back from a
	// reboot (default 10m).
	RebootTimeout time.Duration `yaml:"reboot_timeout"`
	// Kerberos for WinRM (auth: kerberos): the realm, its KDC, and a keytab
	// or a ticket cache; service_host is the name in HTTP/<name>.
	Realm       string `yaml:"realm"`
	KDC         string `yaml:"kdc"`
	Keytab      string `yaml:"keytab"`
	CCache      string `yaml:"ccache"`
	ServiceHost string `yaml:"service_host"`
}

// Group gives defaults to its member hosts. The group "all" applies to
// every host; other groups apply in the order a host lists them.
type Group struct {
	Description string     `yaml:"description"`
	Defaults    HostFields `yaml:"defaults"`
}

// Host is one machine.
type Host struct {
	HostFields `yaml:",inline"`
	Groups     []string `yaml:"groups"`
}

// Printer is one entry of the printer catalogue.
type Printer struct {
	Queue string `yaml:"queue"` // CUPS queue name; defaults to the key
	URI   string `yaml:"uri" onboard:"required"`
	// Windows: the shared printer (\\server\share) and its driver.
	Connection  string `yaml:"connection"`
	Driver      string `yaml:"driver"`
	Model       string `yaml:"model"` // default "everywhere" (driverless IPP)
	Location    string `yaml:"location"`
	Description string `yaml:"description"`
}

// Software is one entry of the software catalogue, per OS.
type Software struct {
	Description string   `yaml:"description"`
	Linux       *Install `yaml:"linux"`
	MacOS       *Install `yaml:"macos"`
	Windows     *Install `yaml:"windows"`
}

// Install says how to install, check and query one piece of software.
type Install struct {
	Manager     string `yaml:"manager"` // apt (default on linux), brew, command; msi, winget, choco on windows
	Package     string `yaml:"package"`
	Version     string `yaml:"version"`
	Source      string `yaml:"source"`       // msi: path or URL the host reads
	ProductCode string `yaml:"product_code"` // msi: {GUID}
	Args        string `yaml:"args"`         // extra installer arguments
	// Timeout bounds one install (check, install, verify); an installer
	// still running then is killed. Default 10m on Linux, 30m on Windows.
	Timeout      time.Duration `yaml:"timeout"`
	Install      string        `yaml:"install" onboard:"text"`       // for manager command
	IsInstalled  string        `yaml:"is_installed" onboard:"text"`  // for manager command: exits 0 when installed
	VersionQuery string        `yaml:"version_query" onboard:"text"` // for manager command: prints the version
	Uninstall    string        `yaml:"uninstall" onboard:"text"`     // for manager command: removes it (a mover's or leaver's plan)
}

// Inventory is the merged inventory with positions for errors.
type Inventory struct {
	Groups      map[string]Group
	Hosts       map[string]Host
	Printers    map[string]Printer
	Software    map[string]Software
	Directories map[string]Directory

	// where each entry was defined: "hosts.ws1" -> doc
	docs map[string]*strictyaml.Doc
	dirs map[string]string // entry -> directory of its file

	// What playbooks may reach, merged from every file's playbooks section.
	inlineRules []inlineRule
	credentials map[string]namedCredential
	readDirs    []string
	writeDirs   []string
	profileDirs []string
	paths       []string // the inventory files and folders given

	hr          hrState     // the hr sections, merged
	notify      notifyState // the notify sections, merged
	helpdesk    helpdeskState
	kb          kbState
	offboarding offboardingState

	// CheckSets are the shipped check sets and the inventory's.
	CheckSets *checkset.Catalogue

	// files are the decoded files, to tell later checks' findings from
	// follow-ons of what decoding refused; unread, files that could not
	// be read or parsed at all.
	files  []*strictyaml.Doc
	unread bool
}

// Load reads inventory files and directories (every *.yaml and *.yml
// inside, recursively, in name order). All errors are returned together.
func Load(paths ...string) (*Inventory, error) {
	inv := &Inventory{
		Groups: map[string]Group{}, Hosts: map[string]Host{}, Printers: map[string]Printer{}, Software: map[string]Software{},
		Directories: map[string]Directory{},
		docs:        map[string]*strictyaml.Doc{}, dirs: map[string]string{},
		credentials: map[string]namedCredential{}, paths: paths,
		CheckSets: checkset.New(),
	}
	var errs *multierror.Error
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("inventory: %w", err))
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(f string, de os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !de.IsDir() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("inventory: %w", err))
		}
	}
	sort.Strings(files)
	for _, f := range files {
		errs = multierror.Append(errs, inv.loadFile(f))
	}
	// The checks run whatever decoding found, so that every error is
	// reported in one pass; what they would say again about a value
	// decoding refused is dropped.
	errs = multierror.Append(errs, strictyaml.DropFollowOn(inv.check(), inv.files...)...)
	errs = multierror.Append(errs, strictyaml.DropFollowOn(inv.CheckSets.Resolve(), inv.files...)...)
	errs.ErrorFormat = strictyaml.ListFormat
	return inv, errs.ErrorOrNil()
}

// incomplete reports whether a section ("hosts", "playbooks.credentials")
// may lack entries because a file, or that section of one, could not be
// read: a reference to an entry not found there is then not reported, as
// it may well be written in what was refused.
func (inv *Inventory) incomplete(section string) bool {
	if inv.unread {
		return true
	}
	for _, d := range inv.files {
		if d.Failed(section) {
			return true
		}
	}
	return false
}

// unknown is the error for a name not found in section: with a note when
// the section could not be read whole.
func (inv *Inventory) unknown(section, what, name string) error {
	if inv.incomplete(section) {
		return fmt.Errorf("unknown %s %q (the inventory could not be read whole: see its errors)", what, name)
	}
	return fmt.Errorf("unknown %s %q%s", what, name, strictyaml.Suggest(name, inv.Names(section)))
}

func (inv *Inventory) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		inv.unread = true
		return fmt.Errorf("inventory: %w", err)
	}
	var f File
	doc, err := strictyaml.Decode(path, data, &f)
	if !doc.Readable() {
		inv.unread = true
	}
	inv.files = append(inv.files, doc)
	var errs *multierror.Error
	errs = multierror.Append(errs, err)
	dir, _ := filepath.Abs(filepath.Dir(path))
	add := func(section, name string, store func()) {
		key := section + "." + name
		if prev, ok := inv.docs[key]; ok {
			errs = multierror.Append(errs, doc.Errorf(key, "is also defined at %s", prev.Pos(key)))
			return
		}
		inv.docs[key], inv.dirs[key] = doc, dir
		store()
	}
	for n, g := range f.Groups {
		add("groups", n, func() { inv.Groups[n] = g })
	}
	for n, h := range f.Hosts {
		add("hosts", n, func() { inv.Hosts[n] = h })
	}
	for n, p := range f.Printers {
		add("printers", n, func() { inv.Printers[n] = p })
	}
	for n, s := range f.Software {
		add("software", n, func() { inv.Software[n] = s })
	}
	for n, d := range f.Directories {
		add("directories", n, func() { inv.Directories[n] = d })
	}
	for _, n := range sortedKeys(f.CheckSets) {
		if err := inv.CheckSets.Add(n, f.CheckSets[n], doc, "check_sets."+n); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	if doc != nil {
		errs = multierror.Append(errs, inv.addPlaybooks(doc, dir, f.Playbooks)...)
		errs = multierror.Append(errs, inv.addHR(doc, f.HR)...)
		errs = multierror.Append(errs, inv.addNotify(doc, dir, f.Notify)...)
		errs = multierror.Append(errs, inv.addHelpdesk(doc, f.Helpdesk)...)
		errs = multierror.Append(errs, inv.addKnowledgeBase(doc, dir, f.KnowledgeBase)...)
		errs = multierror.Append(errs, inv.addOffboarding(doc, f.LegalHolds, f.Offboarding)...)
	}
	return errs.ErrorOrNil()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Known values of enumerated fields.
var (
	knownOS         = []string{"linux", "macos", "windows"}
	knownTransports = []string{"ssh", "winrm"}
	knownAuth       = []string{"key", "password", "agent", "basic", "ntlm", "certificate", "kerberos"}
	knownBecome     = []string{"sudo", "none"}
	knownManagers   = []string{"apt", "brew", "command", "msi", "winget", "choco"}
)

func oneOf(v string, known []string) bool {
	for _, k := range known {
		if v == k {
			return true
		}
	}
	return v == ""
}

// check validates cross references and enumerations.
func (inv *Inventory) check() []error {
	var errs []error
	for _, name := range sortedKeys(inv.Hosts) {
		h := inv.Hosts[name]
		key := "hosts." + name
		doc := inv.docs[key]
		if !nameRE.MatchString(name) {
			errs = append(errs, doc.Errorf(key, "host names are letters, digits, '.', '_' or '-'"))
		}
		for i, g := range h.Groups {
			if _, ok := inv.Groups[g]; !ok && !inv.incomplete("groups") {
				errs = append(errs, doc.Errorf(fmt.Sprintf("%s.groups[%d]", key, i), "unknown group %q%s", g, strictyaml.Suggest(g, sortedKeys(inv.Groups))))
			}
		}
		errs = append(errs, CheckHostFields(doc, key, h.HostFields)...)
		if r, err := inv.Host(name); err == nil {
			if r.Address == "" && !doc.Failed(key+".address") {
				errs = append(errs, doc.Errorf(key, "has no address (set address here or in a group's defaults)"))
			}
			if r.OS == "" && !doc.Failed(key+".os") {
				errs = append(errs, doc.Errorf(key, "has no os (linux, macos or windows) here or in its groups' defaults"))
			}
			if r.Auth == "kerberos" && (r.Realm == "" || r.KDC == "") {
				errs = append(errs, doc.Errorf(key, "auth: kerberos needs realm and kdc (here or in its groups' defaults)"))
			}
			// Over plain HTTP only NTLM seals the messages: Basic would send
			// the password in clear text, and Kerberos (whose sealing is not
			// implemented) every command and the domain-join password, to a
			// server it never authenticates.
			if r.Transport == "winrm" && r.HTTPS != nil && !*r.HTTPS && (r.Auth == "basic" || r.Auth == "kerberos") {
				at := key
				for _, f := range []string{key + ".https", key + ".auth"} {
					if doc.Has(f) {
						at = f
						break
					}
				}
				errs = append(errs, doc.Errorf(at, "%s authentication over plain HTTP (https: false) would send the traffic unsealed to a server it does not authenticate; use HTTPS (the default), or ntlm, which seals messages over HTTP", r.Auth))
			}
		}
	}
	for _, name := range sortedKeys(inv.Groups) {
		key := "groups." + name
		errs = append(errs, CheckHostFields(inv.docs[key], key+".defaults", inv.Groups[name].Defaults)...)
	}
	for _, name := range sortedKeys(inv.Printers) {
		p := inv.Printers[name]
		key := "printers." + name
		if !strings.HasPrefix(p.URI, "ipp://") && !strings.HasPrefix(p.URI, "ipps://") && !strings.HasPrefix(p.URI, "lpd://") && !strings.HasPrefix(p.URI, "socket://") {
			errs = append(errs, inv.docs[key].Errorf(key+".uri", "must be an ipp://, ipps://, lpd:// or socket:// URI, got %q", p.URI))
		}
		if p.Queue != "" && !nameRE.MatchString(p.Queue) {
			errs = append(errs, inv.docs[key].Errorf(key+".queue", "CUPS queue names are letters, digits, '.', '_' or '-', got %q", p.Queue))
		}
		if p.Queue == "" && !nameRE.MatchString(name) {
			errs = append(errs, inv.docs[key].Errorf(key, "the name is the CUPS queue name unless queue is set: letters, digits, '.', '_' or '-'"))
		}
		ipp := strings.HasPrefix(p.URI, "ipp://") || strings.HasPrefix(p.URI, "ipps://")
		if !ipp && (p.Model == "" || p.Model == "everywhere") {
			errs = append(errs, inv.docs[key].Errorf(key+".model", "%s printers need a driver model (lpinfo -m lists them): the driverless everywhere model needs an ipp:// or ipps:// URI", strings.SplitN(p.URI, ":", 2)[0]))
		}
	}
	for _, name := range sortedKeys(inv.Directories) {
		errs = append(errs, inv.checkDirectory(name)...)
	}
	errs = append(errs, inv.checkPlaybooks()...)
	errs = append(errs, inv.checkHR()...)
	errs = append(errs, inv.checkDefaultRules()...)
	for _, name := range sortedKeys(inv.Software) {
		s := inv.Software[name]
		key := "software." + name
		doc := inv.docs[key]
		if s.Linux == nil && s.MacOS == nil && s.Windows == nil && !doc.FailedWithin(key) {
			errs = append(errs, doc.Errorf(key, "says nothing about how to install it (linux, macos or windows)"))
		}
		for os, in := range map[string]*Install{"linux": s.Linux, "macos": s.MacOS, "windows": s.Windows} {
			if in == nil {
				continue
			}
			p := key + "." + os
			if !oneOf(in.Manager, knownManagers) {
				errs = append(errs, doc.Errorf(p+".manager", "must be one of %s, got %q", strings.Join(knownManagers, ", "), in.Manager))
			}
			switch {
			case in.Manager == "command":
				if in.Install == "" || in.IsInstalled == "" {
					errs = append(errs, doc.Errorf(p, "manager command needs install and is_installed commands"))
				}
			case in.Manager == "msi":
				if in.Source == "" || !regexp.MustCompile(`^\{[0-9A-Fa-f-]{36}\}$`).MatchString(in.ProductCode) {
					errs = append(errs, doc.Errorf(p, "manager msi needs source and product_code ({GUID}, how Windows records the install)"))
				}
			case in.Package == "":
				errs = append(errs, doc.Errorf(p+".package", "is required"))
			}
			if in.Uninstall != "" && in.Manager != "command" {
				errs = append(errs, doc.Errorf(p+".uninstall", "is for manager command only: other managers remove their own packages"))
			}
			winMgr := in.Manager == "msi" || in.Manager == "winget" || in.Manager == "choco"
			if os == "windows" && !winMgr {
				errs = append(errs, doc.Errorf(p+".manager", "on windows must be msi, winget or choco"))
			}
			if os != "windows" && winMgr {
				errs = append(errs, doc.Errorf(p+".manager", "%s installs Windows software: use it in a windows entry", in.Manager))
			}
		}
	}
	return errs
}

// CheckHostFields validates connection settings wherever they are written
// (a host, a group's defaults, or an inline machine in a playbook).
func CheckHostFields(doc *strictyaml.Doc, key string, h HostFields) []error {
	var errs []error
	enum := func(field, v string, known []string) {
		if !oneOf(v, known) {
			errs = append(errs, doc.Errorf(key+"."+field, "must be one of %s, got %q", strings.Join(known, ", "), v))
		}
	}
	enum("os", h.OS, knownOS)
	enum("transport", h.Transport, knownTransports)
	enum("auth", h.Auth, knownAuth)
	enum("become", h.Become, knownBecome)
	enum("package_manager", h.PackageManager, knownManagers)
	if h.Port < 0 || h.Port > 65535 {
		errs = append(errs, doc.Errorf(key+".port", "must be between 1 and 65535, got %d", h.Port))
	}
	if h.Address != "" && net.ParseIP(h.Address) == nil && !nameRE.MatchString(h.Address) {
		errs = append(errs, doc.Errorf(key+".address", "is neither an IP address nor a host name: %q", h.Address))
	}
	for _, r := range []struct{ f, v string }{{"credential", h.Credential}, {"become_password", h.BecomePassword}} {
		if r.v != "" {
			if err := secret.Ref(r.v).Validate(); err != nil {
				errs = append(errs, doc.Errorf(key+"."+r.f, "%v", err))
			}
		}
	}
	return errs
}

// Host resolves a host with its groups' defaults: "all" first, then the
// host's groups in order, then the host's own fields.
func (inv *Inventory) Host(name string) (*plan.Host, error) {
	h, ok := inv.Hosts[name]
	if !ok {
		return nil, inv.unknown("hosts", "host", name)
	}
	key := "hosts." + name
	var layers []HostFields
	var dirs []string
	if g, ok := inv.Groups["all"]; ok {
		layers, dirs = append(layers, g.Defaults), append(dirs, inv.dirs["groups.all"])
	}
	for _, gn := range h.Groups {
		if gn == "all" {
			continue
		}
		layers, dirs = append(layers, inv.Groups[gn].Defaults), append(dirs, inv.dirs["groups."+gn])
	}
	layers, dirs = append(layers, h.HostFields), append(dirs, inv.dirs[key])
	ph := Resolve(name, layers, dirs)
	ph.Source = inv.docs[key].Pos(key).String()
	return ph, nil
}

// Resolve layers host fields (later wins) into a plan host. Relative paths
// (known_hosts, file: credentials) are made absolute against the directory
// of the file each layer came from.
func Resolve(name string, layers []HostFields, dirs []string) *plan.Host {
	ph := &plan.Host{Name: name}
	for i, l := range layers {
		dir := dirs[i]
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&ph.Address, l.Address)
		set(&ph.OS, l.OS)
		set(&ph.Transport, l.Transport)
		set(&ph.User, l.User)
		set(&ph.Credential, absRef(l.Credential, dir))
		set(&ph.Auth, l.Auth)
		set(&ph.Become, l.Become)
		set(&ph.BecomePassword, absRef(l.BecomePassword, dir))
		set(&ph.PackageManager, l.PackageManager)
		if l.Port != 0 {
			ph.Port = l.Port
		}
		if len(l.KnownHosts) > 0 {
			ph.KnownHosts = nil
			for _, k := range l.KnownHosts {
				ph.KnownHosts = append(ph.KnownHosts, secret.ExpandPath(k, dir))
			}
		}
		if len(l.HostKey) > 0 {
			ph.HostKeys = append([]string(nil), l.HostKey...)
		}
		if l.HTTPS != nil {
			v := *l.HTTPS
			ph.HTTPS = &v
		}
		if l.CACert != "" {
			ph.CACert = secret.ExpandPath(l.CACert, dir)
		}
		if l.InsecureSkipVerify {
			ph.InsecureSkipVerify = true
		}
		if l.ClientCert != "" {
			ph.ClientCert = secret.ExpandPath(l.ClientCert, dir)
		}
		if l.ClientKey != "" {
			ph.ClientKey = secret.ExpandPath(l.ClientKey, dir)
		}
		if l.RebootTimeout > 0 {
			ph.RebootTimeout = plan.Duration(l.RebootTimeout)
		}
		set(&ph.Realm, l.Realm)
		set(&ph.KDC, l.KDC)
		set(&ph.ServiceHost, l.ServiceHost)
		if l.Keytab != "" {
			ph.Keytab = secret.ExpandPath(l.Keytab, dir)
		}
		if l.CCache != "" {
			ph.CCache = secret.ExpandPath(l.CCache, dir)
		}
	}
	defaults(ph)
	return ph
}

func absRef(ref, dir string) string {
	if strings.HasPrefix(ref, "file:") {
		return "file:" + secret.ExpandPath(ref[len("file:"):], dir)
	}
	return ref
}

// defaults fills what a host did not say, per OS.
func defaults(h *plan.Host) {
	if h.Transport == "" {
		h.Transport = "ssh"
		if h.OS == "windows" {
			h.Transport = "winrm"
		}
	}
	if h.Port == 0 && h.Transport == "ssh" {
		h.Port = 22
	}
	if h.Auth == "" {
		h.Auth = "key"
		if h.Credential == "" {
			h.Auth = "agent"
		}
	}
	if h.Become == "" && h.OS != "windows" {
		h.Become = "sudo"
	}
	if h.PackageManager == "" {
		switch h.OS {
		case "linux":
			h.PackageManager = "apt"
		case "macos":
			h.PackageManager = "brew"
		}
	}
	if h.User == "" && h.Transport == "ssh" {
		h.User = "root"
	}
	if h.Transport == "winrm" {
		if h.HTTPS == nil {
			t := true // HTTP only where the inventory says so
			h.HTTPS = &t
		}
		if h.Port == 0 {
			h.Port = 5986
			if !*h.HTTPS {
				h.Port = 5985
			}
		}
		if h.Auth == "agent" || h.Auth == "key" {
			h.Auth = "ntlm"
		}
	}
}

// Pos returns where an entry ("hosts.ws1", "printers.lobby") is defined.
func (inv *Inventory) Pos(key string) strictyaml.Pos {
	if d, ok := inv.docs[key]; ok {
		return d.Pos(key)
	}
	return strictyaml.Pos{}
}

// FieldPos is where a field of an entry is written (key "directories.X",
// field "naming.fallback"), or the entry's position without the field.
func (inv *Inventory) FieldPos(key, field string) strictyaml.Pos {
	if d, ok := inv.docs[key]; ok {
		return d.Pos(key + "." + field)
	}
	return strictyaml.Pos{}
}

// Names returns the sorted names of a section's entries.
func (inv *Inventory) Names(section string) []string {
	switch section {
	case "hosts":
		return sortedKeys(inv.Hosts)
	case "printers":
		return sortedKeys(inv.Printers)
	case "software":
		return sortedKeys(inv.Software)
	case "groups":
		return sortedKeys(inv.Groups)
	case "directories":
		return sortedKeys(inv.Directories)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (inv *Inventory) checkDirectory(name string) []error {
	d := inv.Directories[name]
	key := "directories." + name
	doc := inv.docs[key]
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, doc.Errorf(key+field, format, args...))
	}
	switch d.Kind {
	case "active-directory":
		if d.Domain == "" {
			fail(".domain", "is required for an Active Directory (the DNS domain, e.g. corp.example.test)")
		}
		if p := d.Posix; !p.Enabled && (p.UIDMin != 0 || p.GIDNumber != 0 || p.Home != "" || p.Shell != "") {
			fail(".posix", "sets POSIX attributes of Active Directory accounts only with posix.enabled: true")
		}
	case "openldap":
	default:
		fail(".kind", "must be active-directory or openldap, got %q", d.Kind)
	}
	for i, u := range d.URLs {
		if !strings.HasPrefix(u, "ldaps://") && !strings.HasPrefix(u, "ldap://") {
			fail(fmt.Sprintf(".urls[%d]", i), "must be an ldaps:// or ldap:// URL, got %q", u)
		}
	}
	for _, r := range []struct{ f, v string }{{".bind_password", d.BindPassword}, {".join.password", d.Join.Password}} {
		if r.v != "" {
			if err := secret.Ref(r.v).Validate(); err != nil {
				fail(r.f, "%v", err)
			}
		}
	}
	if d.Join.User != "" && d.Join.Password == "" {
		fail(".join.password", "is required with join.user (adcli would be given an empty password)")
	}
	if d.Join.User == "" && d.Join.Password != "" {
		fail(".join.user", "is required with join.password")
	}
	for i, a := range d.AllowAttributes {
		if !attrName.MatchString(a) {
			fail(fmt.Sprintf(".allow_attributes[%d]", i), "%q is not an LDAP attribute name", a)
		} else if directory.Managed(a) {
			fail(fmt.Sprintf(".allow_attributes[%d]", i), "%s cannot be allowed: onboard sets it itself, or it is a password", a)
		}
	}
	if d.Posix.UIDMin < 0 || d.Posix.GIDNumber < 0 {
		fail(".posix", "uid_min and gid_number must be above 0 (or unset for the default 10000)")
	}
	if l := d.Leavers; l.OU != "" && !strings.HasSuffix(strings.ToLower(l.OU), ","+strings.ToLower(d.BaseDN)) {
		fail(".leavers.ou", "must be a DN under the directory's base_dn %s, got %q", d.BaseDN, l.OU)
	}
	if l := d.Leavers; l.GraceDays < 0 || l.RetentionDays < 0 {
		fail(".leavers", "grace_days and retention_days must be 0 or more")
	} else if l.RetentionDays > 0 && l.GraceDays > l.RetentionDays {
		fail(".leavers.grace_days", "is %d days, longer than retention_days (%d): an account cannot be restored after it is deleted", l.GraceDays, l.RetentionDays)
	}
	if limit := username.Limit(d.Kind); d.Naming.MaxLength < 0 || d.Naming.MaxLength > limit {
		fail(".naming.max_length", "must be between 1 and %d (the longest logon name %s accepts), got %d", limit, d.Kind, d.Naming.MaxLength)
	}
	return errs
}

// attrName is an LDAP attribute name (RFC 4512 descr).
var attrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)

// Directory resolves a directory for the plan. Relative paths and file:
// references are made absolute against the defining file's folder.
func (inv *Inventory) Directory(name string) (*plan.Directory, error) {
	d, ok := inv.Directories[name]
	if !ok {
		return nil, inv.unknown("directories", "directory", name)
	}
	key := "directories." + name
	dir := inv.dirs[key]
	pd := &plan.Directory{
		Name: name, Kind: d.Kind, URLs: d.URLs, BaseDN: d.BaseDN, UsersOU: d.UsersOU, GroupsBase: d.GroupsBase,
		ComputersOU: d.ComputersOU, Domain: d.Domain, BindDN: d.BindDN, BindPassword: absRef(d.BindPassword, dir),
		JoinUser: d.Join.User, JoinPassword: absRef(d.Join.Password, dir), Source: inv.docs[key].Pos(key).String(),
		AllowAttributes: d.AllowAttributes,
		Posix:           d.Kind == "active-directory" && d.Posix.Enabled,
	}
	if d.CACert != "" {
		pd.CACert = secret.ExpandPath(d.CACert, dir)
	}
	if pd.GroupsBase == "" {
		pd.GroupsBase = d.BaseDN
	}
	if pd.JoinUser == "" {
		// The bind account joins machines unless another is named; its
		// logon name is taken from its DN's first RDN (CN=Administrator,...),
		// which holds for the built-in accounts: name join.user otherwise.
		if dn, err := ldap.ParseDN(d.BindDN); err == nil && len(dn.RDNs) > 0 && len(dn.RDNs[0].Attributes) > 0 {
			pd.JoinUser = dn.RDNs[0].Attributes[0].Value
		}
		pd.JoinPassword = pd.BindPassword
	}
	return pd, nil
}
