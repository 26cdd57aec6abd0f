package winsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The machine: facts, the domain join, restarts.

func netbiosName(name string) string {
	name = strings.ToUpper(name)
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

func opFacts(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return v.result(
		field{"computer_name", h.name},
		field{"domain", h.domainLocked()},
		field{"part_of_domain", h.joined},
		field{"secure_channel", h.joined && h.secure},
		field{"join_pending", h.pendingJoin != nil},
		field{"boot_time", h.bootTime.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		field{"pending_reboot", h.pendingRebootLocked()},
	)
}

// validComputerName is what Add-Computer -NewName and Rename-Computer
// accept: letters, digits and hyphens, not only digits, at most 63.
func validComputerName(n string) bool {
	if n == "" || len(n) > 63 {
		return false
	}
	digits := true
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-':
			digits = false
		default:
			return false
		}
	}
	return !digits
}

// splitAccount splits "DOMAIN\user" and "user@domain".
func splitAccount(s string) (user, domain string) {
	if d, u, ok := strings.Cut(s, `\`); ok {
		return u, d
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// isDomain says whether d names the configured domain (DNS or NetBIOS).
func (h *Host) isDomain(d string) bool {
	dc := h.cfg.Domain
	return dc.Name != "" && (strings.EqualFold(d, dc.Name) || strings.EqualFold(d, dc.NetBIOS))
}

func (h *Host) joinCredentialsOK(user, password string) bool {
	u, d := splitAccount(user)
	// A bare user name is an account of the domain being joined.
	if u == "" || (d != "" && !h.isDomain(d)) {
		return false
	}
	for k, pw := range h.cfg.Domain.JoinUsers {
		ku, kd := splitAccount(k)
		if strings.EqualFold(ku, u) && (kd == "" || h.isDomain(kd)) && pw == password {
			return true
		}
	}
	return false
}

const statementAddComputer = "Add-Computer @params"

func opJoin(v *inv) int {
	h := v.h
	raw, err := readAll(v.ctx, v.stdin)
	if err != nil {
		return 1
	}
	var secret map[string]any
	if strings.TrimSpace(string(raw)) != "" {
		if err := json.Unmarshal(raw, &secret); err != nil {
			return v.fail(&psError{Command: "ConvertFrom-Json", Message: "Invalid JSON primitive: " + firstWord(string(raw)) + ".",
				Statement: "[Console]::In.ReadToEnd() | ConvertFrom-Json", Category: "NotSpecified", Exception: "ArgumentException",
				ErrorID: "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand"})
		}
	}
	user, _ := secret["user"].(string)
	password, hasPassword := secret["password"].(string)
	if !hasPassword {
		return v.fail(&psError{Command: "ConvertTo-SecureString", Message: "Cannot bind argument to parameter 'String' because it is null.",
			Statement: "ConvertTo-SecureString -String $secret.password -AsPlainText -Force", Category: "InvalidData", Exception: "ParameterBindingValidationException",
			ErrorID: "ParameterArgumentValidationErrorNullNotAllowed,Microsoft.PowerShell.Commands.ConvertToSecureStringCommand"})
	}
	domain, ou, newName := v.str("domain"), v.str("ou"), v.str("new_name")

	h.mu.Lock()
	defer h.mu.Unlock()
	name := h.name
	if newName != "" && strings.EqualFold(newName, name) {
		newName = ""
	}
	joinErr := func(reason, id string) int {
		from := "from its current workgroup 'WORKGROUP'"
		if h.joined {
			from = "from its current domain '" + h.cfg.Domain.Name + "'"
		}
		return v.fail(&psError{Command: "Add-Computer",
			Message:   fmt.Sprintf("Computer '%s' failed to join domain '%s' %s with following error message: %s", name, domain, from, reason),
			Statement: statementAddComputer, Category: "OperationStopped", Target: name, Exception: "InvalidOperationException",
			ErrorID: id + ",Microsoft.PowerShell.Commands.AddComputerCommand"})
	}
	switch {
	case newName != "" && !validComputerName(newName):
		return v.fail(&psError{Command: "Add-Computer",
			Message: fmt.Sprintf("Skip computer '%s' with new name '%s' because the new name is not valid. The new computer name entered is not properly formatted. "+
				"Standard names may contain letters (a-z, A-Z), numbers (0-9), and hyphens (-), but no spaces or periods (.). "+
				"The name may not consist entirely of digits, and may not be longer than 63 characters.", name, newName),
			Statement: statementAddComputer, Category: "InvalidArgument", Target: newName, Exception: "InvalidOperationException",
			ErrorID: "InvalidNewName,Microsoft.PowerShell.Commands.AddComputerCommand"})
	case !h.isDomain(domain):
		return joinErr("The specified domain either does not exist or could not be contacted.", "FailToJoinDomainFromWorkgroup")
	case h.joined:
		return v.fail(&psError{Command: "Add-Computer",
			Message:   fmt.Sprintf("Cannot add computer '%s' to domain '%s' because it is already in that domain.", name, domain),
			Statement: statementAddComputer, Category: "InvalidOperation", Target: name, Exception: "InvalidOperationException",
			ErrorID: "AddComputerToSameDomain,Microsoft.PowerShell.Commands.AddComputerCommand"})
	case !h.joinCredentialsOK(user, password):
		return joinErr("The user name or password is incorrect.", "FailToJoinDomainFromWorkgroup")
	}
	h.pendingJoin = &pendingJoin{domain: h.cfg.Domain.Name, ou: ou, newName: newName}
	return v.result(field{"joined", true}, field{"reboot", true})
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \r\n\t"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

func opRestart(v *inv) int {
	v.h.scheduleRestart()
	return v.result(field{"restarting", true})
}

// scheduleRestart is Restart-Computer -Force: the command returns at
// once and the machine goes down a moment later.
func (h *Host) scheduleRestart() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.restarting || h.closed {
		return
	}
	h.restarting = true
	h.timers = append(h.timers, time.AfterFunc(h.cfg.ShutdownDelay, h.shutdown))
}

// shutdown takes the machine down: every connection reset, every shell
// dropped (its commands cancelled).
func (h *Host) shutdown() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.down = true
	srv := h.server
	if !h.cfg.NeverReturn {
		h.timers = append(h.timers, time.AfterFunc(h.cfg.RebootTime, h.boot))
	}
	h.mu.Unlock()
	h.listeners.resetAll()
	if srv != nil {
		srv.DropShells()
	}
}

// boot brings the machine back with what was pending applied.
func (h *Host) boot() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	pj := h.pendingJoin
	name := h.name
	if pj != nil && pj.newName != "" {
		name = netbiosName(pj.newName)
	}
	onJoin := h.cfg.Domain.OnJoin
	h.mu.Unlock()

	var joinErr error
	if pj != nil && onJoin != nil {
		joinErr = onJoin(name, pj.ou)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if pj != nil {
		h.name = name
		h.joined = true
		h.secure = joinErr == nil
		h.joinOU = pj.ou
		h.joinErr = ""
		if joinErr != nil {
			h.joinErr = joinErr.Error()
		}
		h.pendingJoin = nil
		h.addDomainGroupsLocked()
	}
	h.installReboot = false
	h.checks.updateReboot = false
	h.bootTime = time.Now().UTC().Truncate(time.Microsecond)
	h.reboots++
	h.down = false
	h.restarting = false
}
