package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"onboard/internal/codetemplate"
	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/secret"
)

// WinSoftware installs an MSI, a winget or a Chocolatey package.
type WinSoftware struct{}

// One script per manager and phase. Exit codes 3010 and 1641 are success
// with a reboot pending; the run's reboot step does that reboot.
const psMSICheck = `$version = $null
foreach ($root in @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall')) {
    $key = Join-Path -Path $root -ChildPath $in.product_code
    if (Test-Path -LiteralPath $key) { $version = (Get-ItemProperty -LiteralPath $key).DisplayVersion }
}
[pscustomobject]@{ installed = ($null -ne $version); version = [string]$version } | ConvertTo-Json -Compress
`

const psMSIInstall = `$src = $in.source
if ($src -match '^https?://') {
    $local = Join-Path -Path $env:TEMP -ChildPath ('onboard-' + [guid]::NewGuid().ToString() + '.msi')
    Invoke-WebRequest -Uri $src -OutFile $local -UseBasicParsing
    $src = $local
}
$log = Join-Path -Path $env:TEMP -ChildPath ('onboard-msi-' + [guid]::NewGuid().ToString() + '.log')
$argList = @('/i', ('"' + $src + '"'), '/qn', '/norestart', '/l*v', ('"' + $log + '"'))
if ($in.args) { $argList += $in.args }
$p = Start-Process -FilePath 'msiexec.exe' -ArgumentList $argList -Wait -PassThru
$tail = ''
if (Test-Path -LiteralPath $log) { $tail = (Get-Content -LiteralPath $log -Tail 20) -join "` + "`" + `n" }
[pscustomobject]@{ exit_code = $p.ExitCode; log = $tail } | ConvertTo-Json -Compress
`

// winget list prints a table whose cells are padded to the widest one of
// their column and then separated by ONE space (so splitting on runs of
// spaces never isolates a column): a column starts where its header word
// starts, in the line above the dashed separator. The table is found by
// that separator: spinner frames ("-", "\", "|", "/" on lines of their
// own, as PowerShell splits a native program's output at CR too) come
// before the header, and some versions print "N package(s)" after the
// rows. Header words are localized: only their positions count (Name, Id,
// Version are the first three columns). A name with wide characters
// (winget gives them two columns) shifts its row: then the version is the
// word after the id. An id cut short by winget ends with "…". Exit code
// 0x8A150014 (-1978335212) is "no installed package found"; any other
// failure is an error, never "not installed".
const psWingetCheck = `$out = & winget list --id $in.package --exact --accept-source-agreements --disable-interactivity 2>&1 | Out-String
$code = $LASTEXITCODE
if ($code -ne 0 -and $code -ne -1978335212) { throw ('winget list failed with exit code ' + $code + ': ' + $out.Trim()) }
$lines = @($out -split "` + "`" + `n" | ForEach-Object { $_.TrimEnd() })
$sep = -1
for ($i = 1; $i -lt $lines.Count -and $sep -lt 0; $i++) { if ($lines[$i] -match '^-{10,}$') { $sep = $i } }
$starts = @()
if ($sep -gt 0) { $starts = @([regex]::Matches($lines[$sep - 1], '\S+') | ForEach-Object { $_.Index }) }
$ellipsis = [char]0x2026
$version = ''
for ($i = $sep + 1; $sep -gt 0 -and $starts.Count -ge 3 -and $i -lt $lines.Count; $i++) {
    $row = $lines[$i]
    if ($row.Length -le $starts[2]) { continue }
    $end = $row.Length
    if ($starts.Count -ge 4 -and $starts[3] -lt $end) { $end = $starts[3] }
    $id = $row.Substring($starts[1], $starts[2] - $starts[1]).Trim()
    if ($id -eq $in.package -or ($id.EndsWith([string]$ellipsis) -and $in.package.StartsWith($id.TrimEnd($ellipsis), [StringComparison]::OrdinalIgnoreCase))) {
        $version = $row.Substring($starts[2], $end - $starts[2]).Trim()
        continue
    }
    $words = @(-split $row)
    for ($k = $words.Count - 2; $k -ge 0; $k--) {
        if ($words[$k] -eq $in.package) { $version = $words[$k + 1]; break }
    }
}
[pscustomobject]@{ installed = ($version -ne ''); version = $version } | ConvertTo-Json -Compress
`

