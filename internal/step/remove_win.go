package step

import (
	"context"
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/powershell"
)

// Removal kinds on Windows: software uninstalled, a per-machine printer
// connection removed, a local group membership ended. Each is in place
// when the thing is absent, read by the same script its install kind's
// check runs.

// WinSoftwareRemove uninstalls an MSI (msiexec /x), a winget or a
// Chocolatey package. Exit codes 3010 and 1641 are success with a reboot
// pending, as for an install.
type WinSoftwareRemove struct{}

const psMSIUninstall = `$log = Join-Path -Path $env:TEMP -ChildPath ('onboard-msi-' + [guid]::NewGuid().ToString() + '.log')
$argList = @('/x', $in.product_code, '/qn', '/norestart', '/l*v', ('"' + $log + '"'))
$p = Start-Process -FilePath 'msiexec.exe' -ArgumentList $argList -Wait -PassThru
$tail = ''
if (Test-Path -LiteralPath $log) { $tail = (Get-Content -LiteralPath $log -Tail 20) -join "` + "`" + `n" }
[pscustomobject]@{ exit_code = $p.ExitCode; log = $tail } | ConvertTo-Json -Compress
`

const psWingetUninstall = `$argList = @('uninstall', '--id', $in.package, '--exact', '--silent', '--accept-source-agreements', '--disable-interactivity')
$out = & winget @argList 2>&1 | Out-String
[pscustomobject]@{ exit_code = $LASTEXITCODE; log = $out } | ConvertTo-Json -Compress
`

const psChocoUninstall = `$argList = @('uninstall', $in.package, '-y', '--no-progress')
$out = & choco @argList 2>&1 | Out-String
[pscustomobject]@{ exit_code = $LASTEXITCODE; log = $out } | ConvertTo-Json -Compress
`

// Exit codes an uninstall ends with when the software is already gone.
const (
	// msiexec: ERROR_UNKNOWN_PRODUCT, "This action is only valid for
	// products that are currently installed."
	msiUnknownProduct = 1605
	// winget: APPINSTALLER_CLI_ERROR_NO_APPLICATIONS_FOUND.
	wingetNotInstalled = -1978335212 // 0x8A150014
)

func uninstallScript(w *plan.WinSoftwareSpec) powershell.Script {
	data := map[string]string{"product_code": w.ProductCode, "package": w.Package}
	switch w.Manager {
	case "winget":
		return powershell.Script{Op: "winget-uninstall", Body: psWingetUninstall, Data: data}
	case "choco":
		return powershell.Script{Op: "choco-uninstall", Body: psChocoUninstall, Data: data}
	}
	return powershell.Script{Op: "msi-uninstall", Body: psMSIUninstall, Data: data}
}

func (WinSoftwareRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	w := s.WinSoftware
	check, _ := softwareScripts(w)
	var st installed
	if _, err := x.psResult(ctx, "check "+w.Name, check, nil, &st); err != nil {
		return State{}, err
	}
	if !st.Installed {
		return inPlace(w.Name + " is not installed"), nil
	}
	return toRemove(fmt.Sprintf("%s %s is installed, to remove", w.Name, st.Version)), nil
}

func (WinSoftwareRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	w := s.WinSoftware
	var r installResult
	out, err := x.psResult(ctx, "uninstall "+w.Name, uninstallScript(w), nil, &r)
	if err != nil {
		return "", err
	}
	switch code := r.ExitCode; {
	case code == 0:
		return "uninstalled " + w.Name, nil
	case code == 3010 || code == 1641:
		return fmt.Sprintf("uninstalled %s (exit %d: reboot pending)", w.Name, code), nil
	case w.Manager == "winget" && (code == wingetRebootToFinish || code == wingetRebootInitiated):
		return fmt.Sprintf("uninstalled %s (winget exit %d: the uninstaller asked for a reboot; reboot pending)", w.Name, code), nil
	case w.Manager == "msi" && code == msiUnknownProduct, w.Manager == "winget" && code == wingetNotInstalled:
		return fmt.Sprintf("%s was already uninstalled (exit %d)", w.Name, code), nil
	}
	out.ExitCode, out.Stdout = r.ExitCode, r.Log
	return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("uninstall %s (%s)", w.Name, w.Manager)}
}

// WinPrinterRemove removes a per-machine printer connection (printui /gd,
// the counterpart of the /ga that added it) and then the printer the
// spooler still shows for it (Remove-Printer). The driver stays: other
// printers may use it.
type WinPrinterRemove struct{}

