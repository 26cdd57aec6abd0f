package winsim

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Removal: uninstallers (msiexec /x, winget uninstall, choco uninstall),
// printui /gd and Remove-Printer, Remove-LocalGroupMember, and sign-in
// sessions (quser, logoff) for login-revoke.

// runUninstaller removes an installed package when its uninstaller's exit
// code says so (3010 and 1641 with a reboot pending); the Uninstall key
// goes with it, so msi-check no longer finds it.
func (h *Host) runUninstaller(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	code := 0
	if _, p, ok := h.lookupPackage(key); ok {
		code = p.UninstallExitCode
	}
	switch code {
	case 0, 3010, 1641:
		delete(h.installed, strings.ToLower(key))
		if code != 0 {
			h.installReboot = true
		}
	}
	return code
}

func (h *Host) installedKey(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.installedLocked(id)
	return p.key, ok
}

func opMSIUninstall(v *inv) int {
	code := v.str("product_code")
	key, ok := v.h.installedKey(code)
	if !ok {
		// msiexec /x of a product that is not installed: 1605.
		stamp := "MSI (c) (1C:F0) [" + time.Now().Format("15:04:05") + ":101]: "
		log := []string{stamp + "Note: 1: 1708 ", stamp + "Product: " + code + " -- This action is only valid for products that are currently installed.",
			stamp + "MainEngineThread is returning 1605", "=== Verbose logging stopped: " + time.Now().Format("1/2/2006  15:04:05") + " ===", ""}
		return v.result(field{"exit_code", 1605}, field{"log", strings.Join(log, "\n")})
	}
	exit := v.h.runUninstaller(key)
	_, p, _ := v.h.lookupPackage(key)
	name := displayName(key, p)
	status := "Removal completed successfully."
	if exit != 0 && exit != 3010 && exit != 1641 {
		status = "Removal failed."
	}
	stamp := "MSI (s) (7C:44) [" + time.Now().Format("15:04:05") + ":204]: "
	log := []string{stamp + "Product: " + name + " -- " + status,
		stamp + fmt.Sprintf("Windows Installer removed the product. Product Name: %s. Product Version: %s. Product Language: 1033. Manufacturer: Acme Corporation. Removal success or error status: %d.", name, p.Version, exit),
		stamp + "MainEngineThread is returning " + strconv.Itoa(exit), ""}
	return v.result(field{"exit_code", exit}, field{"log", strings.Join(log, "\n")})
}

// wingetUninstallFailed is winget's code for an uninstaller that failed.
const wingetUninstallFailed = -1978335184 // 0x8A150030 APPINSTALLER_CLI_ERROR_EXEC_UNINSTALL_COMMAND_FAILED

func opWingetUninstall(v *inv) int {
	id := v.str("package")
	key, ok := v.h.installedKey(id)
	if !ok {
		return v.result(field{"exit_code", wingetNoPackage}, field{"log", outString(append(slices.Clone(wingetSpinner), "No installed package found matching input criteria."))})
	}
	_, p, _ := v.h.lookupPackage(key)
	out := []string{fmt.Sprintf("Found %s [%s]", displayName(key, p), key), "Starting package uninstall..."}
	switch exit := v.h.runUninstaller(key); exit {
	case 0:
		out, exit = append(out, "Successfully uninstalled"), 0
		return v.result(field{"exit_code", exit}, field{"log", outString(out)})
	case 3010:
		return v.result(field{"exit_code", wingetRebootToFinish}, field{"log", outString(append(out, "Restart your PC to finish uninstallation."))})
	case 1641:
		return v.result(field{"exit_code", wingetRebootInitiated}, field{"log", outString(append(out, "Your PC will restart to finish uninstallation."))})
	default:
		return v.result(field{"exit_code", wingetUninstallFailed}, field{"log", outString(append(out, "Uninstall failed with exit code: "+strconv.Itoa(exit)))})
	}
}

