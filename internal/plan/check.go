package plan

// The check kinds that read the host's network and state, run on the host
// itself over its transport (what the workstation sees, not the controller).

// DNSCheck passes when Name resolves on the host (through its own resolver
// and /etc/hosts), to each of Addresses if any; or, with Resolves false,
// when it does not resolve.
type DNSCheck struct {
	Name      string   `json:"name"`
	Resolves  bool     `json:"resolves"`
	Addresses []string `json:"addresses,omitempty"`
	Timeout   Duration `json:"timeout"`
}

// TCPCheck passes when Host:Port accepts a connection from the host, or,
// with Reachable false, when it does not.
type TCPCheck struct {
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	Reachable bool     `json:"reachable"`
	Timeout   Duration `json:"timeout"`
}

// HTTPCheck passes when URL answers Status from the host, with each of
// Contains in the body. Insecure accepts a certificate the host does not
// trust (its subject and expiry are still recorded).
type HTTPCheck struct {
	URL      string   `json:"url"`
	Status   int      `json:"status"`
	Contains []string `json:"contains,omitempty"`
	Insecure bool     `json:"insecure,omitempty"`
	Timeout  Duration `json:"timeout"`
}

// ServiceCheck passes when a service is running (or stopped) and enabled
// (or not) as asked; nil means not asked.
type ServiceCheck struct {
	Name    string `json:"name"`
	Running *bool  `json:"running,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
}

// UserCheck passes when a user exists (or not) and belongs to each of
// Groups.
type UserCheck struct {
	Name   string   `json:"name"`
	Exists bool     `json:"exists"`
	Groups []string `json:"groups,omitempty"`
}

// GroupCheck passes when a group exists (or not).
type GroupCheck struct {
	Name   string `json:"name"`
	Exists bool   `json:"exists"`
}

// LoginCheck passes when the hire can sign in: with Bind, a bind as User
// with the initial password set in this run (the step's directory); with
// Workstation, User resolves on the machine (getent passwd) and su runs id
// as User.
type LoginCheck struct {
	User        string `json:"user"`
	Bind        bool   `json:"bind"`
	Workstation bool   `json:"workstation"`
}

// Retry repeats a check every Interval until it passes or Timeout has
// passed since the first try (goss's retry-timeout and sleep).
type Retry struct {
	Timeout  Duration `json:"timeout"`
	Interval Duration `json:"interval"`
}

// WindowsSecurityCheck passes when one item of a Windows machine's
// security baseline holds (see internal/step, baseline_win.go): Item is
// bitlocker (protection on the system drive), defender (real-time
// protection), firewall (every profile enabled) or pending-reboot (none
// pending).
type WindowsSecurityCheck struct {
	Item string `json:"item"`
}