// winget install reports an installer's 3010 and 1641 as its own codes
// (see WinSoftware.Apply).
const psWingetInstall = `$argList = @('install', '--id', $in.package, '--exact', '--silent', '--scope', 'machine', '--accept-package-agreements', '--accept-source-agreements', '--disable-interactivity')
if ($in.version) { $argList += @('--version', $in.version) }
$out = & winget @argList 2>&1 | Out-String
[pscustomobject]@{ exit_code = $LASTEXITCODE; log = $out } | ConvertTo-Json -Compress
`

// Chocolatey 2 lists only local packages and refuses --local-only (an
// error, exit 1); Chocolatey 1 lists a remote source without it. The
// major version of choco --version picks the command. Exit code 2 is "no
// results" when the useEnhancedExitCodes feature is on; any other
// non-zero code is an error. --limit-output prints name|version lines.
const psChocoCheck = `$chocoVersion = (& choco --version 2>&1 | Out-String).Trim()
$major = 0
if ($chocoVersion -match '(\d+)\.\d+') { $major = [int]$Matches[1] }
if ($major -ge 2) {
    $argList = @('list', '--exact', $in.package, '--limit-output')
} else {
    $argList = @('list', '--local-only', '--exact', $in.package, '--limit-output')
}
$lines = @(& choco @argList 2>&1 | ForEach-Object { [string]$_ })
$code = $LASTEXITCODE
if ($code -ne 0 -and $code -ne 2) { throw ('choco ' + ($argList -join ' ') + ' failed with exit code ' + $code + ': ' + ($lines -join ' ').Trim()) }
$version = ''
foreach ($line in $lines) {
    if ($line -match '^([^|]+)\|(.+)$' -and $Matches[1].Trim() -eq $in.package) { $version = $Matches[2].Trim() }
}
[pscustomobject]@{ installed = ($version -ne ''); version = $version } | ConvertTo-Json -Compress
`

const psChocoInstall = `$argList = @('install', $in.package, '-y', '--no-progress')
if ($in.version) { $argList += @('--version', $in.version) }
$out = & choco @argList 2>&1 | Out-String
[pscustomobject]@{ exit_code = $LASTEXITCODE; log = $out } | ConvertTo-Json -Compress
`

// winget's own exit codes for what an installer or winget said
// (https://learn.microsoft.com/windows/package-manager/winget/returncodes).
const (
	// The installer exited 3010 ("Restart your PC to finish installation.")
	// or 1641 (it started the restart): installed, with a reboot pending.
	wingetRebootToFinish  = -1978334967 // 0x8A150109 APPINSTALLER_CLI_ERROR_INSTALL_REBOOT_REQUIRED_TO_FINISH
	wingetRebootInitiated = -1978334965 // 0x8A15010B APPINSTALLER_CLI_ERROR_INSTALL_REBOOT_INITIATED
	// The package is installed already: "No available upgrade found." (or
	// with --no-upgrade, "Package is already installed").
	wingetNoUpgrade        = -1978335189 // 0x8A15002B APPINSTALLER_CLI_ERROR_UPDATE_NOT_APPLICABLE
	wingetAlreadyInstalled = -1978335135 // 0x8A150061 APPINSTALLER_CLI_ERROR_PACKAGE_ALREADY_INSTALLED
)

// WindowsVersionMatches is VersionMatches for Windows software: Windows
// versions have up to four numeric parts and tools disagree on how many
// they show ("3.1.0.0" in Programs and Features and winget, "3.1.0" in a
// catalogue), so trailing ".0" parts do not count. Case is ignored.
func WindowsVersionMatches(installed, want string) bool {
	installed, want = strings.TrimSpace(installed), strings.TrimSpace(want)
	if want == "" {
		return installed != ""
	}
	return strings.EqualFold(trimZeroParts(installed), trimZeroParts(want))
}