const psPrinterRemove = `$p = Start-Process -FilePath 'rundll32.exe' -ArgumentList @('printui.dll,PrintUIEntry', '/gd', '/q', '/n', ('"' + $in.connection + '"')) -Wait -PassThru
Restart-Service -Name Spooler -Force
if (Get-Printer -Name $in.connection -ErrorAction SilentlyContinue) {
    Remove-Printer -Name $in.connection -ErrorAction Stop
}
[pscustomobject]@{ exit_code = $p.ExitCode } | ConvertTo-Json -Compress
`

func (WinPrinterRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.WinPrinter
	var st printerState2
	if _, err := x.psResult(ctx, "check printer "+p.Name, powershell.Script{Op: "printer-check", Body: psPrinterCheck, Data: WinPrinter{}.data(p)}, nil, &st); err != nil {
		return State{}, err
	}
	switch {
	case st.MachineWide:
		return toRemove(p.Connection + " is connected for every user, to remove"), nil
	case st.Printer:
		return toRemove(p.Connection + " is not a per-machine connection but the spooler shows it, to remove"), nil
	}
	return inPlace(p.Connection + " is not connected"), nil
}

func (WinPrinterRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	p := s.WinPrinter
	var r installResult
	out, err := x.psResult(ctx, "remove printer "+p.Name, powershell.Script{Op: "printer-remove", Body: psPrinterRemove, Data: WinPrinter{}.data(p)}, nil, &r)
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		out.ExitCode = r.ExitCode
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "printui /gd " + p.Connection}
	}
	return "removed the connection " + p.Connection, nil
}

// LocalGroupRemove takes a member out of a local group; one that is not a
// member is in place, and Remove-LocalGroupMember's "not a member" (the
// membership ended between check and apply) is no error.
type LocalGroupRemove struct{}

const psLocalGroupRemove = `$removed = $true
try {
    Remove-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop
} catch [Microsoft.PowerShell.Commands.MemberNotFoundException] {
    $removed = $false
}
[pscustomobject]@{ removed = $removed } | ConvertTo-Json -Compress
`

func (LocalGroupRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	st, err := LocalGroup{}.Check(ctx, x, s)
	if err != nil {
		return State{}, err
	}
	g := s.LocalGroup
	if st.InPlace {
		return toRemove(fmt.Sprintf("%s is in the local group %s, to remove", g.Member, g.Group)), nil
	}
	return inPlace(fmt.Sprintf("%s is not in the local group %s", g.Member, g.Group)), nil
}

func (LocalGroupRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	g := s.LocalGroup
	var r struct {
		Removed bool `json:"removed"`
	}
	data := map[string]string{"group": g.Group, "member": g.Member}
	if _, err := x.psResult(ctx, "remove from local group "+g.Group, powershell.Script{Op: "localgroup-remove", Body: psLocalGroupRemove, Data: data}, nil, &r); err != nil {
		return "", err
	}
	if !r.Removed {
		return fmt.Sprintf("%s was no longer in %s", g.Member, g.Group), nil
	}
	return fmt.Sprintf("removed %s from %s", g.Member, g.Group), nil
}

// removalScripts are the removal kinds' scripts with sample values, for
// WindowsScripts.
func removalScripts(sample map[string]string) map[string]powershell.Script {
	out := map[string]powershell.Script{}
	for _, s := range []powershell.Script{
		{Op: "msi-uninstall", Body: psMSIUninstall}, {Op: "winget-uninstall", Body: psWingetUninstall},
		{Op: "choco-uninstall", Body: psChocoUninstall}, {Op: "printer-remove", Body: psPrinterRemove},
		{Op: "localgroup-remove", Body: psLocalGroupRemove},
	} {
		s.Data = sample
		out[s.Op] = s
	}
	ls := loginRevokeData(&plan.LoginRevokeSpec{User: sample["member"]})
	out["login-revoke-check"] = powershell.Script{Op: "login-revoke-check", Body: psLoginRevokeCheck, Data: ls}
	out["login-revoke-apply"] = powershell.Script{Op: "login-revoke-apply", Body: psLoginRevokeApply, Data: ls}
	return out
}

// sessionName is the account name quser shows for member (DOMAIN\name or
// name): the name alone.
func sessionName(member string) string {
	if i := strings.LastIndexByte(member, '\\'); i >= 0 {
		return member[i+1:]
	}
	return member
}
