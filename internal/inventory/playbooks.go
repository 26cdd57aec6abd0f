package inventory

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

// Playbooks is what the inventory lets playbooks reach. A playbook may come
// from another system (HR), so the hosts, the credentials and the local
// folders it can use are the inventory's to give; everything is refused
// unless named here (or on the command line).
type Playbooks struct {
	// InlineMachines allow machines described in a playbook (machine.address)
	// at the addresses they list. None: inline machines are refused.
	InlineMachines []InlineRule `yaml:"inline_machines"`
	// Credentials are named references an inline machine may use by name
	// (machine.credential, machine.become_password) where a rule allows it.
	Credentials map[string]string `yaml:"credentials"`
	// Read: folders that files[].source may read (default: the playbook's
	// own folder), relative to this file.
	Read []string `yaml:"read"`
	// Write: folders that handover.reports and password deliveries may be
	// written in (default: none), relative to this file.
	Write []string `yaml:"write"`
	// Profiles: folders of role profiles, searched after the playbook's own
	// profiles/ folder.
	Profiles []string `yaml:"profiles"`
}

// InlineRule allows inline machines at some addresses, with some credentials.
type InlineRule struct {
	// Addresses: IP addresses, CIDR ranges (10.20.0.0/16), host names, or
	// *.suffix for every name in a domain.
	Addresses []string `yaml:"addresses" onboard:"required"`
	// Credentials: names from playbooks.credentials these machines may use.
	Credentials []string `yaml:"credentials"`
	// KnownHosts: the known_hosts files these machines are verified against
	// (a playbook never names one: onboard may write there).
	KnownHosts []string `yaml:"known_hosts"`
	// PlaybookHostKeys lets a playbook pin the machine's host_key itself.
	PlaybookHostKeys bool `yaml:"playbook_host_keys"`
}

// inlineRule is a rule with where it was written.
type inlineRule struct {
	InlineRule
	key string // playbooks.inline_machines[N], in its file
	doc *strictyaml.Doc
	dir string
}

// namedCredential is a playbooks.credentials entry with its file's folder.
type namedCredential struct {
	ref string
	doc *strictyaml.Doc
	dir string
}

// addPlaybooks merges one file's playbooks section: rules and folders add
// up across files; a credential name may be defined once.
func (inv *Inventory) addPlaybooks(doc *strictyaml.Doc, dir string, p Playbooks) []error {
	var errs []error
	for i, r := range p.InlineMachines {
		inv.inlineRules = append(inv.inlineRules, inlineRule{InlineRule: r, key: fmt.Sprintf("playbooks.inline_machines[%d]", i), doc: doc, dir: dir})
	}
	for _, name := range sortedKeys(p.Credentials) {
		key := "playbooks.credentials." + name
		if prev, ok := inv.credentials[name]; ok {
			errs = append(errs, doc.Errorf(key, "is also defined at %s", prev.doc.Pos(key)))
			continue
		}
		inv.credentials[name] = namedCredential{ref: p.Credentials[name], doc: doc, dir: dir}
	}
	abs := func(list []string) []string {
		var out []string
		for _, d := range list {
			out = append(out, secret.ExpandPath(d, dir))
		}
		return out
	}
	inv.readDirs = append(inv.readDirs, abs(p.Read)...)
	inv.writeDirs = append(inv.writeDirs, abs(p.Write)...)
	inv.profileDirs = append(inv.profileDirs, abs(p.Profiles)...)
	return errs
}

// checkPlaybooks validates the playbooks sections.
func (inv *Inventory) checkPlaybooks() []error {
	var errs []error
	for _, name := range sortedKeys(inv.credentials) {
		c := inv.credentials[name]
		key := "playbooks.credentials." + name
		if !nameRE.MatchString(name) {
			errs = append(errs, c.doc.Errorf(key, "credential names are letters, digits, '.', '_' or '-'"))
		}
		if err := secret.Ref(c.ref).Validate(); err != nil {
			errs = append(errs, c.doc.Errorf(key, "%v", err))
		}
	}
	for _, r := range inv.inlineRules {
		for i, a := range r.Addresses {
			if _, err := parseAddressRule(a); err != nil {
				errs = append(errs, r.doc.Errorf(fmt.Sprintf("%s.addresses[%d]", r.key, i), "%v", err))
			}
		}
		for i, c := range r.Credentials {
			if _, ok := inv.credentials[c]; !ok && !inv.incomplete("playbooks.credentials") {
				errs = append(errs, r.doc.Errorf(fmt.Sprintf("%s.credentials[%d]", r.key, i), "unknown credential %q: not in playbooks.credentials%s", c, strictyaml.Suggest(c, sortedKeys(inv.credentials))))
			}
		}
	}
	return errs
}

// addressRule matches an inline machine's address.
type addressRule struct {
	net    *net.IPNet
	name   string // exact, lowercased
	suffix string // ".corp.example.test" for *.corp.example.test
}