// trimZeroParts drops trailing ".0" (".00") parts, keeping the first.
func trimZeroParts(v string) string {
	for {
		i := strings.LastIndexByte(v, '.')
		if i < 0 || strings.Trim(v[i+1:], "0") != "" || v[i+1:] == "" {
			return v
		}
		v = v[:i]
	}
}

type installed struct {
	Installed bool   `json:"installed"`
	Version   string `json:"version"`
}

type installResult struct {
	ExitCode int    `json:"exit_code"`
	Log      string `json:"log"`
}

func softwareScripts(w *plan.WinSoftwareSpec) (check, install powershell.Script) {
	data := map[string]string{"source": w.Source, "product_code": w.ProductCode, "package": w.Package, "version": w.Version, "args": w.Args}
	switch w.Manager {
	case "winget":
		return powershell.Script{Op: "winget-check", Body: psWingetCheck, Data: data}, powershell.Script{Op: "winget-install", Body: psWingetInstall, Data: data}
	case "choco":
		return powershell.Script{Op: "choco-check", Body: psChocoCheck, Data: data}, powershell.Script{Op: "choco-install", Body: psChocoInstall, Data: data}
	}
	return powershell.Script{Op: "msi-check", Body: psMSICheck, Data: data}, powershell.Script{Op: "msi-install", Body: psMSIInstall, Data: data}
}

func (WinSoftware) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	w := s.WinSoftware
	check, _ := softwareScripts(w)
	var st installed
	if _, err := x.psResult(ctx, "check "+w.Name, check, nil, &st); err != nil {
		return State{}, err
	}
	switch {
	case !st.Installed:
		return missing(w.Name + " is not installed"), nil
	case !WindowsVersionMatches(st.Version, w.Version):
		return differs(fmt.Sprintf("%s %s is installed, want %s", w.Name, st.Version, w.Version)), nil
	}
	return inPlace(fmt.Sprintf("%s %s is installed", w.Name, st.Version)), nil
}

func (WinSoftware) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	w := s.WinSoftware
	// Installers refuse or misbehave while a reboot is pending: do the
	// pending reboot first (the step fails; the reboot step runs at the end
	// of the run and a re-run installs).
	f, err := facts(ctx, x)
	if err != nil {
		return "", err
	}
	if f.PendingReboot && !f.JoinPending {
		return "", fmt.Errorf("%s has a reboot pending from before this run: reboot it (or let the run's reboot step do it) and run again", x.T.Host.Name)
	}
	_, install := softwareScripts(w)
	var r installResult
	out, err := x.psResult(ctx, "install "+w.Name, install, nil, &r)
	if err != nil {
		return "", err
	}
	what := strings.TrimSpace(w.Name + " " + w.Version)
	switch code := r.ExitCode; {
	case code == 0:
		return "installed " + what, nil
	case code == 3010 || code == 1641:
		return fmt.Sprintf("installed %s (exit %d: reboot pending)", what, code), nil
	case w.Manager == "winget" && (code == wingetRebootToFinish || code == wingetRebootInitiated):
		return fmt.Sprintf("installed %s (winget exit %d: the installer asked for a reboot; reboot pending)", what, code), nil
	case w.Manager == "winget" && (code == wingetNoUpgrade || code == wingetAlreadyInstalled):
		return fmt.Sprintf("%s is already installed (winget exit %d)", w.Name, code), nil
	}
	out.ExitCode, out.Stdout = r.ExitCode, r.Log
	return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("install %s (%s)", w.Name, w.Manager)}
}

// WinPrinter adds a per-machine printer connection (every user of the
// machine gets it at logon), with its driver installed first.
type WinPrinter struct{}

const psPrinterCheck = `$driver = [bool](Get-PrinterDriver -Name $in.driver -ErrorAction SilentlyContinue)
$parts = $in.connection.TrimStart('\').Split('\')
$regName = ',,' + $parts[0] + ',' + $parts[1]
$machineWide = Test-Path -LiteralPath (Join-Path -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Print\Connections' -ChildPath $regName)
$printer = [bool](Get-Printer -Name $in.connection -ErrorAction SilentlyContinue)
[pscustomobject]@{ driver = $driver; machine_wide = $machineWide; printer = $printer } | ConvertTo-Json -Compress
`

