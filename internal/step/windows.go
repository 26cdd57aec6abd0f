package step

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

// Windows steps run generated PowerShell over WinRM. Every script gets its
// inputs as data ($in, a JSON literal quoted by powershell.Quote); secrets
// never enter the script text: they travel on stdin ($secret). Each script
// prints one JSON object as its last line of output.

// psResult runs a script and decodes its JSON result into out. Its Out
// and its errors name the script "PowerShell <op>": the command line (4-5
// KB of -EncodedCommand base64) says nothing to a reader. An error record
// on stderr is reduced to its message (see errorMessages).
func (x *Exec) psResult(ctx context.Context, msg string, s powershell.Script, secretData any, out any) (Out, error) {
	cmd, stdin := s.Command()
	if secretData != nil {
		if stdin != nil {
			return Out{}, fmt.Errorf("%s: script %s is too long to take secret data on stdin", msg, s.Op)
		}
		b, err := json.Marshal(secretData)
		if err != nil {
			return Out{}, err
		}
		stdin = b
	}
	res, err := x.runNamed(ctx, "PowerShell "+s.Op, cmd, true, stdin)
	if err != nil {
		return res, err
	}
	res.Stderr = errorMessages(powershell.DecodeCLIXML(res.Stderr))
	if res.ExitCode != 0 {
		return res, &CommandError{Host: x.T.Host.Name, Out: res, Msg: msg}
	}
	line := lastJSONLine(res.Stdout)
	if line == "" {
		return res, &CommandError{Host: x.T.Host.Name, Out: res, Msg: msg + ": the script printed no result"}
	}
	if err := json.Unmarshal([]byte(line), out); err != nil {
		return res, &CommandError{Host: x.T.Host.Name, Out: res, Msg: fmt.Sprintf("%s: unreadable result: %v", msg, err)}
	}
	return res, nil
}

// runNamed is Exec.Run for a command shown to a reader as name: in the
// Out's Command and in a transport error ("win1: run PowerShell
// win-facts: ..."), instead of the command line itself.
func (x *Exec) runNamed(ctx context.Context, name, cmd string, privileged bool, stdin []byte) (Out, error) {
	var so, se bytes.Buffer
	c := remote.Cmd{Command: cmd, Privileged: privileged, Stdout: &so, Stderr: &se}
	if len(stdin) > 0 {
		c.Stdin = bytes.NewReader(stdin)
	}
	start := time.Now()
	code, err := x.T.Comm.Run(ctx, c)
	x.Remote += time.Since(start)
	out := Out{Command: name, Stdout: so.String(), Stderr: se.String(), ExitCode: code}
	if err != nil {
		return out, fmt.Errorf("%s: run %s: %w", x.T.Host.Name, name, err)
	}
	return out, nil
}

// errorPosition is the line Windows PowerShell 5.1 puts after an error
// record's message: "At line:15 char:1", or "At C:\x\s.ps1:15 char:1".
var errorPosition = regexp.MustCompile(`^At (line:\d+|.+:\d+) char:\d+$`)

// errorMessages keeps the messages of the error records in decoded stderr
// and drops what PowerShell 5.1 prints after each message:
//
//	Add-Computer : Computer 'WIN1' failed to join domain ... The user name or password is incorrect.
//	At line:15 char:1                                     <- dropped from here
//	+ Add-Computer @params
//	+ ~~~~~~~~~~~~~~~~~~~~
//	    + CategoryInfo          : OperationStopped: (WIN1:String) [Add-Computer], InvalidOperationException
//	    + FullyQualifiedErrorId : FailToJoinDomainFromWorkgroup,Microsoft.PowerShell.Commands.AddComputerCommand
//
// That decoration is 300-450 bytes after the message, enough to push the
// message out of the tail an error shows. It starts at the position line
// (or, for a record without one, at "+ CategoryInfo") and runs over the
// lines that start with "+" or with a space (a wrapped line goes on
// indented) up to a blank line or a line that starts otherwise (the next
// record's message, a native program's own stderr), which is kept.
func errorMessages(stderr string) string {
	lines := strings.Split(stderr, "\n")
	keep := lines[:0]
	decoration := false
	for _, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case errorPosition.MatchString(t) || strings.HasPrefix(t, "+ CategoryInfo"):
			decoration = true
			continue
		case decoration && t != "" && (line[0] == '+' || line[0] == ' ' || line[0] == '\t'):
			continue
		}
		decoration = false
		keep = append(keep, line)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func lastJSONLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

