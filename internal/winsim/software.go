package winsim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
// the header.
func wingetTable(header []string, rows [][]string) []string {
	width := make([]int, len(header))
	for i, hd := range header {
		width[i] = utf8.RuneCountInString(hd)
		for _, r := range rows {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
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
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
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

// wingetList is what `winget list --id ID --exact` prints, and its exit
// code.
func (h *Host) wingetList(id string) ([]string, int) {
	h.mu.Lock()
	p, ok := h.installedLocked(id)
	h.mu.Unlock()
	if !ok {
		return []string{"No installed package found matching input criteria."}, wingetNoPackage
	}
	name := p.key
	if _, pk, ok := h.lookupPackage(p.key); ok {
		name = displayName(p.key, pk)
	}
	header, row := []string{"Name", "Id", "Version"}, []string{name, p.key, p.version}
	if p.manager == "winget" {
		header, row = append(header, "Source"), append(row, "winget")
	}
	return wingetTable(header, [][]string{row}), 0
}

var twoOrMoreSpaces = regexp.MustCompile(`\s{2,}`)

func opWingetCheck(v *inv) int {
	if !strings.Contains(v.script, `-split '\s{2,}'`) || !strings.Contains(v.script, `$cols[1].Trim() -eq $in.package`) {
		return v.fail(&psError{Message: "winsim: the winget-check script no longer parses winget's table with -split '\\s{2,}' and $cols[1]: teach internal/winsim its new parsing", ErrorID: "winsim"})
	}
	lines, _ := v.h.wingetList(v.str("package"))
	// The script: $cols = $line -split '\s{2,}'; a row whose second column
	// is the id gives the version in the third.
	version := ""
	for _, line := range lines {
		cols := twoOrMoreSpaces.Split(line, -1)
		if len(cols) >= 3 && strings.EqualFold(strings.TrimSpace(cols[1]), v.str("package")) {
			version = strings.TrimSpace(cols[2])
		}
	}
	return v.result(field{"installed", version != ""}, field{"version", version})
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

var chocoLimitedLine = regexp.MustCompile(`^[^|]+\|(.+)$`)

func opChocoCheck(v *inv) int {
	h := v.h
	if !strings.Contains(v.script, "choco list --local-only --exact $in.package --limit-output") || !strings.Contains(v.script, `'^[^|]+\|(.+)$'`) {
		return v.fail(&psError{Message: "winsim: the choco-check script no longer runs `choco list --local-only --exact ... --limit-output` and reads name|version from its first line: teach internal/winsim its new command", ErrorID: "winsim"})
	}
	var lines []string
	if h.chocoMajor() >= 2 {
		// Chocolatey 2 lists local packages only and refuses the option;
		// errors go to stdout, and the exit code is not checked.
		lines = []string{"Invalid argument --local-only. This argument has been removed from the list command and cannot be used."}
	} else {
		h.mu.Lock()
		if p, ok := h.installedLocked(v.str("package")); ok {
			lines = []string{strings.ToLower(p.key) + "|" + p.version}
		}
		h.mu.Unlock()
	}
	version := ""
	if len(lines) > 0 {
		if m := chocoLimitedLine.FindStringSubmatch(lines[0]); m != nil {
			version = strings.TrimSpace(m[1])
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
