// Package winsim is the simulated Windows host of the test lab: a
// wsman.Host that answers the PowerShell scripts onboard sends (dispatched
// on their "# onboard-op: NAME" line, with their $in data) the way Windows
// PowerShell 5.1 on a real machine makes those scripts answer: the same JSON
// line on stdout, the same CLIXML error records on stderr, the same exit
// codes. It keeps the machine's state (name, domain membership, pending
// reboot, installed software, printers, local groups, a small file system)
// and restarts: during a reboot the host is down (its listener resets every
// connection, its commands fail and every WinRM shell is dropped), and it
// comes back with a new boot time and the pending changes applied.
//
// Where a script's answer depends on what a Windows tool prints and how the
// script parses it (winget's table, choco's list), winsim prints what the
// tool prints and applies the script's own parsing, so a script that would
// misread the real tool misreads it here too. The package's README-like
// summary of every op is in ops.go.
package winsim

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"onboard/internal/lab/wsman"
)

// Config describes the simulated machine.
type Config struct {
	// ComputerName is the NetBIOS name (default "WIN1"), upper-cased as
	// Windows reports it.
	ComputerName string
	// Users are the local accounts (name -> password), members of
	// Administrators. The accounts WinRM accepts are configured in
	// wsman.Config, not here.
	Users map[string]string
	// Domain is the Active Directory domain the host may join.
	Domain DomainConfig
	// Packages is what msiexec, winget and choco can install: the key is
	// an MSI product code, a winget id or a Chocolatey package name
	// (compared case-insensitively).
	Packages map[string]Package
	// Installed is what is installed at first boot: key as in Packages
	// (or any MSI product code, winget id or choco name) -> version.
	Installed map[string]string
	// ChocolateyVersion is the choco.exe version (default "2.4.3").
	// Chocolatey 2 refuses `choco list --local-only`.
	ChocolateyVersion string
	// Printers maps a share (\\server\share) to the driver its print
	// server offers: printui /ga connects it and Add-PrinterDriver can
	// install that driver.
	Printers map[string]string
	// Drivers are the printer drivers installed at first boot (default:
	// Windows' inbox "Microsoft Print To PDF" and friends).
	Drivers []string
	// DriverStore lists further drivers Add-PrinterDriver can install
	// without a print server offering them (default none).
	DriverStore []string
	// Files and Dirs seed the file system (C:\Windows, C:\Users,
	// C:\Program Files, C:\ProgramData and C:\Windows\Temp always exist).
	Files map[string][]byte
	Dirs  []string
	// RebootTime is how long the host is away during a reboot (default
	// 3 s). ShutdownDelay is how long Restart-Computer takes to stop the
	// machine after the script that asked returned (default 1 s: the
	// WinRM client must get the script's output first).
	RebootTime, ShutdownDelay time.Duration
	// NeverReturn: after a restart the host never comes back.
	NeverReturn bool
	// Services are the Windows services besides the defaults (WinRM,
	// Spooler, WinDefend, mpssvc, wuauserv, BITS), by name.
	Services map[string]Service
	// Hosts maps names to addresses for Resolve-DnsName (the hosts file);
	// DNSServer ("ip:port"), when set, answers the other names.
	Hosts     map[string][]string
	DNSServer string
	// DNSSuffix is the connection-specific DNS suffix (what DHCP gives a
	// domain member): a single-label name is looked up with it appended,
	// as Windows' DNS client does. Names are always asked as absolute
	// names, never with this process's own search list.
	DNSSuffix string
	// RootCAs are the certificates the machine trusts for HTTPS (nil: the
	// system's pool of this process).
	RootCAs *x509.CertPool
}

// DomainConfig is the AD domain the host may join.
type DomainConfig struct {
	Name    string // DNS name, e.g. "corp.example.test"
	NetBIOS string // e.g. "CORP" (default: the first label, upper-cased)
	// JoinUsers are the accounts allowed to join computers: "user@domain"
	// or "DOMAIN\user" -> password.
	JoinUsers map[string]string
	// OnJoin is called at the reboot that completes a join, with the
	// computer's (new) NetBIOS name and the OU asked for (may be empty).
	// The lab uses it to create or refresh the computer object in the real
	// directory. An error leaves the host joined with a broken secure
	// channel, as Windows is when its computer account is missing.
	OnJoin func(computerName, ou string) error
	// LookupUser says whether a domain account exists (sAMAccountName, as
	// given in "DOMAIN\name"), for Add-LocalGroupMember. Nil: every name
	// resolves.
	LookupUser func(name string) (bool, error)
	// Logon checks a domain account's password for a sign-in (LogonUser)
	// on the joined machine, as its domain controller does: nil when the
	// account may sign in, a *LogonError with the Win32 error when the
	// controller refuses it, any other error when it cannot be asked.
	// Nil: no controller answers (ERROR_NO_LOGON_SERVERS).
	Logon func(ctx context.Context, user, password string) error
}