// The scripts. Each reads $in and prints one JSON object.

const psReadSecret = `$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
`

// Facts about the machine that join and reboot decisions need.
const psFacts = `$cs = Get-CimInstance -ClassName Win32_ComputerSystem
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$keys = @(
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired',
    'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\JoinDomain'
)
$pending = $false
foreach ($k in $keys) { if (Test-Path -LiteralPath $k) { $pending = $true } }
$rename = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
if ($null -ne $rename) { $pending = $true }
$joinPending = Test-Path -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\JoinDomain'
$secure = $false
if ($cs.PartOfDomain) { $secure = [bool](Test-ComputerSecureChannel -ErrorAction SilentlyContinue) }
[pscustomobject]@{
    computer_name  = $cs.Name
    domain         = $cs.Domain
    part_of_domain = [bool]$cs.PartOfDomain
    secure_channel = $secure
    join_pending   = $joinPending
    boot_time      = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    pending_reboot = $pending
} | ConvertTo-Json -Compress
`

type winFacts struct {
	ComputerName  string `json:"computer_name"`
	Domain        string `json:"domain"`
	PartOfDomain  bool   `json:"part_of_domain"`
	SecureChannel bool   `json:"secure_channel"`
	JoinPending   bool   `json:"join_pending"`
	BootTime      string `json:"boot_time"`
	PendingReboot bool   `json:"pending_reboot"`
}

func facts(ctx context.Context, x *Exec) (winFacts, error) {
	var f winFacts
	_, err := x.psResult(ctx, "read the machine's state", powershell.Script{Op: "win-facts", Body: psFacts}, nil, &f)
	return f, err
}

// WinJoin renames the computer (when asked) and joins it to the domain with
// the join credentials as data on stdin. The reboot that completes the join
// is the run's single reboot step; this step verifies that the join is
// recorded and pending that reboot, and the handover check proves the
// secure channel and the computer object.
type WinJoin struct{}

const psJoin = psReadSecret + `$pw = ConvertTo-SecureString -String $secret.password -AsPlainText -Force
$cred = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $secret.user, $pw
$params = @{ DomainName = $in.domain; Credential = $cred; Force = $true; ErrorAction = 'Stop' }
if ($in.ou) { $params.OUPath = $in.ou }
if ($in.new_name -and ($in.new_name -ne $env:COMPUTERNAME)) { $params.NewName = $in.new_name }
Add-Computer @params
[pscustomobject]@{ joined = $true; reboot = $true } | ConvertTo-Json -Compress
`

func (WinJoin) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	j := s.WinJoin
	f, err := facts(ctx, x)
	if err != nil {
		return State{}, err
	}
	switch {
	case f.JoinPending:
		return differs(fmt.Sprintf("the join of %s to %s waits for a reboot", f.ComputerName, j.Domain)), nil
	case f.PartOfDomain && !strings.EqualFold(f.Domain, j.Domain):
		return State{}, fmt.Errorf("%s is joined to another domain (%s), not %s: leave it by hand first", x.T.Host.Name, f.Domain, j.Domain)
	case f.PartOfDomain:
		if why := joinedButWrong(f, j); why != "" {
			return differs(why), nil
		}
		if x.D != nil && x.D.Client != nil {
			c, err := x.D.Client.FindComputer(ctx, f.ComputerName)
			if err != nil {
				return State{}, err
			}
			if c == nil {
				return differs(fmt.Sprintf("%s believes it is joined, but %s has no computer account %s", x.T.Host.Name, j.Domain, f.ComputerName)), nil
			}
		}
		return inPlace(fmt.Sprintf("%s is joined to %s, secure channel ok", f.ComputerName, f.Domain)), nil
	}
	return missing(fmt.Sprintf("%s is not joined to %s", f.ComputerName, j.Domain)), nil
}