const psPrinterAdd = `if (-not (Get-PrinterDriver -Name $in.driver -ErrorAction SilentlyContinue)) {
    Add-PrinterDriver -Name $in.driver
}
$p = Start-Process -FilePath 'rundll32.exe' -ArgumentList @('printui.dll,PrintUIEntry', '/ga', '/n', ('"' + $in.connection + '"')) -Wait -PassThru
Restart-Service -Name Spooler -Force
[pscustomobject]@{ exit_code = $p.ExitCode } | ConvertTo-Json -Compress
`

type printerState2 struct {
	Driver      bool `json:"driver"`
	MachineWide bool `json:"machine_wide"`
	Printer     bool `json:"printer"`
}

func (WinPrinter) data(p *plan.WinPrinterSpec) map[string]string {
	return map[string]string{"connection": p.Connection, "driver": p.Driver}
}

func (k WinPrinter) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.WinPrinter
	var st printerState2
	if _, err := x.psResult(ctx, "check printer "+p.Name, powershell.Script{Op: "printer-check", Body: psPrinterCheck, Data: k.data(p)}, nil, &st); err != nil {
		return State{}, err
	}
	switch {
	case !st.Driver:
		return missing(fmt.Sprintf("driver %q is not installed", p.Driver)), nil
	case !st.MachineWide:
		return missing(p.Connection + " is not a per-machine connection"), nil
	case !st.Printer:
		return differs(p.Connection + " is registered but the spooler does not show it"), nil
	}
	return inPlace(p.Connection + " is connected for every user, driver " + p.Driver), nil
}

func (k WinPrinter) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	p := s.WinPrinter
	var r installResult
	out, err := x.psResult(ctx, "add printer "+p.Name, powershell.Script{Op: "printer-add", Body: psPrinterAdd, Data: k.data(p)}, nil, &r)
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		out.ExitCode = r.ExitCode
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "printui /ga " + p.Connection}
	}
	return fmt.Sprintf("connected %s for every user (driver %s)", p.Connection, p.Driver), nil
}

// LocalGroup puts a member in a local group.
type LocalGroup struct{}

const psLocalGroupCheck = `$found = $false
foreach ($m in (Get-LocalGroupMember -Group $in.group -ErrorAction Stop)) {
    if ($m.Name -eq $in.member) { $found = $true }
}
[pscustomobject]@{ member = $found } | ConvertTo-Json -Compress
`

const psLocalGroupAdd = `Add-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop
[pscustomobject]@{ added = $true } | ConvertTo-Json -Compress
`

func (LocalGroup) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	g := s.LocalGroup
	var st struct {
		Member bool `json:"member"`
	}
	data := map[string]string{"group": g.Group, "member": g.Member}
	if _, err := x.psResult(ctx, "read local group "+g.Group, powershell.Script{Op: "localgroup-check", Body: psLocalGroupCheck, Data: data}, nil, &st); err != nil {
		return State{}, err
	}
	if !st.Member {
		return missing(fmt.Sprintf("%s is not in the local group %s", g.Member, g.Group)), nil
	}
	return inPlace(fmt.Sprintf("%s is in the local group %s", g.Member, g.Group)), nil
}

func (LocalGroup) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	g := s.LocalGroup
	var r struct{}
	data := map[string]string{"group": g.Group, "member": g.Member}
	if _, err := x.psResult(ctx, "add to local group "+g.Group, powershell.Script{Op: "localgroup-add", Body: psLocalGroupAdd, Data: data}, nil, &r); err != nil {
		return "", err
	}
	return fmt.Sprintf("added %s to %s", g.Member, g.Group), nil
}

