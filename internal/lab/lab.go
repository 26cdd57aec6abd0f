// Package lab runs real test infrastructure on one Linux machine: Debian
// workstations (sshd, cupsd) in network namespaces on a private bridge, IPP
// printers, a local apt repository and, when asked for, an OpenLDAP server
// and a Samba Active Directory domain controller, for onboard's integration
// tests.
//
// In a test:
//
//	l := lab.ForTest(t, lab.Config{Name: "remt", Subnet: 240}) // own name and subnet per test package
//	// ssh -i l.KeyFile -o UserKnownHostsFile=l.KnownHostsFile l.User@l.Workstations[0].Addr
//	out, _, err := l.Exec(ctx, "ws1", "dpkg-query -W acme-chat") // as root, without SSH
//
// From a shell: go run ./cmd/onboard-lab up | status | down.
//
// Layout: 10.213.N.1 is the bridge (root namespace, where tests run),
// 10.213.N.2 the services host (apt repository on port 8000, printers on
// 8631 and up, the lab's DNS server on 53), 10.213.N.3 the Samba AD DC dc1
// and 10.213.N.4 the OpenLDAP server (see Config.ActiveDirectory and
// Config.OpenLDAP), 10.213.N.5 to .7 the intranet site, the mail port and
// the VPN gateway (names.go), 10.213.N.11 and up the workstations ws1, ws2,
// ... The namespaces have no default route: lab traffic stays on the bridge.
//
// A lab is made of components (base image, network, services host, CA,
// repository, printers, intranet, gateways, DNS, OpenLDAP, Active
// Directory, Windows hosts, workstations,
// inventory) started in order and torn down by name, so that a half-started
// or crashed lab is cleaned up by the next Start or Stop. Everything a lab owns is named after Config.Name:
// network namespaces "obl-NAME-*", links "obl-NAME" (the bridge) and
// "obl-NAME-*", and the state folder Config.Dir. It needs root. Workstations
// share the controller's kernel and run as real root: they keep tests apart,
// they are no security boundary.
package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Config says which lab to start. The zero value is a valid lab "lab" with two
// workstations, two printers and the default packages.
type Config struct {
	// Name is a short id, [a-z0-9]{1,6}; it names the lab's namespaces and
	// links, so two labs with different names never collide. Default "lab".
	Name string
	// Dir holds the lab's state (keys, inventory, overlay layers, spools).
	// Default /var/tmp/onboard-lab/NAME.
	Dir string
	// Subnet is the third octet N of the lab's network 10.213.N.0/24. Two labs
	// running at once must use different subnets. Default 0.
	Subnet int
	// Workstations is how many workstations to start, named ws1..wsN.
	// Default 2.
	Workstations int
	// Printers are the queue names of the lab's IPP printers.
	// Default ["Office-2F", "Lobby"].
	Printers []string
	// Packages are built into the lab's apt repository. Default
	// DefaultPackages().
	Packages []Package
	// CacheDir holds the cached base image. Default /var/cache/onboard-lab.
	CacheDir string
	// OpenLDAP starts an OpenLDAP server, "corp-ldap" at 10.213.N.4
	// (about half a second more).
	OpenLDAP bool
	// PPolicy loads the ppolicy overlay into the OpenLDAP server (no
	// default policy): accounts can then be locked (disabled), and
	// pwdChangedTime and pwdReset exist.
	PPolicy bool
	// ActiveDirectory starts a Samba Active Directory domain controller,
	// "corp-ad" (dc1 of CORP.EXAMPLE.TEST) at 10.213.N.3, provisioned afresh
	// (about 10 s more).
	ActiveDirectory bool
	// Windows is how many simulated Windows workstations to start, win1..winN
	// at 10.213.N.31 and up, serving WinRM over HTTPS (see windows.go).
	// Default 0. With it, Workstations may be at most 20.
	Windows int
}

// Package is one package of the lab's apt repository. It installs
// /usr/bin/NAME, which prints "NAME VERSION", and /usr/share/doc/NAME/README.
type Package struct {
	Name        string
	Version     string
	Description string
	Depends     []string
}

// Workstation is one running lab workstation.
type Workstation struct {
	Name string
	Addr string
	Port int
	// HostKeyLine is the workstation's known_hosts line: "ADDR ssh-ed25519 AAAA...".
	HostKeyLine string
}