func opChocoUninstall(v *inv) int {
	h := v.h
	id := v.str("package")
	name := strings.ToLower(id)
	head := []string{"Chocolatey v" + h.cfg.ChocolateyVersion, "Uninstalling the following packages:", name}
	logLine := " See the log for details (C:\\ProgramData\\chocolatey\\logs\\chocolatey.log)."
	key, ok := h.installedKey(id)
	if !ok {
		what := name + " is not installed. Cannot uninstall a non-existent package."
		return v.result(field{"exit_code", 1}, field{"log", outString(append(head, what, "", "Chocolatey uninstalled 0/1 packages. 1 packages failed.", logLine, "", "Failures", " - "+name+" - "+what))})
	}
	h.mu.Lock()
	cur, _ := h.installedLocked(key)
	h.mu.Unlock()
	exit := h.runUninstaller(key)
	out := append(head, "", fmt.Sprintf("%s v%s", name, cur.version), " Skipping auto uninstaller - No registry snapshot.")
	switch exit {
	case 0, 3010, 1641:
		out = append(out, " "+name+" has been successfully uninstalled.", "", "Chocolatey uninstalled 1/1 packages.", logLine)
		if exit != 0 {
			out = append(out, "", "Packages requiring reboot:", fmt.Sprintf(" - %s (exit code %d)", name, exit))
		}
		return v.result(field{"exit_code", exit}, field{"log", outString(out)})
	}
	out = append(out, fmt.Sprintf("ERROR: Running [\"C:\\Windows\\System32\\msiexec.exe\" /x ...] was not successful. Exit code was '%d'.", exit),
		"", "Chocolatey uninstalled 0/1 packages. 1 packages failed.", logLine)
	return v.result(field{"exit_code", exit}, field{"log", outString(out)})
}

// opPrinterRemove: printui /gd removes the per-machine connection (exit
// 0 whether or not there was one, as /q keeps printui quiet); the spooler
// restart drops what it showed for it; Remove-Printer then removes a
// printer still shown under that name.
func opPrinterRemove(v *inv) int {
	h := v.h
	conn := v.str("connection")
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.connections {
		if connectionKey(c) == connectionKey(conn) {
			delete(h.connections, c)
			delete(h.visible, c)
		}
	}
	for k, n := range h.visible {
		if wildcardMatch(conn, n) {
			delete(h.visible, k)
		}
	}
	return v.result(field{"exit_code", 0})
}

// opLocalGroupRemove is Remove-LocalGroupMember in the script's try: a
// member found by name (or resolved as Windows resolves it) is removed;
// one that is not in the group is Windows' MemberNotFoundException, which
// the script catches ({"removed":false}); an unknown group or principal is
// an error.
func opLocalGroupRemove(v *inv) int {
	h := v.h
	group, who := v.str("group"), v.str("member")
	const statement = "Remove-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop"
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[strings.ToLower(group)]
	if g == nil {
		return v.fail(groupNotFound("Remove-LocalGroupMember", statement, group))
	}
	if h.removeMemberLocked(g, who) {
		return v.result(field{"removed", true})
	}
	if _, perr := h.resolveLocked(who); perr != nil {
		e := *perr
		e.Command, e.Statement = "Remove-LocalGroupMember", statement
		e.ErrorID = strings.ReplaceAll(e.ErrorID, "AddLocalGroupMember", "RemoveLocalGroupMember")
		return v.fail(&e)
	}
	return v.result(field{"removed", false})
}

// removeMemberLocked removes the member of g named who (as
// Get-LocalGroupMember names it), reporting whether there was one.
func (h *Host) removeMemberLocked(g *localGroup, who string) bool {
	for i, m := range g.members {
		if strings.EqualFold(h.memberName(m), who) {
			g.members = slices.Delete(g.members, i, i+1)
			return true
		}
	}
	return false
}

// session is one sign-in as quser lists it.
type session struct {
	user, name, state string // name: "console", "rdp-tcp#3", "" when disconnected
	id                int
	logon             time.Time
}