func parseAddressRule(s string) (addressRule, error) {
	switch {
	case strings.Contains(s, "/"):
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return addressRule{}, fmt.Errorf("%q is not a CIDR range (10.20.0.0/16): %v", s, err)
		}
		return addressRule{net: n}, nil
	case net.ParseIP(s) != nil:
		ip := net.ParseIP(s)
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		return addressRule{net: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}}, nil
	case strings.HasPrefix(s, "*.") && nameRE.MatchString(s[2:]):
		return addressRule{suffix: strings.ToLower(s[1:])}, nil
	case nameRE.MatchString(s):
		return addressRule{name: strings.ToLower(s)}, nil
	}
	return addressRule{}, fmt.Errorf("%q is neither an IP address, a CIDR range, a host name nor *.domain", s)
}

// matches: an IP address matches ranges and addresses, a name matches names
// and domains. A name is never resolved to match a range: DNS could answer
// otherwise when onboard connects.
func (a addressRule) matches(addr string) bool {
	if ip := net.ParseIP(addr); ip != nil {
		return a.net != nil && a.net.Contains(ip)
	}
	addr = strings.ToLower(strings.TrimSuffix(addr, "."))
	return (a.name != "" && addr == a.name) || (a.suffix != "" && strings.HasSuffix(addr, a.suffix) && len(addr) > len(a.suffix))
}

func (r inlineRule) allowsAddress(addr string) bool {
	for _, a := range r.Addresses {
		if ar, err := parseAddressRule(a); err == nil && ar.matches(addr) {
			return true
		}
	}
	return false
}

func (r inlineRule) allowsCredential(name string) bool {
	for _, c := range r.Credentials {
		if c == name {
			return true
		}
	}
	return false
}

// InlineMachine is what a playbook says about a machine it describes itself.
// Credential and BecomePassword are names of playbooks.credentials entries.
type InlineMachine struct {
	Name           string
	Address        string
	Port           int
	OS             string
	Transport      string
	User           string
	Credential     string
	Auth           string
	KnownHosts     []string
	HostKey        []string
	Become         string
	BecomePassword string
	PackageManager string
}

// InlineHost resolves a machine a playbook describes (under key, "machine")
// if the inventory allows it: its address must match a rule of
// playbooks.inline_machines, its credentials must be ones that rule names,
// and its host keys come from the rule's known_hosts (or the playbook, where
// the rule lets it pin them). The group all's defaults apply, except its
// secrets: no credential of the inventory reaches an address by default.
func (inv *Inventory) InlineHost(doc *strictyaml.Doc, key string, m InlineMachine) (*plan.Host, []error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, doc.Errorf(key+"."+field, format, args...))
	}
	f := HostFields{Address: m.Address, Port: m.Port, OS: m.OS, Transport: m.Transport, User: m.User, Auth: m.Auth,
		HostKey: m.HostKey, Become: m.Become, PackageManager: m.PackageManager}
	errs = append(errs, CheckHostFields(doc, key, f)...)
	if len(inv.inlineRules) == 0 {
		fail("address", "the inventory allows no inline machines: add %s to the inventory's hosts, or allow its address under playbooks.inline_machines (docs/inventory.md)", m.Name)
		return nil, errs
	}
	var rules []inlineRule
	for _, r := range inv.inlineRules {
		if r.allowsAddress(m.Address) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		fail("address", "%s is not an address the inventory allows for inline machines (%s)", m.Address, inv.allowedAddresses())
		return nil, errs
	}
	// The first matching rule that allows every credential named (a
	// reference is no name: the playbook's own check refuses it).
	cred, become := m.Credential, m.BecomePassword
	if secret.Ref(cred).Validate() == nil {
		cred = ""
	}
	if secret.Ref(become).Validate() == nil {
		become = ""
	}
	var rule *inlineRule
	for i := range rules {
		if (cred == "" || rules[i].allowsCredential(cred)) && (become == "" || rules[i].allowsCredential(become)) {
			rule = &rules[i]
			break
		}
	}
	for _, c := range []struct{ field, name string }{{"credential", cred}, {"become_password", become}} {
		if c.name == "" {
			continue
		}
		if _, ok := inv.credentials[c.name]; !ok {
			// The text is not echoed: it may be a secret pasted by mistake.
			fail(c.field, "names no credential of the inventory's playbooks.credentials (%d characters; known: %s)", len(c.name), strings.Join(sortedKeys(inv.credentials), ", "))
			continue
		}
		if rule == nil && !anyAllows(rules, c.name) {
			fail(c.field, "credential %s is not allowed for %s: the rules matching it (%s) do not list it", c.name, m.Address, rulePositions(rules))
		}
	}
	if rule == nil && len(errs) == 0 {
		fail("credential", "no one rule of playbooks.inline_machines allows both %s and %s for %s (%s)", cred, become, m.Address, rulePositions(rules))
	}
	if len(m.KnownHosts) > 0 {
		fail("known_hosts", "a playbook cannot name known_hosts files (onboard records new host keys there, and they decide which hosts are trusted): the inventory's playbooks.inline_machines[].known_hosts gives them")
	}
	if len(m.HostKey) > 0 && rule != nil && !rule.PlaybookHostKeys {
		fail("host_key", "the inventory does not let playbooks pin host keys for %s (%s: playbook_host_keys is not set); its known_hosts are used", m.Address, rule.doc.Pos(rule.key))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var layers []HostFields
	var dirs []string
	if g, ok := inv.Groups["all"]; ok {
		layers, dirs = append(layers, withoutSecrets(g.Defaults)), append(dirs, inv.dirs["groups.all"])
	}
	if len(rule.KnownHosts) > 0 {
		layers, dirs = append(layers, HostFields{KnownHosts: rule.KnownHosts}), append(dirs, rule.dir)
	}
	// The named credentials are made absolute against the file defining them.
	if c, ok := inv.credentials[cred]; ok {
		f.Credential = absRef(c.ref, c.dir)
	}
	if c, ok := inv.credentials[become]; ok {
		f.BecomePassword = absRef(c.ref, c.dir)
	}
	layers, dirs = append(layers, f), append(dirs, "")
	h := Resolve(m.Name, layers, dirs)
	return h, errs
}