// Printer is one running IPP printer.
type Printer struct {
	Name string // CUPS queue name, e.g. "Office-2F"
	URI  string // ipp://SVC_ADDR:PORT/ipp/print
	// JobLog is the file the printer appends one line to per received job.
	JobLog string
}

// Lab is a running lab. Its exported fields are what tests and the inventory
// need; it is safe for concurrent use.
type Lab struct {
	Workstations   []Workstation
	Printers       []Printer
	RepoURL        string
	User           string // login user on every workstation
	KeyFile        string // ed25519 private key that logs in as User
	KnownHostsFile string // every workstation's host key
	InventoryFile  string // generated onboard inventory
	// Directories are the running directory servers, sorted by name
	// (see Config.OpenLDAP and Config.ActiveDirectory).
	Directories []Directory
	// WindowsHosts are the running simulated Windows workstations (see
	// Config.Windows). WindowsUser logs in to each over WinRM (NTLM) with
	// the password in WindowsPasswordFile (0600).
	WindowsHosts        []WindowsHost
	WindowsUser         string
	WindowsPasswordFile string

	cfg      Config
	net      netPlan
	runID    string // tells this Start from a later one of the same name
	baseRoot string // unpacked base image, the workstations' lower layer

	mu      sync.Mutex
	inits   map[string]int    // namespace name -> PID of its init, as seen from here
	nameSet map[string]string // names changed by SetName: short name -> address
	timings []timing          // how long the slow steps of Start took
}

// timing is how long one step of Start took.
type timing struct {
	step string
	took time.Duration
}

func (l *Lab) timing(step string, took time.Duration) {
	l.mu.Lock()
	l.timings = append(l.timings, timing{step, took})
	l.mu.Unlock()
}