// WinCommand runs a playbook's PowerShell command, guarded by creates (a
// path) and unless (an expression that is $true once the work is done,
// such as Test-Path 'C:\Acme\done.txt' or (Get-Service Acme).Status -eq
// 'Running'): the command is done when creates exists and unless is true
// (either alone when only one is given). unless counts as true when the
// last thing it outputs is truthy for [bool] (a $true, a non-empty
// string, an object); an error while it runs counts as false. unless must
// not call exit: it would end the check script itself, so the check
// refuses an unless with an exit statement (found by PowerShell's own
// parser), or one that does not parse, before running anything.
type WinCommand struct{}

const psCommandCheck = codetemplate.PowerShellVars + `$done = $false
if ($in.unless) {
    $parseErrors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($in.unless, [ref]$null, [ref]$parseErrors)
    if ($parseErrors) { throw ('unless does not parse: ' + $parseErrors[0].Message) }
    if ($ast.Find({ param($node) $node -is [System.Management.Automation.Language.ExitStatementAst] }, $true)) {
        throw 'unless must not call exit (it would end the check script): make it an expression that is $true when the work is done'
    }
}
if ($in.creates -or $in.unless) {
    $done = $true
    if ($in.creates) { $done = Test-Path -LiteralPath $in.creates }
    if ($done -and $in.unless) {
        try {
            $r = & ([scriptblock]::Create($in.unless))
            $done = [bool]($r | Select-Object -Last 1)
        } catch {
            $done = $false
        }
    }
}
[pscustomobject]@{ done = [bool]$done } | ConvertTo-Json -Compress
`

const psCommandRun = codetemplate.PowerShellVars + `$output = & ([scriptblock]::Create($in.run)) 2>&1 | Out-String
[pscustomobject]@{ ok = $?; output = $output } | ConvertTo-Json -Compress
`

func (WinCommand) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	c := s.Command
	var st struct {
		Done bool `json:"done"`
	}
	data := commandData(c, "creates", c.Creates, "unless", c.Unless)
	if _, err := x.psResult(ctx, "check command", powershell.Script{Op: "command-check", Body: psCommandCheck, Data: data}, nil, &st); err != nil {
		return State{}, err
	}
	if st.Done {
		return inPlace("already done"), nil
	}
	return missing("not done yet"), nil
}

func (WinCommand) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	var r struct {
		OK     bool   `json:"ok"`
		Output string `json:"output"`
	}
	out, err := x.psResult(ctx, "command", powershell.Script{Op: "command-run", Body: psCommandRun, Data: commandData(s.Command, "run", s.Command.Run)}, nil, &r)
	if err != nil {
		return "", err
	}
	if !r.OK {
		out.Stdout, out.ExitCode = r.Output, 1
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "command"}
	}
	return "ran command " + commandSummary(s.Command.Run), nil
}

// commandData is a command script's $in: the fields given as name, value
// pairs, and the templates' values as vars (which PowerShellVars makes
// variables) when there are any.
func commandData(c *plan.CommandSpec, kv ...string) map[string]any {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i]] = kv[i+1]
	}
	if len(c.Values) > 0 {
		data["vars"] = c.Values
	}
	return data
}

// commandSummary names a command in a few words: its first line, cut at
// 60 characters, scrubbed of secrets.
func commandSummary(run string) string {
	run = strings.TrimSpace(secret.Scrub(run))
	first, _, more := strings.Cut(run, "\n")
	first = strings.TrimSpace(first)
	if r := []rune(first); len(r) > 60 {
		first, more = strings.TrimSpace(string(r[:60])), true
	}
	if more {
		return first + " …"
	}
	return first
}

// WinFile writes a file; Windows has no Unix mode, so content is what is
// checked (SHA-256).
type WinFile struct{}

const psFileCheck = `$hash = ''
if (Test-Path -LiteralPath $in.path -PathType Leaf) { $hash = (Get-FileHash -LiteralPath $in.path -Algorithm SHA256).Hash.ToLowerInvariant() }
[pscustomobject]@{ exists = ($hash -ne ''); sha256 = $hash } | ConvertTo-Json -Compress
`

