package winsim

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/width"
)

// Software: msiexec, winget and choco, as the scripts run them.

// lookupPackage finds a package of Config.Packages, case-insensitively.
func (h *Host) lookupPackage(id string) (string, Package, bool) {
	if p, ok := h.cfg.Packages[id]; ok {
		return id, p, true
	}
	for k, p := range h.cfg.Packages {
		if strings.EqualFold(k, id) {
			return k, p, true
		}
	}
	return "", Package{}, false
}

func (h *Host) installedLocked(id string) (installedPkg, bool) {
	p, ok := h.installed[strings.ToLower(id)]
	return p, ok
}

// runInstaller runs a package's installer: it hangs until the command is
// cancelled, or records the package as installed when its exit code says
// so (3010 and 1641 with a reboot pending).
func (h *Host) runInstaller(v *inv, key string, p Package, manager string) (int, error) {
	if p.Hang {
		<-v.ctx.Done()
		return 0, errKilled
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch p.ExitCode {
	case 0, 3010, 1641:
		h.installed[strings.ToLower(key)] = installedPkg{key: key, version: p.Version, manager: manager}
		if p.ExitCode != 0 {
			h.installReboot = true
		}
	}
	return p.ExitCode, nil
}

func displayName(key string, p Package) string {
	if p.Name != "" {
		return p.Name
	}
	return key
}

// --- MSI ---

func opMSICheck(v *inv) int {
	v.h.mu.Lock()
	p, ok := v.h.installedLocked(v.str("product_code"))
	v.h.mu.Unlock()
	if !ok {
		return v.result(field{"installed", false}, field{"version", ""})
	}
	return v.result(field{"installed", true}, field{"version", p.version})
}

func opMSIInstall(v *inv) int {
	code := v.str("product_code")
	key, p, ok := v.h.lookupPackage(code)
	exit := 1603
	name := v.str("source")
	if ok {
		var err error
		if exit, err = v.h.runInstaller(v, key, p, "msi"); err != nil {
			return 1
		}
		name = displayName(key, p)
	}
	log := msiLog(name, p.Version, exit, ok)
	if len(log) > 20 {
		log = log[len(log)-20:]
	}
	return v.result(field{"exit_code", exit}, field{"log", strings.Join(log, "\n")})
}

// msiLog is the end of a verbose msiexec log (/l*v).
func msiLog(product, version string, exit int, known bool) []string {
	now := time.Now()
	stamp := func(ms int) string {
		t := now.Add(time.Duration(ms) * time.Millisecond)
		return fmt.Sprintf("MSI (s) (7C:44) [%s:%03d]: ", t.Format("15:04:05"), t.Nanosecond()/1e6)
	}
	clock := now.Format("15:04:05")
	ret := "1"
	if exit != 0 && exit != 3010 && exit != 1641 {
		ret = "3"
	}
	var l []string
	if !known {
		l = append(l,
			stamp(1)+"Note: 1: 1708 ",
			stamp(2)+"Note: 1: 2205 2:  3: Error ",
			stamp(3)+"Note: 1: 2228 2:  3: Error 4: SELECT `Message` FROM `Error` WHERE `Error` = 1708 ",
			stamp(4)+"Product: "+product+" -- Installation failed.",
		)
	} else {
		l = append(l,
			"Action ended "+clock+": InstallFinalize. Return value "+ret+".",
			stamp(1)+"Doing action: InstallExecute",
			"Action ended "+clock+": INSTALL. Return value "+ret+".",
			stamp(2)+"Note: 1: 1707 ",
			stamp(3)+"Product: "+product+" -- Installation "+map[bool]string{true: "completed successfully.", false: "failed."}[ret == "1"],
			stamp(4)+fmt.Sprintf("Windows Installer installed the product. Product Name: %s. Product Version: %s. Product Language: 1033. Manufacturer: Acme Corporation. Installation success or error status: %d.", product, version, exit),
		)
		if exit == 3010 || exit == 1641 {
			l = append(l, stamp(5)+fmt.Sprintf("Windows Installer requires a system restart. Product Name: %s. Product Version: %s. Product Language: 1033. Manufacturer: Acme Corporation. Type of System Restart: 1. Reason for Restart: 0.", product, version))
		}
	}
	l = append(l,
		stamp(6)+"Deferring clean up of packages/files, if any exist",
		stamp(7)+"MainEngineThread is returning "+strconv.Itoa(exit),
		"MSI (s) (7C:8C) ["+clock+":412]: RESTART MANAGER: Session closed.",
		"MSI (s) (7C:8C) ["+clock+":412]: No System Restore sequence number for this installation.",
		"MSI (s) (7C:8C) ["+clock+":413]: User policy value 'DisableRollback' is 0",
		"MSI (s) (7C:8C) ["+clock+":413]: Machine policy value 'DisableRollback' is 0",
		"MSI (s) (7C:8C) ["+clock+":413]: Incrementing counter to disable shutdown. Counter after increment: 0",
		"MSI (s) (7C:8C) ["+clock+":413]: Note: 1: 1402 2: HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Installer\\Rollback\\Scripts 3: 2 ",
		"MSI (s) (7C:8C) ["+clock+":414]: Decrementing counter to disable shutdown. If counter >= 0, shutdown will be denied.  Counter after decrement: -1",
		"MSI (s) (7C:8C) ["+clock+":414]: Destroying RemoteAPI object.",
		"MSI (s) (7C:8C) ["+clock+":414]: Custom Action Manager thread ending.",
		"MSI (c) (1C:F0) ["+clock+":420]: Decrementing counter to disable shutdown. If counter >= 0, shutdown will be denied.  Counter after decrement: -1",
		"MSI (c) (1C:F0) ["+clock+":420]: MainEngineThread is returning "+strconv.Itoa(exit),
		"=== Verbose logging stopped: "+now.Format("1/2/2006  15:04:05")+" ===",
		"",
	)
	return l
}

// --- winget ---

// Exit codes of winget.exe, as $LASTEXITCODE (a signed 32-bit value).
const (
	wingetNoPackage           = -1978335212 // 0x8A150014 APPINSTALLER_CLI_ERROR_NO_APPLICATIONS_FOUND
	wingetNoManifest          = -1978335209 // 0x8A150017 APPINSTALLER_CLI_ERROR_NO_MANIFEST_FOUND
	wingetUpdateNotApplicable = -1978335189 // 0x8A15002B APPINSTALLER_CLI_ERROR_UPDATE_NOT_APPLICABLE
	wingetInstallFailed       = -1978335226 // 0x8A150006 APPINSTALLER_CLI_ERROR_SHELLEXEC_INSTALL_FAILED
	wingetRebootToFinish      = -1978334967 // 0x8A150109 APPINSTALLER_CLI_ERROR_INSTALL_REBOOT_REQUIRED_TO_FINISH
	wingetRebootInitiated     = -1978334965 // 0x8A15010B APPINSTALLER_CLI_ERROR_INSTALL_REBOOT_INITIATED
)

// wingetTable is how winget prints a table: each column as wide as its
// widest cell (or header), one space between columns, a dashed line under
// the header. Widths are display columns: an East Asian wide character
// takes two (winget pads cells by their display width).
func wingetTable(header []string, rows [][]string) []string {
	width := make([]int, len(header))
	for i, hd := range header {
		width[i] = displayWidth(hd)
		for _, r := range rows {
			width[i] = max(width[i], displayWidth(r[i]))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-displayWidth(c)))
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	total := len(header) - 1
	for _, w := range width {
		total += w
	}
	out := []string{line(header), strings.Repeat("-", total)}
	for _, r := range rows {
		out = append(out, line(r))
	}
	return out
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// wingetSpinner is what winget's progress spinner leaves in redirected
// output before a table: its frames, each on a line of its own once
// PowerShell has split the output at every CR and LF.
var wingetSpinner = []string{"   - ", "   \\ ", "   | ", "   / ", ""}

// wingetList is what `winget list --id ID --exact` prints, and its exit
// code.
func (h *Host) wingetList(id string) ([]string, int) {
	h.mu.Lock()
	p, ok := h.installedLocked(id)
	h.mu.Unlock()
	if !ok {
		return append(slices.Clone(wingetSpinner), "No installed package found matching input criteria."), wingetNoPackage
	}
	name := p.key
	if _, pk, ok := h.lookupPackage(p.key); ok {
		name = displayName(p.key, pk)
	}
	header, row := []string{"Name", "Id", "Version"}, []string{name, p.key, p.version}
	if p.manager == "winget" {
		header, row = append(header, "Source"), append(row, "winget")
	}
	return append(slices.Clone(wingetSpinner), wingetTable(header, [][]string{row})...), 0
}

// The winget-check script's parsing, which opWingetCheck applies to what
// winget prints (so that a change to it is a change here too).
var wingetCheckParsing = []string{
	"if ($code -ne 0 -and $code -ne -1978335212) { throw",
	"if ($lines[$i] -match '^-{10,}$') { $sep = $i }",
	"$starts = @([regex]::Matches($lines[$sep - 1], '\\S+') | ForEach-Object { $_.Index })",
	"$id = $row.Substring($starts[1], $starts[2] - $starts[1]).Trim()",
	"$version = $row.Substring($starts[2], $end - $starts[2]).Trim()",
	"if ($words[$k] -eq $in.package) { $version = $words[$k + 1]; break }",
}

func opWingetCheck(v *inv) int {
	for _, s := range wingetCheckParsing {
		if !strings.Contains(v.script, s) {
			return v.fail(&psError{Message: fmt.Sprintf("winsim: the winget-check script no longer contains %q: teach internal/winsim its new parsing (software.go)", s), ErrorID: "winsim"})
		}
	}
	id := v.str("package")
	lines, code := v.h.wingetList(id)
	if code != 0 && code != wingetNoPackage {
		return v.fail(throwError(v.script, "throw ('winget list failed", fmt.Sprintf("winget list failed with exit code %d: %s", code, strings.TrimSpace(outString(lines)))))
	}
	version := parseWingetList(lines, id)
	return v.result(field{"installed", version != ""}, field{"version", version})
}

// parseWingetList is the script's parsing, in UTF-16 code units as
// PowerShell's strings index.
func parseWingetList(lines []string, id string) string {
	type u16 = []uint16
	enc := func(s string) u16 { return utf16.Encode([]rune(s)) }
	dec := func(u u16) string { return strings.TrimSpace(string(utf16.Decode(u))) }
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\r")
	}
	sep := -1
	for i := 1; i < len(lines) && sep < 0; i++ {
		if len(lines[i]) >= 10 && strings.Trim(lines[i], "-") == "" {
			sep = i
		}
	}
	if sep < 0 {
		return ""
	}
	var starts []int
	hdr := enc(lines[sep-1])
	for i := range hdr {
		if hdr[i] != ' ' && (i == 0 || hdr[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	if len(starts) < 3 {
		return ""
	}
	version := ""
	for _, line := range lines[sep+1:] {
		row := enc(line)
		if len(row) <= starts[2] {
			continue
		}
		end := len(row)
		if len(starts) >= 4 && starts[3] < end {
			end = starts[3]
		}
		cell := dec(row[starts[1]:starts[2]])
		if strings.EqualFold(cell, id) || (strings.HasSuffix(cell, "…") && len(cell) > len("…") && hasPrefixFold(id, strings.TrimRight(cell, "…"))) {
			version = dec(row[starts[2]:end])
			continue
		}
		words := strings.Fields(line)
		for k := len(words) - 2; k >= 0; k-- {
			if strings.EqualFold(words[k], id) {
				version = words[k+1]
				break
			}
		}
	}
	return version
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func opWingetInstall(v *inv) int {
	h := v.h
	id, want := v.str("package"), v.str("version")
	out, code, err := func() ([]string, int, error) {
		key, p, ok := h.lookupPackage(id)
		if !ok {
			return []string{"No package found matching input criteria."}, wingetNoPackage, nil
		}
		if want != "" && want != p.Version {
			return []string{"No version found matching: " + want}, wingetNoManifest, nil
		}
		name := displayName(key, p)
		h.mu.Lock()
		cur, installed := h.installedLocked(key)
		h.mu.Unlock()
		if installed && cur.version == p.Version {
			return []string{
				"Found an existing package already installed. Trying to upgrade the installed package...",
				"No available upgrade found.",
				"No newer package versions are available from the configured sources.",
			}, wingetUpdateNotApplicable, nil
		}
		out := []string{
			fmt.Sprintf("Found %s [%s] Version %s", name, key, p.Version),
			"This application is licensed to you by its owner.",
			"Microsoft is not responsible for, nor does it grant any licenses to, third-party packages.",
			fmt.Sprintf("Downloading https://downloads.example.test/%s/%s/setup.msi", key, p.Version),
			"Successfully verified installer hash",
			"Starting package install...",
		}
		exit, err := h.runInstaller(v, key, p, "winget")
		if err != nil {
			return nil, 0, err
		}
		switch exit {
		case 0:
			return append(out, "Successfully installed"), 0, nil
		case 3010:
			return append(out, "Installer failed with exit code: 3010", "Restart your PC to finish installation."), wingetRebootToFinish, nil
		case 1641:
			return append(out, "Installer failed with exit code: 1641", "Your PC will restart to finish installation."), wingetRebootInitiated, nil
		}
		return append(out, "Installer failed with exit code: "+strconv.Itoa(exit)), wingetInstallFailed, nil
	}()
	if err != nil {
		return 1
	}
	return v.result(field{"exit_code", code}, field{"log", outString(out)})
}

// outString is `... 2>&1 | Out-String` of a native program's lines.
func outString(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// --- Chocolatey ---

func (h *Host) chocoMajor() int {
	major, _, _ := strings.Cut(h.cfg.ChocolateyVersion, ".")
	n, _ := strconv.Atoi(major)
	return n
}

var (
	chocoLimitedLine  = regexp.MustCompile(`^([^|]+)\|(.+)$`)
	chocoMajorVersion = regexp.MustCompile(`(\d+)\.\d+`)
)

// chocoList is what `choco list ARGS` prints (stdout and stderr, as 2>&1
// gives them to the script) and its exit code. Chocolatey 2 lists the
// local packages and refuses --local-only; Chocolatey 1 lists the remote
// source unless given --local-only. With --limit-output a package is
// "name|version"; no match prints nothing and exits 0 (2 only with the
// useEnhancedExitCodes feature, which winsim leaves off).
func (h *Host) chocoList(args []string) ([]string, int) {
	var local, exact, limit bool
	var name string
	for _, a := range args {
		switch a {
		case "list":
		case "--local-only", "-l", "--lo":
			if h.chocoMajor() >= 2 {
				return []string{
					"Invalid argument " + a + ". This argument has been removed from the list command and cannot be used.",
				}, 1
			}
			local = true
		case "--exact", "-e":
			exact = true
		case "--limit-output", "-r":
			limit = true
		default:
			name = a
		}
	}
	if h.chocoMajor() >= 2 {
		local = true
	}
	var lines []string
	if !limit {
		lines = append(lines, "Chocolatey v"+h.cfg.ChocolateyVersion)
	}
	found := 0
	add := func(n, version string) {
		if !exact && !strings.Contains(strings.ToLower(n), strings.ToLower(name)) || exact && !strings.EqualFold(n, name) {
			return
		}
		found++
		if limit {
			lines = append(lines, strings.ToLower(n)+"|"+version)
		} else {
			lines = append(lines, strings.ToLower(n)+" "+version)
		}
	}
	h.mu.Lock()
	if local {
		for _, p := range h.installed {
			add(p.key, p.version)
		}
	} else {
		for k, p := range h.cfg.Packages {
			add(k, p.Version)
		}
	}
	h.mu.Unlock()
	if !limit {
		what := "packages installed"
		if !local {
			what = "packages found"
		}
		lines = append(lines, fmt.Sprintf("%d %s.", found, what))
	}
	return lines, 0
}

// The choco-check script's command and parsing, which opChocoCheck
// applies to what choco prints.
var chocoCheckScript = []string{
	"$chocoVersion = (& choco --version 2>&1 | Out-String).Trim()",
	"if ($chocoVersion -match '(\\d+)\\.\\d+') { $major = [int]$Matches[1] }",
	"if ($major -ge 2) {\n    $argList = @('list', '--exact', $in.package, '--limit-output')\n} else {\n    $argList = @('list', '--local-only', '--exact', $in.package, '--limit-output')\n}",
	"if ($code -ne 0 -and $code -ne 2) { throw",
	"if ($line -match '^([^|]+)\\|(.+)$' -and $Matches[1].Trim() -eq $in.package) { $version = $Matches[2].Trim() }",
}

func opChocoCheck(v *inv) int {
	h := v.h
	for _, s := range chocoCheckScript {
		if !strings.Contains(v.script, s) {
			return v.fail(&psError{Message: fmt.Sprintf("winsim: the choco-check script no longer contains %q: teach internal/winsim its new command and parsing (software.go)", s), ErrorID: "winsim"})
		}
	}
	pkg := v.str("package")
	major := 0
	if m := chocoMajorVersion.FindStringSubmatch(h.cfg.ChocolateyVersion); m != nil { // what choco --version prints
		major, _ = strconv.Atoi(m[1])
	}
	args := []string{"list", "--local-only", "--exact", pkg, "--limit-output"}
	if major >= 2 {
		args = []string{"list", "--exact", pkg, "--limit-output"}
	}
	lines, code := h.chocoList(args)
	if code != 0 && code != 2 {
		return v.fail(throwError(v.script, "throw ('choco ", fmt.Sprintf("choco %s failed with exit code %d: %s", strings.Join(args, " "), code, strings.TrimSpace(strings.Join(lines, " ")))))
	}
	version := ""
	for _, line := range lines {
		if m := chocoLimitedLine.FindStringSubmatch(line); m != nil && strings.EqualFold(strings.TrimSpace(m[1]), pkg) {
			version = strings.TrimSpace(m[2])
		}
	}
	return v.result(field{"installed", version != ""}, field{"version", version})
}

func opChocoInstall(v *inv) int {
	h := v.h
	id, want := v.str("package"), v.str("version")
	name := strings.ToLower(id)
	head := []string{"Chocolatey v" + h.cfg.ChocolateyVersion, "Installing the following packages:", name, "By installing, you accept licenses for the packages."}
	logLine := " See the log for details (C:\\ProgramData\\chocolatey\\logs\\chocolatey.log)."
	key, p, ok := h.lookupPackage(id)
	if !ok || (want != "" && want != p.Version) {
		what := name + " not installed. The package was not found with the source(s) listed."
		out := append(head, what,
			" Source(s): 'https://community.chocolatey.org/api/v2/'",
			" NOTE: When you specify explicit sources, it overrides default sources.",
			"If the package version is a prerelease and you didn't specify `--pre`,",
			" the package may not be found.",
			"Please see https://docs.chocolatey.org/en-us/troubleshooting for more",
			" assistance.",
			"",
			"Chocolatey installed 0/1 packages. 1 packages failed.",
			logLine,
			"",
			"Failures",
			" - "+name+" - "+what)
		return v.result(field{"exit_code", 1}, field{"log", outString(out)})
	}
	h.mu.Lock()
	cur, installed := h.installedLocked(key)
	h.mu.Unlock()
	if installed && cur.version == p.Version {
		already := fmt.Sprintf("%s v%s already installed.", name, cur.version)
		out := append(head, already,
			" Use --force to reinstall, specify a version to install, or try upgrade.",
			"",
			"Chocolatey installed 0/1 packages.",
			logLine,
			"",
			"Warnings:",
			" - "+name+" - "+already,
			" Use --force to reinstall, specify a version to install, or try upgrade.")
		return v.result(field{"exit_code", 0}, field{"log", outString(out)})
	}
	exit, err := h.runInstaller(v, key, p, "choco")
	if err != nil {
		return 1
	}
	out := append(head, "Downloading package from source 'https://community.chocolatey.org/api/v2/'", "",
		fmt.Sprintf("%s v%s [Approved]", name, p.Version),
		name+" package files install completed. Performing other installation steps.",
		"Installing "+name+"...")
	switch exit {
	case 0, 3010, 1641:
		out = append(out, displayName(key, p)+" has been installed.",
			" The install of "+name+" was successful.",
			"  Software installed as 'msi', install location is likely default.",
			"",
			"Chocolatey installed 1/1 packages.",
			logLine)
		if exit != 0 {
			out = append(out, "", "Packages requiring reboot:", fmt.Sprintf(" - %s (exit code %d)", name, exit), "",
				"The recent package changes indicate a reboot is necessary.", " Please reboot at your earliest convenience.")
		}
		return v.result(field{"exit_code", exit}, field{"log", outString(out)})
	}
	failed := fmt.Sprintf("ERROR: Running [\"C:\\Windows\\System32\\msiexec.exe\" /i \"C:\\ProgramData\\chocolatey\\lib\\%s\\tools\\setup.msi\" /qn /norestart] was not successful. Exit code was '%d'. Exit code indicates the following: Fatal error during installation.", name, exit)
	out = append(out, failed,
		"The install of "+name+" was NOT successful.",
		"Error while running 'C:\\ProgramData\\chocolatey\\lib\\"+name+"\\tools\\chocolateyinstall.ps1'.",
		" See log for details.",
		"",
		"Chocolatey installed 0/1 packages. 1 packages failed.",
		logLine,
		"",
		"Failures",
		" - "+name+" (exited "+strconv.Itoa(exit)+") - Error while running 'C:\\ProgramData\\chocolatey\\lib\\"+name+"\\tools\\chocolateyinstall.ps1'.",
		" See log for details.")
	return v.result(field{"exit_code", exit}, field{"log", outString(out)})
}