// timingReport lists the recorded step times, for test logs.
func (l *Lab) timingReport() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, t := range l.timings {
		parts = append(parts, fmt.Sprintf("%s %s", t.step, t.took.Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// Defaults.
const (
	defaultName     = "lab"
	defaultCacheDir = "/var/cache/onboard-lab"
	defaultStateDir = "/var/tmp/onboard-lab"
	labUser         = "onboard"
	stateFile       = "state.json"
)

// DefaultPrinters returns the queue names a lab gets when Config.Printers is empty.
func DefaultPrinters() []string { return []string{"Office-2F", "Lobby"} }

// DefaultPackages returns the packages a lab's repository gets when
// Config.Packages is empty. acme-chat comes in two versions, to test pins and
// upgrades.
func DefaultPackages() []Package {
	return []Package{
		{Name: "acme-vpn", Version: "2.4.1", Description: "ACME VPN client"},
		{Name: "acme-chat", Version: "3.0.0", Description: "ACME chat client"},
		{Name: "acme-chat", Version: "3.1.0", Description: "ACME chat client"},
		{Name: "acme-crm", Version: "5.2.0", Description: "ACME customer relations"},
		{Name: "acme-ide", Version: "1.9.3", Description: "ACME IDE", Depends: []string{"acme-git-tools"}},
		{Name: "acme-git-tools", Version: "2.45.0", Description: "ACME git tools"},
		{Name: "acme-office", Version: "7.3.0", Description: "ACME office suite"},
		{Name: "acme-pos", Version: "1.1.0", Description: "ACME point of sale"},
		{Name: "acme-kiosk", Version: "0.9.2", Description: "ACME kiosk shell"},
		{Name: "acme-hr", Version: "4.0.0", Description: "ACME human resources"},
	}
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9]{1,6}$`)
	queueRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	pkgNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	pkgVerRE  = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)
)

// maxWorkstations keeps addresses .11 to .254 of the lab's /24.
const maxWorkstations = 244

// withDefaults fills in defaults and checks every value.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = defaultName
	}
	if !nameRE.MatchString(c.Name) {
		return c, fmt.Errorf("lab name %q: want 1 to 6 characters of [a-z0-9]", c.Name)
	}
	if c.Dir == "" {
		c.Dir = filepath.Join(defaultStateDir, c.Name)
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, fmt.Errorf("lab dir %q: %w", c.Dir, err)
	}
	c.Dir = dir
	if c.CacheDir == "" {
		c.CacheDir = defaultCacheDir
	}
	if c.CacheDir, err = filepath.Abs(c.CacheDir); err != nil {
		return c, fmt.Errorf("lab cache dir: %w", err)
	}
	for _, d := range []string{c.Dir, c.CacheDir} {
		// Both end up in overlayfs mount options, which use ',' and ':'.
		if strings.ContainsAny(d, ",:\n") {
			return c, fmt.Errorf("lab folder %q: must not contain ',', ':' or a newline", d)
		}
	}
	if c.Subnet < 0 || c.Subnet > 255 {
		return c, fmt.Errorf("lab subnet %d: want 0 to 255 (the N of 10.213.N.0/24)", c.Subnet)
	}
	if c.Workstations == 0 {
		c.Workstations = 2
	}
	if c.Workstations < 0 || c.Workstations > maxWorkstations {
		return c, fmt.Errorf("lab workstations %d: want 1 to %d", c.Workstations, maxWorkstations)
	}
	if c.Windows < 0 || c.Windows > 255-firstWin {
		return c, fmt.Errorf("lab windows hosts %d: want 0 to %d", c.Windows, 255-firstWin)
	}
	if c.Windows > 0 && c.Workstations > firstWin-firstWS {
		return c, fmt.Errorf("lab workstations %d: at most %d with Windows hosts (their addresses start at .%d)", c.Workstations, firstWin-firstWS, firstWin)
	}
	if len(c.Printers) == 0 {
		c.Printers = DefaultPrinters()
	}
	seen := map[string]bool{}
	for _, p := range c.Printers {
		if !queueRE.MatchString(p) {
			return c, fmt.Errorf("lab printer %q: want a CUPS queue name of letters, digits, '-' and '_'", p)
		}
		if seen[strings.ToLower(p)] {
			return c, fmt.Errorf("lab printer %q: named twice (names are compared without case)", p)
		}
		seen[strings.ToLower(p)] = true
	}
	if len(c.Packages) == 0 {
		c.Packages = DefaultPackages()
	}
	for _, p := range c.Packages {
		if !pkgNameRE.MatchString(p.Name) || !pkgVerRE.MatchString(p.Version) {
			return c, fmt.Errorf("lab package %q version %q: not a valid Debian package name and version", p.Name, p.Version)
		}
		for _, d := range p.Depends {
			if !pkgNameRE.MatchString(d) {
				return c, fmt.Errorf("lab package %s: dependency %q is not a valid package name", p.Name, d)
			}
		}
	}
	return c, nil
}

// Start starts a lab. If a lab of the same name is already up (or half up,
// after a crash), Start stops it first and starts a fresh one: a lab is never
// reused, so every Start gives clean workstations, spools and keys.
//
// The first Start on a machine builds the base image with debootstrap (about a
// minute); later ones reuse it from Config.CacheDir.
func Start(ctx context.Context, cfg Config) (*Lab, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkPrerequisites(cfg); err != nil {
		return nil, err
	}
	unlock, err := lockLab(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := teardown(ctx, cfg); err != nil {
		return nil, fmt.Errorf("stop the previous lab %q: %w", cfg.Name, err)
	}
	l := newLab(cfg)
	l.runID = newRunID()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab %s: %w", cfg.Name, err)
	}
	for _, c := range components() {
		t0 := time.Now()
		err := c.start(ctx, l)
		l.timing(c.name(), time.Since(t0))
		if err != nil {
			err = fmt.Errorf("start lab %s: %s: %w", cfg.Name, c.name(), err)
			// A fresh context: the caller's may be what just expired.
			stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if serr := teardown(stopCtx, cfg); serr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after the failed start: %w", serr))
			}
			return nil, err
		}
	}
	if err := l.saveState(); err != nil {
		return nil, err
	}
	return l, nil
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newLab(cfg Config) *Lab {
	return &Lab{
		cfg:            cfg,
		net:            newNetPlan(cfg),
		User:           labUser,
		KeyFile:        filepath.Join(cfg.Dir, "id_ed25519"),
		KnownHostsFile: filepath.Join(cfg.Dir, "known_hosts"),
		InventoryFile:  filepath.Join(cfg.Dir, "inventory", "lab.yaml"),
		inits:          map[string]int{},

		WindowsUser:         winUser,
		WindowsPasswordFile: filepath.Join(cfg.Dir, winPWFile),
	}
}

// Name returns the lab's name.
func (l *Lab) Name() string { return l.cfg.Name }

// Config returns the lab's configuration with every default filled in.
func (l *Lab) Config() Config { return l.cfg }

// state is what Open needs to attach to a running lab; the rest follows
// from Config.
type state struct {
	RunID        string
	Config       Config
	Workstations []Workstation
	Printers     []Printer
	RepoURL      string
	Directories  []Directory // without BindPassword, which stays in its 0600 file
	WindowsHosts []WindowsHost
	Names        map[string]string `json:",omitempty"` // set by SetName
}

func (l *Lab) saveState() error {
	l.mu.Lock()
	names := maps.Clone(l.nameSet)
	l.mu.Unlock()
	s := state{RunID: l.runID, Config: l.cfg, Workstations: l.Workstations, Printers: l.Printers, RepoURL: l.RepoURL, WindowsHosts: l.WindowsHosts, Names: names}
	for _, d := range l.Directories {
		d.BindPassword = ""
		s.Directories = append(s.Directories, d)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(l.cfg.Dir, stateFile), append(b, '\n'), 0o644)
}

// Open attaches to a running lab from its state file in cfg.Dir (only Name,
// or Name and Dir, matter). It fails if the lab is not running.
func Open(cfg Config) (*Lab, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := readState(cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open lab %s: not running: %w", cfg.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open lab %s: %w", cfg.Name, err)
	}
	l := newLab(s.Config)
	l.runID, l.Workstations, l.Printers, l.RepoURL = s.RunID, s.Workstations, s.Printers, s.RepoURL
	l.WindowsHosts = s.WindowsHosts
	l.nameSet = s.Names
	for _, d := range s.Directories {
		if d.BindPassword, err = readPassword(d.BindPasswordFile); err != nil {
			return nil, fmt.Errorf("open lab %s: directory %s: %w", cfg.Name, d.Name, err)
		}
		l.Directories = append(l.Directories, d)
	}
	if !netnsExists(l.net.svc.netns) {
		return nil, fmt.Errorf("open lab %s: state file found but namespace %s is gone; run Stop (onboard-lab down) to clean up", cfg.Name, l.net.svc.netns)
	}
	return l, nil
}

func readState(dir string) (state, error) {
	var s state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return s, nil
}

// Stop removes everything the lab made: every process in its namespaces, the
// namespaces, links, mounts and the state folder. Only the cached base image
// stays. Stop is safe to call twice and on a half-started lab. If a later
// Start of the same name has replaced this lab, Stop leaves that one alone.
func (l *Lab) Stop(ctx context.Context) error {
	if s, err := readState(l.cfg.Dir); err == nil && l.runID != "" && s.RunID != l.runID {
		return nil
	}
	return Teardown(ctx, l.cfg)
}

// Teardown removes every trace of the lab named cfg.Name, whether or not it
// is running or has a state file (see Stop).
func Teardown(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	unlock, err := lockLab(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()
	return teardown(ctx, cfg)
}

// lockLab serialises Start and Teardown of labs of one name, across
// processes.
func lockLab(ctx context.Context, cfg Config) (unlock func(), err error) {
	dir := filepath.Join(cfg.CacheDir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab %s: %w", cfg.Name, err)
	}
	return lockFile(ctx, filepath.Join(dir, cfg.Name+".lock"))
}

func teardown(ctx context.Context, cfg Config) error {
	var errs []error
	if err := teardownNetwork(ctx, cfg); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeState(cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stateEntries are the names Start creates in Config.Dir; removeState deletes
// only these, then Dir itself if empty, so a Dir shared with other files is safe.
var stateEntries = []string{
	stateFile, "id_ed25519", "id_ed25519.pub", "known_hosts", "inventory",
	"hosts", "services", "printers", "repo",
	caCertName, caDirName, ldapDir, ldapPWFile, adDir, adPWFile, winDir, winPWFile,
}

func removeState(dir string) error {
	var errs []error
	for _, e := range stateEntries {
		if err := os.RemoveAll(filepath.Join(dir, e)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isNotEmpty(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not empty")
}

// host returns the named workstation's network plan.
func (l *Lab) host(ws string) (nsHost, error) {
	for _, h := range l.net.workstations {
		if h.name == ws {
			return h, nil
		}
	}
	return nsHost{}, fmt.Errorf("lab %s: no workstation %q", l.cfg.Name, ws)
}

func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