func (WinFile) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	f := s.File
	var st struct {
		Exists bool   `json:"exists"`
		SHA256 string `json:"sha256"`
	}
	if _, err := x.psResult(ctx, "check "+f.Path, powershell.Script{Op: "file-check", Body: psFileCheck, Data: map[string]string{"path": f.Path}}, nil, &st); err != nil {
		return State{}, err
	}
	sum := sha256.Sum256([]byte(f.Content))
	switch {
	case !st.Exists:
		return missing(f.Path + " does not exist"), nil
	case st.SHA256 != hex.EncodeToString(sum[:]):
		return differs(f.Path + ": content differs"), nil
	}
	return inPlace(f.Path + " is as wanted"), nil
}

func (WinFile) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	f := s.File
	// Create the folder first, as the Linux file step does; the path
	// reaches PowerShell as a single-quoted literal.
	if i := strings.LastIndex(f.Path, `\`); i > 2 {
		mkdir := "New-Item -ItemType Directory -Path " + powershell.Quote(f.Path[:i]) + " -Force"
		var r struct {
			OK     bool   `json:"ok"`
			Output string `json:"output"`
		}
		out, err := x.psResult(ctx, "create the folder of "+f.Path, powershell.Script{Op: "command-run", Body: psCommandRun, Data: map[string]string{"run": mkdir}}, nil, &r)
		if err != nil {
			return "", err
		}
		if !r.OK {
			out.Stdout, out.ExitCode = r.Output, 1
			return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "create the folder of " + f.Path}
		}
	}
	if err := x.Upload(ctx, f.Path, f.Content, 0, true); err != nil {
		return "", err
	}
	return fmt.Sprintf("wrote %s (%d bytes)", f.Path, len(f.Content)), nil
}

// WindowsScripts lists every script the Windows kinds can generate, with
// sample values, so tests can keep golden copies and check their syntax
// with a real PowerShell grammar.
func WindowsScripts() map[string]powershell.Script {
	sample := map[string]string{"source": `\\files\share\App.msi`, "product_code": "{12345678-1234-1234-1234-123456789012}",
		"package": "Acme.Chat", "version": "3.1.0", "args": "ALLUSERS=1", "connection": `\\print01\Office 2F`, "driver": "Microsoft IPP Class Driver",
		"group": "Remote Desktop Users", "member": `CORP\o'brien`, "creates": `C:\Acme\done.txt`, "unless": "Test-Path 'C:\\x'",
		"run": "New-Item -ItemType Directory -Path 'C:\\Acme' -Force", "path": `C:\Acme\motd.txt`, "domain": "corp.example.test",
		"ou": "OU=Workstations,DC=corp,DC=example,DC=test", "new_name": "WS-ADA"}
	out := map[string]powershell.Script{}
	for _, s := range []powershell.Script{
		{Op: "win-facts", Body: psFacts},
		{Op: "win-join", Body: psJoin},
		{Op: "win-restart", Body: psRestart},
		{Op: "msi-check", Body: psMSICheck}, {Op: "msi-install", Body: psMSIInstall},
		{Op: "winget-check", Body: psWingetCheck}, {Op: "winget-install", Body: psWingetInstall},
		{Op: "choco-check", Body: psChocoCheck}, {Op: "choco-install", Body: psChocoInstall},
		{Op: "printer-check", Body: psPrinterCheck}, {Op: "printer-add", Body: psPrinterAdd},
		{Op: "localgroup-check", Body: psLocalGroupCheck}, {Op: "localgroup-add", Body: psLocalGroupAdd},
		{Op: "command-check", Body: psCommandCheck}, {Op: "command-run", Body: psCommandRun},
		{Op: "file-check", Body: psFileCheck}, {Op: "file-read", Body: psFileRead},
	} {
		s.Data = sample
		out[s.Op] = s
	}
	maps.Copy(out, removalScripts(sample))
	out["win-baseline"] = baselineScript()
	out["check-login"] = winLoginScript(`o'brien`, "corp.example.test")
	for _, c := range sampleWinChecks() {
		s, err := winCheckScript(c)
		if err != nil {
			panic(err)
		}
		out[s.Op] = s
	}
	return out
}