// withoutSecrets drops what a group's defaults say about credentials and
// key material: they are for the inventory's hosts only.
func withoutSecrets(f HostFields) HostFields {
	f.Credential, f.BecomePassword, f.ClientCert, f.ClientKey, f.Keytab, f.CCache = "", "", "", "", "", ""
	if f.Auth == "password" || f.Auth == "key" || f.Auth == "certificate" || f.Auth == "kerberos" {
		f.Auth = ""
	}
	return f
}

func anyAllows(rules []inlineRule, name string) bool {
	for _, r := range rules {
		if r.allowsCredential(name) {
			return true
		}
	}
	return false
}

func rulePositions(rules []inlineRule) string {
	var s []string
	for _, r := range rules {
		s = append(s, r.doc.Pos(r.key).String())
	}
	return strings.Join(s, ", ")
}

func (inv *Inventory) allowedAddresses() string {
	var s []string
	for _, r := range inv.inlineRules {
		s = append(s, r.Addresses...)
	}
	sort.Strings(s)
	return "allowed: " + strings.Join(s, ", ")
}

// ReadDirs are the folders the inventory lets playbooks' file sources read.
func (inv *Inventory) ReadDirs() []string { return append([]string(nil), inv.readDirs...) }

// WriteDirs are the folders the inventory lets playbooks' reports and
// password deliveries be written in.
func (inv *Inventory) WriteDirs() []string { return append([]string(nil), inv.writeDirs...) }

// ProfileDirs are the inventory's folders of role profiles: those its
// playbooks.profiles name, then profiles/ beside each inventory path.
func (inv *Inventory) ProfileDirs() []string {
	dirs := append([]string(nil), inv.profileDirs...)
	for _, p := range inv.paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(abs), "profiles"))
	}
	return dirs
}

// Private are the local paths a playbook never reads: the inventory's
// folders (keys and credentials often live beside it) and every file the
// inventory names as a secret (file: references, client keys, keytabs,
// ticket caches), wherever it is.
func (inv *Inventory) Private() []string {
	var out []string
	for _, p := range inv.paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	ref := func(r, dir string) {
		if f, ok := strings.CutPrefix(r, "file:"); ok {
			out = append(out, secret.ExpandPath(f, dir))
		}
	}
	path := func(p, dir string) {
		if p != "" {
			out = append(out, secret.ExpandPath(p, dir))
		}
	}
	fields := func(f HostFields, dir string) {
		ref(f.Credential, dir)
		ref(f.BecomePassword, dir)
		path(f.ClientKey, dir)
		path(f.Keytab, dir)
		path(f.CCache, dir)
	}
	for _, n := range sortedKeys(inv.Hosts) {
		fields(inv.Hosts[n].HostFields, inv.dirs["hosts."+n])
	}
	for _, n := range sortedKeys(inv.Groups) {
		fields(inv.Groups[n].Defaults, inv.dirs["groups."+n])
	}
	for _, n := range sortedKeys(inv.Directories) {
		d := inv.Directories[n]
		ref(d.BindPassword, inv.dirs["directories."+n])
		ref(d.Join.Password, inv.dirs["directories."+n])
	}
	for _, n := range sortedKeys(inv.credentials) {
		ref(inv.credentials[n].ref, inv.credentials[n].dir)
	}
	for _, n := range sortedKeys(inv.notify.channels) {
		c := inv.notify.channels[n]
		for _, r := range []string{c.Password, c.Key, c.Token, c.URL} {
			ref(r, c.Dir)
		}
	}
	return out
}