// SignIn makes a session for user (a name, as quser shows it: without
// the domain), on the console or, when remote, over Remote Desktop;
// disconnected sessions have no session name. It returns the session ID.
func (h *Host) SignIn(user string, remote, disconnected bool) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := 1
	for _, s := range h.sessions {
		id = max(id, s.id+1)
	}
	s := session{user: user, id: id, state: "Active", name: "console", logon: time.Now()}
	if remote {
		s.name = fmt.Sprintf("rdp-tcp#%d", id+2)
	}
	if disconnected {
		s.name, s.state = "", "Disc"
	}
	h.sessions = append(h.sessions, s)
	return id
}

// Sessions lists the signed-in users' names, one per session.
func (h *Host) Sessions() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, s := range h.sessions {
		out = append(out, s.user)
	}
	return out
}

// quserLocked is what quser.exe prints on stdout: a header, then one line
// per session, the current one marked with '>' (none over WinRM), the
// columns padded as quser pads them. Nobody signed in: nothing on stdout
// ("No User exists for *" on stderr), exit 1.
func (h *Host) quserLocked() []string {
	if len(h.sessions) == 0 {
		return nil
	}
	out := []string{" USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME"}
	for _, s := range h.sessions {
		idle := "none"
		if s.state == "Disc" {
			idle = "5"
		}
		out = append(out, fmt.Sprintf(" %-21s %-17s %3d  %-6s %10s  %s", s.user, s.name, s.id, s.state, idle, s.logon.Format("1/2/2006 3:04 PM")))
	}
	return out
}

// The login-revoke scripts' parsing of quser, applied here to what quser
// prints.
var quserParsing = []string{
	"$ErrorActionPreference = 'Continue'\n$quser = @(& quser.exe 2>$null)\n$ErrorActionPreference = 'Stop'",
	"foreach ($line in @($quser | Select-Object -Skip 1)) {",
	"$words = @(-split ([string]$line).TrimStart('>', ' '))",
	"if ($words.Count -lt 3 -or $words[0] -ne $in.session_name) { continue }",
	"if ($w -match '^\\d+$') { $sessions += [int]$w; break }",
}

var allDigits = regexp.MustCompile(`^\d+$`)

// sessionsOfLocked parses quser's lines as the script does.
func (h *Host) sessionsOfLocked(name string) []int {
	var ids []int
	lines := h.quserLocked()
	if len(lines) > 0 {
		lines = lines[1:]
	}
	for _, line := range lines {
		words := strings.Fields(strings.TrimLeft(line, "> "))
		if len(words) < 3 || !strings.EqualFold(words[0], name) {
			continue
		}
		for _, w := range words[1:] {
			if allDigits.MatchString(w) {
				n, _ := strconv.Atoi(w)
				ids = append(ids, n)
				break
			}
		}
	}
	return ids
}

// revokeGroups is the script's $in.groups.
func (v *inv) revokeGroups() []string {
	var groups []string
	if list, ok := v.in["groups"].([]any); ok {
		for _, g := range list {
			if s, ok := g.(string); ok {
				groups = append(groups, s)
			}
		}
	}
	return groups
}

func opLoginRevoke(apply bool) func(*inv) int {
	return func(v *inv) int {
		h := v.h
		for _, s := range quserParsing {
			if !strings.Contains(v.script, s) {
				return v.fail(&psError{Message: fmt.Sprintf("winsim: the %s script no longer contains %q: teach internal/winsim its new parsing (remove.go)", v.op, s), ErrorID: "winsim"})
			}
		}
		who := v.str("member")
		h.mu.Lock()
		defer h.mu.Unlock()
		var in []string
		for _, name := range v.revokeGroups() {
			g := h.groups[strings.ToLower(name)]
			if g == nil {
				continue // Get-LocalGroup -ErrorAction SilentlyContinue
			}
			for _, n := range h.memberNamesLocked(g) {
				if strings.EqualFold(n, who) {
					in = append(in, name)
					if apply {
						h.removeMemberLocked(g, n)
					}
					break
				}
			}
		}
		ids := h.sessionsOfLocked(v.str("session_name"))
		if apply {
			// logoff.exe ID for each.
			h.sessions = slices.DeleteFunc(h.sessions, func(s session) bool { return slices.Contains(ids, s.id) })
		}
		if in == nil {
			in = []string{}
		}
		return v.result(field{"groups", in}, field{"sessions", ids})
	}
}