// Package is one installable package.
type Package struct {
	Name    string // display name (winget's Name column, the MSI product name)
	Version string
	// ExitCode is the installer's exit code: 0, 3010 and 1641 install it
	// (the last two with a reboot pending), anything else fails.
	ExitCode int
	// Hang: the installer never returns; the command ends only when its
	// context is cancelled (the client's timeout, a reboot).
	Hang bool
	// UninstallExitCode is the uninstaller's exit code: 0, 3010 and 1641
	// remove it (the last two with a reboot pending), anything else fails
	// and leaves it installed.
	UninstallExitCode int
}

// State is a snapshot of the machine for test assertions.
type State struct {
	ComputerName  string
	Domain        string // the DNS domain, or "WORKGROUP"
	PartOfDomain  bool
	SecureChannel bool
	JoinPending   bool
	PendingReboot bool
	JoinOU        string // the OU of the last completed join
	JoinError     string // OnJoin's error at the last completed join
	BootTime      time.Time
	Down          bool
	Reboots       int
	// Installed maps the installed packages (key as in Config.Packages)
	// to their version.
	Installed          map[string]string
	PrinterConnections []string // per-machine connections, \\server\share
	Printers           []string // printers the spooler shows
	Drivers            []string
	LocalGroups        map[string][]string // group -> members, DOMAIN\name
	Files              map[string][]byte   // path -> content
	Dirs               []string
	// Commands are the ops seen (or the command line, for a command that
	// is not an onboard script), in order. Killed are those whose context
	// was cancelled before they finished (a hung installer, a reboot).
	Commands []string
	Killed   []string
}

// Host is the simulated machine. It implements wsman.Host and is safe for
// concurrent use.
type Host struct {
	cfg Config

	mu     sync.Mutex
	server *wsman.Server
	closed bool

	name          string // NetBIOS name
	joined        bool
	secure        bool
	joinOU        string
	joinErr       string
	pendingJoin   *pendingJoin
	installReboot bool // an installer asked for a reboot
	bootTime      time.Time
	reboots       int

	down       bool
	restarting bool // Restart-Computer ran; the shutdown is under way
	timers     []*time.Timer

	installed   map[string]installedPkg // lower-cased key
	connections map[string]string       // lower-cased \\server\share -> as added
	visible     map[string]string       // printers the spooler shows
	drivers     map[string]string       // lower-cased -> name
	groups      map[string]*localGroup  // lower-cased name
	checks      checkState              // services, names, accounts the check kinds read
	fs          *fsys
	sessions    []session // who is signed in (quser)

	commands, killed []string

	listeners listeners
}

type pendingJoin struct {
	domain, ou, newName string
}

type installedPkg struct {
	key, version, manager string
}

// New returns a freshly booted host.
func New(cfg Config) *Host {
	if cfg.ComputerName == "" {
		cfg.ComputerName = "WIN1"
	}
	if cfg.RebootTime <= 0 {
		cfg.RebootTime = 3 * time.Second
	}
	if cfg.ShutdownDelay <= 0 {
		cfg.ShutdownDelay = time.Second
	}
	if cfg.ChocolateyVersion == "" {
		cfg.ChocolateyVersion = "2.4.3"
	}
	if cfg.Domain.NetBIOS == "" && cfg.Domain.Name != "" {
		first, _, _ := strings.Cut(cfg.Domain.Name, ".")
		cfg.Domain.NetBIOS = strings.ToUpper(first)
	}
	if cfg.Drivers == nil {
		cfg.Drivers = []string{"Microsoft Print To PDF", "Microsoft XPS Document Writer v4", "Microsoft Shared Fax Driver", "Remote Desktop Easy Print"}
	}
	h := &Host{
		cfg:         cfg,
		name:        netbiosName(cfg.ComputerName),
		bootTime:    time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond),
		installed:   map[string]installedPkg{},
		connections: map[string]string{},
		visible:     map[string]string{},
		drivers:     map[string]string{},
		groups:      map[string]*localGroup{},
		fs:          newFS(),
	}
	for k, v := range cfg.Installed {
		h.installed[strings.ToLower(k)] = installedPkg{key: k, version: v}
	}
	for _, d := range cfg.Drivers {
		h.drivers[strings.ToLower(d)] = d
	}
	for _, d := range cfg.Dirs {
		h.fs.mkdirAll(d)
	}
	for p, b := range cfg.Files {
		h.fs.mkdirAll(parentPath(normPath(p)))
		_ = h.fs.writeFile(p, b)
	}
	h.initGroups()
	h.initChecks()
	return h
}