// joinedButWrong says what is wrong with a host that is joined to the
// domain the step wants, or "": Add-Computer cannot fix either (it refuses
// a computer already in the domain).
func joinedButWrong(f winFacts, j *plan.WinJoinSpec) string {
	switch {
	case !f.SecureChannel:
		return fmt.Sprintf("%s is joined to %s but the secure channel is broken: repair with Test-ComputerSecureChannel -Repair", f.ComputerName, f.Domain)
	case j.NewName != "" && !strings.EqualFold(f.ComputerName, j.NewName):
		return fmt.Sprintf("%s is joined to %s but not named %s: rename it with Rename-Computer -DomainCredential", f.ComputerName, f.Domain, j.NewName)
	}
	return ""
}

func (WinJoin) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	j := s.WinJoin
	f, err := facts(ctx, x)
	if err != nil {
		return "", err
	}
	if f.JoinPending {
		return "the join is already recorded and waits for the reboot", nil
	}
	if f.PartOfDomain && strings.EqualFold(f.Domain, j.Domain) {
		why := joinedButWrong(f, j)
		if why == "" {
			why = fmt.Sprintf("%s is already joined to %s; its computer account is what is missing, and Add-Computer cannot make it", f.ComputerName, f.Domain)
		}
		return "", fmt.Errorf("%s: %s", x.T.Host.Name, why)
	}
	if x.D == nil {
		return "", fmt.Errorf("%s: no directory for the join credentials", x.T.Host.Name)
	}
	data := map[string]string{"domain": j.Domain, "ou": j.OU, "new_name": j.NewName}
	creds := map[string]string{"user": x.D.Dir.JoinUser + "@" + j.Domain, "password": x.D.JoinPassword.Reveal()}
	var res struct {
		Joined bool `json:"joined"`
	}
	if _, err := x.psResult(ctx, "join "+j.Domain, powershell.Script{Op: "win-join", Body: psJoin, Data: data}, creds, &res); err != nil {
		return "", err
	}
	what := "joined " + j.Domain + " (completes at the reboot)"
	if j.NewName != "" && !strings.EqualFold(f.ComputerName, j.NewName) {
		what = fmt.Sprintf("renamed %s to %s and %s", f.ComputerName, j.NewName, what)
	}
	return what, nil
}

// Verify accepts a join that waits for its reboot.
func (k WinJoin) Verify(ctx context.Context, x *Exec, s *plan.Step) error {
	f, err := facts(ctx, x)
	if err != nil {
		return err
	}
	if f.JoinPending || (f.PartOfDomain && strings.EqualFold(f.Domain, s.WinJoin.Domain)) {
		return nil
	}
	return fmt.Errorf("after Add-Computer, %s shows no join to %s", x.T.Host.Name, s.WinJoin.Domain)
}

// Reboot restarts the host once, when any step left a reboot pending, and
// waits until it is back: a new boot time and a WinRM shell that answers.
type Reboot struct{}

func (Reboot) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	f, err := facts(ctx, x)
	if err != nil {
		return State{}, err
	}
	if f.PendingReboot {
		return differs("a reboot is pending"), nil
	}
	return inPlace("no reboot pending"), nil
}

const psRestart = `Restart-Computer -Force
[pscustomobject]@{ restarting = $true } | ConvertTo-Json -Compress
`

func (Reboot) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	before, err := facts(ctx, x)
	if err != nil {
		return "", err
	}
	var r struct{}
	if _, err := x.psResult(ctx, "restart", powershell.Script{Op: "win-restart", Body: psRestart}, nil, &r); err != nil {
		return "", err
	}
	wait := time.Duration(s.Reboot.Wait)
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	deadline := time.Now().Add(wait)
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
		f, err := facts(ctx, x)
		if err == nil && f.BootTime != before.BootTime {
			return fmt.Sprintf("rebooted (back after %s)", time.Since(start).Round(time.Second)), nil
		}
		if time.Now().After(deadline) {
			why := "its boot time did not change"
			if err != nil {
				why = secret.Scrub(err.Error())
			}
			return "", fmt.Errorf("%s did not come back within %s of the reboot: %s", x.T.Host.Name, wait, why)
		}
	}
}