// SetServer tells the host its WinRM server, so that a restart drops every
// shell, as Windows does.
func (h *Host) SetServer(s *wsman.Server) {
	h.mu.Lock()
	h.server = s
	h.mu.Unlock()
}

// Down reports whether the host is restarting (or never came back).
func (h *Host) Down() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// Close stops the host's listeners and any reboot under way (the host
// stays as it is).
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	timers := h.timers
	h.timers = nil
	h.mu.Unlock()
	for _, t := range timers {
		t.Stop()
	}
	return h.listeners.close()
}

// State returns a snapshot of the machine.
func (h *Host) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := State{
		ComputerName:  h.name,
		Domain:        h.domainLocked(),
		PartOfDomain:  h.joined,
		SecureChannel: h.joined && h.secure,
		JoinPending:   h.pendingJoin != nil,
		PendingReboot: h.pendingRebootLocked(),
		JoinOU:        h.joinOU,
		JoinError:     h.joinErr,
		BootTime:      h.bootTime,
		Down:          h.down,
		Reboots:       h.reboots,
		Installed:     map[string]string{},
		LocalGroups:   map[string][]string{},
		Files:         map[string][]byte{},
		Commands:      slices.Clone(h.commands),
		Killed:        slices.Clone(h.killed),
	}
	for _, p := range h.installed {
		st.Installed[p.key] = p.version
	}
	st.PrinterConnections = sortedValues(h.connections)
	st.Printers = sortedValues(h.visible)
	st.Drivers = sortedValues(h.drivers)
	for _, g := range h.groups {
		st.LocalGroups[g.name] = h.memberNamesLocked(g)
	}
	for _, f := range h.fs.files {
		st.Files[f.path] = slices.Clone(f.data)
	}
	st.Dirs = sortedValues(h.fs.dirs)
	return st
}

func sortedValues(m map[string]string) []string {
	return slices.Sorted(maps.Values(m))
}

func (h *Host) domainLocked() string {
	if h.joined {
		return h.cfg.Domain.Name
	}
	return "WORKGROUP"
}

func (h *Host) pendingRebootLocked() bool {
	return h.pendingJoin != nil || h.installReboot || h.checks.updateReboot
}

func (h *Host) record(what string) {
	h.mu.Lock()
	h.commands = append(h.commands, what)
	h.mu.Unlock()
}

func (h *Host) recordKilled(what string) {
	h.mu.Lock()
	h.killed = append(h.killed, what)
	h.mu.Unlock()
}

// Run runs one command of a WinRM shell: an onboard PowerShell script, or
// one of the few cmd.exe commands other clients send first (hostname,
// echo, whoami).
func (h *Host) Run(ctx context.Context, c wsman.Command) int {
	if h.Down() {
		fmt.Fprintf(c.Stderr, "winsim: %s is restarting\r\n", h.currentName())
		return 1
	}
	line := c.CommandLine
	if len(c.Args) > 0 {
		line += " " + strings.Join(c.Args, " ")
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return 0
	}
	if isPowerShell(fields[0]) {
		return h.runPowerShell(ctx, c, line)
	}
	h.record(line)
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), fields[0]))
	switch strings.ToLower(strings.TrimSuffix(strings.ToLower(fields[0]), ".exe")) {
	case "hostname":
		fmt.Fprint(c.Stdout, h.currentName()+"\r\n")
	case "echo":
		fmt.Fprint(c.Stdout, rest+"\r\n")
	case "whoami":
		user := c.User
		if !strings.Contains(user, `\`) {
			user = h.currentName() + `\` + user
		}
		fmt.Fprint(c.Stdout, strings.ToLower(user)+"\r\n")
	default:
		fmt.Fprintf(c.Stderr, "winsim: unknown command %q (winsim runs onboard's PowerShell scripts, hostname, echo and whoami)\r\n", line)
		return 1
	}
	return 0
}

func (h *Host) currentName() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.name
}

func isPowerShell(word string) bool {
	w := strings.ToLower(strings.Trim(word, `"`))
	if i := strings.LastIndexAny(w, `\/`); i >= 0 {
		w = w[i+1:]
	}
	switch w {
	case "powershell", "powershell.exe", "pwsh", "pwsh.exe":
		return true
	}
	return false
}

// readAll reads r to its end, or until ctx ends.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
