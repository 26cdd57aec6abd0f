package winsim_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
	"onboard/internal/step"
)

const productCode = "{12345678-1234-1234-1234-123456789012}"

func software(manager, id, version string) *plan.Step {
	s := &plan.WinSoftwareSpec{Name: "acme-chat", Manager: manager, Version: version}
	switch manager {
	case "msi":
		s.ProductCode, s.Source, s.Args = id, `\\files\share\AcmeChat.msi`, "ALLUSERS=1"
	default:
		s.Package = id
	}
	return &plan.Step{ID: "sw", Kind: plan.KindWinSoftware, WinSoftware: s}
}

func rebootStep(wait time.Duration) *plan.Step {
	return &plan.Step{ID: "reboot", Kind: plan.KindReboot, Reboot: &plan.RebootSpec{Wait: plan.Duration(wait)}}
}

func TestNonOnboardCommands(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{ComputerName: "win1"})
	for _, tt := range []struct {
		line, stdout, stderr string
		code                 int
	}{
		{"hostname", "WIN1\r\n", "", 0},
		{"echo hello world", "hello world\r\n", "", 0},
		{"whoami", "win1\\onboard\r\n", "", 0},
		{"ipconfig /all", "", "winsim: unknown command", 1},
		{"powershell.exe -NoProfile -EncodedCommand ZABpAHIA", "", "winsim: unknown command", 1},
	} {
		code, out, errOut, err := l.run(t, tt.line)
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		if code != tt.code || out != tt.stdout || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tt.line, code, out, errOut, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestMSIExit3010LeavesARebootPending(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Packages: map[string]winsim.Package{productCode: {Name: "Acme Chat", Version: "3.1.0", ExitCode: 3010}}})
	s := software("msi", productCode, "3.1.0")
	what := converge(t, l, nil, s)
	mustContain(t, "apply", what, "exit 3010: reboot pending")
	if got := l.host.State().Installed[productCode]; got != "3.1.0" {
		t.Errorf("installed %q", got)
	}
	// The run's reboot step sees the pending reboot, and software steps
	// refuse to install until it is done.
	if st := check(t, l, nil, rebootStep(time.Minute)); st.InPlace {
		t.Errorf("reboot step in place with a 3010 pending")
	}
	other := software("msi", "{AAAAAAAA-1234-1234-1234-123456789012}", "1.0")
	if _, err := apply(t, l, nil, other, 10*time.Second); err == nil || !strings.Contains(err.Error(), "reboot pending") {
		t.Errorf("install with a reboot pending: %v", err)
	}
}

func TestMSIFailureShowsTheLogTail(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Packages: map[string]winsim.Package{productCode: {Name: "Acme Chat", Version: "3.1.0", ExitCode: 1603}}})
	s := software("msi", productCode, "3.1.0")
	check(t, l, nil, s)
	_, err := apply(t, l, nil, s, 20*time.Second)
	if err == nil {
		t.Fatal("a 1603 install succeeded")
	}
	mustContain(t, "error", err.Error(), "install acme-chat (msi) on win1: exit code 1603", "MainEngineThread is returning 1603")
	if st := check(t, l, nil, s); st.InPlace {
		t.Error("in place after a failed install")
	}
	// An unknown product code fails the same way.
	_, err = apply(t, l, nil, software("msi", "{BBBBBBBB-1234-1234-1234-123456789012}", "1.0"), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code 1603") {
		t.Errorf("unknown product: %v", err)
	}
}

func TestHangingInstallerIsKilledAtTheDeadline(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Packages: map[string]winsim.Package{productCode: {Name: "Acme Chat", Version: "3.1.0", Hang: true}}})
	s := software("msi", productCode, "3.1.0")
	start := time.Now()
	_, err := apply(t, l, nil, s, 3*time.Second)
	if err == nil {
		t.Fatal("a hanging install returned success")
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("apply took %v with a 3s deadline", took)
	}
	mustContain(t, "error", err.Error(), "deadline exceeded")
	// The client's Signal terminate reaches the host: its installer is
	// killed, nothing is installed.
	waitFor(t, 10*time.Second, "the installer killed", func() bool { return slices.Contains(l.host.State().Killed, "msi-install") })
	if _, ok := l.host.State().Installed[productCode]; ok {
		t.Error("installed after being killed")
	}
}

// winget's table separates columns with one space after the widest cell
// (and spinner frames come first): winget-check reads it by the header's
// positions. An installer's 3010/1641 come back from winget as its own
// codes, and installing what is installed is an error winget-install
// takes for "already installed".
func TestWingetAgainstWingetsRealOutput(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{
		Packages: map[string]winsim.Package{
			"Acme.Chat":   {Name: "Acme Chat", Version: "3.1.0"},
			"Acme.Drive":  {Name: "Acme Drive", Version: "2.0.0", ExitCode: 3010},
			"Acme.Broken": {Name: "Acme Broken", Version: "1.0", ExitCode: 1603},
			"Acme.Kanji":  {Name: "アクメ チャット 漢字", Version: "5.2.1"},
		},
		Installed: map[string]string{"Acme.Legacy": "4.0.0.0"},
	})
	s := software("winget", "Acme.Chat", "3.1.0")
	mustContain(t, "install", converge(t, l, nil, s), "installed acme-chat 3.1.0")
	if got := l.host.State().Installed["Acme.Chat"]; got != "3.1.0" {
		t.Fatalf("installed %q", got)
	}
	if st := check(t, l, nil, s); !st.InPlace || st.Reason != "acme-chat 3.1.0 is installed" {
		t.Errorf("second check: %+v", st)
	}
	// Installing again (what a run whose check was wrong would do): winget
	// answers 0x8A15002B, which is "already installed".
	what, err := apply(t, l, nil, s, 20*time.Second)
	if err != nil || what != "acme-chat is already installed (winget exit -1978335189)" {
		t.Errorf("second install: %q, %v", what, err)
	}
	// Another version is "differs".
	if st := check(t, l, nil, software("winget", "Acme.Chat", "3.2.0")); st.InPlace || st.Action != plan.ActionUpdate {
		t.Errorf("another version: %+v", st)
	}
	// Four-part Windows versions match the catalogue's three parts.
	if st := check(t, l, nil, software("winget", "Acme.Legacy", "4.0.0")); !st.InPlace {
		t.Errorf("4.0.0.0 for 4.0.0: %+v", st)
	}
	// A name of wide characters shifts the row: the id and version are
	// still found.
	mustContain(t, "wide name", converge(t, l, nil, software("winget", "Acme.Kanji", "5.2.1")), "installed acme-chat 5.2.1")
	// An unknown id.
	_, err = apply(t, l, nil, software("winget", "No.Such", ""), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code -1978335212: No package found matching input criteria.") {
		t.Errorf("unknown id: %v", err)
	}
	// A failing installer.
	_, err = apply(t, l, nil, software("winget", "Acme.Broken", ""), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code -1978335226") || !strings.Contains(err.Error(), "Installer failed with exit code: 1603") {
		t.Errorf("1603 through winget: %v", err)
	}
	// An installer's 3010 comes back from winget as 0x8A150109: installed,
	// with a reboot pending.
	drive := software("winget", "Acme.Drive", "2.0.0")
	mustContain(t, "3010 through winget", converge(t, l, nil, drive), "installed acme-chat 2.0.0 (winget exit -1978334967", "reboot pending")
	if st := l.host.State(); st.Installed["Acme.Drive"] != "2.0.0" || !st.PendingReboot {
		t.Errorf("after the 3010 install: %+v", st)
	}
	if st := check(t, l, nil, rebootStep(time.Minute)); st.InPlace {
		t.Error("no reboot pending after winget's 0x8A150109")
	}
}

func TestChocolatey1(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{ChocolateyVersion: "1.4.0", Packages: map[string]winsim.Package{
		"acme-chat": {Name: "Acme Chat", Version: "3.1.0", ExitCode: 3010},
	}})
	s := software("choco", "acme-chat", "3.1.0")
	mustContain(t, "apply", converge(t, l, nil, s), "exit 3010: reboot pending")
	if !l.host.State().PendingReboot {
		t.Error("no reboot pending after choco's 3010")
	}
	// Not found, with choco's message.
	l2 := startLab(t, winsim.Config{ChocolateyVersion: "1.4.0"})
	_, err := apply(t, l2, nil, software("choco", "nosuch", ""), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code 1") || !strings.Contains(err.Error(), "nosuch not installed. The package was not found") {
		t.Errorf("unknown package: %v", err)
	}
}

// Chocolatey 2 (since 2023) refuses `choco list --local-only`: choco-check
// picks `choco list --exact X --limit-output` by choco --version.
func TestChocolatey2(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Packages: map[string]winsim.Package{"acme-chat": {Name: "Acme Chat", Version: "3.1.0"}}})
	s := software("choco", "acme-chat", "3.1.0")
	mustContain(t, "install", converge(t, l, nil, s), "installed acme-chat 3.1.0")
	if l.host.State().Installed["acme-chat"] != "3.1.0" {
		t.Fatal("not installed")
	}
	if st := check(t, l, nil, software("choco", "acme-chat", "3.0.0")); st.InPlace || st.Reason != "acme-chat 3.1.0 is installed, want 3.0.0" {
		t.Errorf("another version: %+v", st)
	}
	// Installing again: choco says so and exits 0.
	if what, err := apply(t, l, nil, s, 20*time.Second); err != nil {
		t.Errorf("second install: %q, %v", what, err)
	}
}

func TestJoinRebootAndLocalGroup(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{ComputerName: "WIN1", RebootTime: 3 * time.Second})
	const ou = "OU=Workstations,DC=corp,DC=example,DC=test"
	join := &plan.Step{ID: "join", Kind: plan.KindWinJoin, WinJoin: &plan.WinJoinSpec{Domain: domainName, NewName: "WS-ADA", OU: ou}}
	member := "CORP\\o'bri$en`;"
	group := &plan.Step{ID: "rdp", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: "Remote Desktop Users", Member: member}}

	// Before the join, Windows cannot resolve a domain principal.
	if st := check(t, l, nil, group); st.InPlace {
		t.Fatal("member before anything")
	}
	_, err := apply(t, l, nil, group, 20*time.Second)
	if err == nil {
		t.Fatal("a domain member was added before the join")
	}
	// The step's error is the record's message, without the position and
	// category lines PowerShell prints after it; the script's stderr has
	// the whole record.
	mustContain(t, "local group before the join", err.Error(), "exit code 1: Add-LocalGroupMember : Principal "+member+" was not found.")
	noDecoration(t, "local group before the join", err)
	code, _, stderr := l.script(t, "localgroup-add", map[string]string{"group": "Remote Desktop Users", "member": member}, "")
	if code != 1 || !strings.HasPrefix(stderr, "Add-LocalGroupMember : Principal "+member+" was not found.\nAt line:") {
		t.Errorf("localgroup-add before the join: %d %q", code, stderr)
	}

	// Wrong join password: Add-Computer's error.
	if st := check(t, l, l.dirTarget("wrong"), join); st.InPlace {
		t.Fatal("joined before the join")
	}
	_, err = apply(t, l, l.dirTarget("wrong"), join, 20*time.Second)
	if err == nil {
		t.Fatal("joined with a wrong password")
	}
	mustContain(t, "wrong password", err.Error(), "join corp.example.test on win1: exit code 1: Add-Computer : Computer 'WIN1' failed to join domain 'corp.example.test'",
		"The user name or password is incorrect.")
	noDecoration(t, "wrong password", err)
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the password leaked into the error: %v", err)
	}
	code, _, stderr = l.script(t, "win-join", map[string]string{"domain": domainName, "new_name": "WS-ADA"}, `{"user":"joiner@corp.example.test","password":"wrong"}`)
	want := "Add-Computer : Computer 'WIN1' failed to join domain 'corp.example.test' from its current workgroup 'WORKGROUP' with following error message: The user name or password is incorrect.\nAt line:15 char:1\n+ Add-Computer @params\n"
	if code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("win-join with a wrong password: %d %q", code, stderr)
	}
	code, _, stderr = l.script(t, "win-join", map[string]string{"domain": "other.test"}, `{"user":"joiner@corp.example.test","password":"`+joinPassword+`"}`)
	if code != 1 || !strings.Contains(stderr, "The specified domain either does not exist or could not be contacted.") {
		t.Errorf("win-join to another domain: %d %q", code, stderr)
	}
	if st := l.host.State(); st.JoinPending || st.PartOfDomain {
		t.Fatalf("state after a refused join: %+v", st)
	}

	// The right one: the join waits for the reboot.
	d := l.dirTarget(joinPassword)
	mustContain(t, "join", converge(t, l, d, join), "renamed WIN1 to WS-ADA and joined corp.example.test (completes at the reboot)")
	if st := check(t, l, d, join); st.InPlace || !strings.Contains(st.Reason, "waits for a reboot") {
		t.Errorf("join before the reboot: %+v", st)
	}
	before := l.host.State()
	if !before.JoinPending || !before.PendingReboot || before.PartOfDomain || before.ComputerName != "WIN1" {
		t.Fatalf("state after Add-Computer: %+v", before)
	}

	// The reboot: the host goes away and comes back renamed and joined.
	reboot := rebootStep(time.Minute)
	if st := check(t, l, nil, reboot); st.InPlace {
		t.Fatal("no reboot pending after the join")
	}
	sawDown := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if l.host.Down() {
				sawDown <- true
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		sawDown <- false
	}()
	what, err := apply(t, l, nil, reboot, time.Minute)
	if err != nil {
		t.Fatalf("reboot: %v", err)
	}
	mustContain(t, "reboot", what, "rebooted (back after")
	if !<-sawDown {
		t.Error("the host never went down")
	}
	after := l.host.State()
	if !after.BootTime.After(before.BootTime) || after.Reboots != 1 || !after.PartOfDomain || !after.SecureChannel ||
		after.JoinPending || after.PendingReboot || after.ComputerName != "WS-ADA" || after.Domain != domainName || after.JoinOU != ou {
		t.Fatalf("state after the reboot: %+v", after)
	}
	if got := l.dir.joins; len(got) != 1 || got[0] != "WS-ADA in "+ou {
		t.Errorf("OnJoin calls: %q", got)
	}
	if st := check(t, l, d, join); !st.InPlace {
		t.Errorf("join after the reboot: %s", st.Reason)
	}
	// Without a directory client (or a directory) the computer object is
	// not looked up.
	for _, dt := range []*step.DirTarget{nil, {Dir: d.Dir}} {
		if st := check(t, l, dt, join); !st.InPlace {
			t.Errorf("join without a directory client: %s", st.Reason)
		}
	}
	if st := check(t, l, nil, reboot); !st.InPlace {
		t.Errorf("reboot still pending: %s", st.Reason)
	}

	// Joined: the domain member resolves, and reaches the host as it was
	// written (quote, $, backtick and semicolon included).
	converge(t, l, nil, group)
	if got := l.host.State().LocalGroups["Remote Desktop Users"]; !slices.Equal(got, []string{member}) {
		t.Errorf("Remote Desktop Users = %q, want [%q]", got, member)
	}
	if got := l.host.State().LocalGroups["Administrators"]; !slices.Contains(got, `WS-ADA\Administrator`) || !slices.Contains(got, `CORP\Domain Admins`) {
		t.Errorf("Administrators = %q", got)
	}
}

func TestRebootThatNeverReturns(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{NeverReturn: true, Packages: map[string]winsim.Package{productCode: {Name: "Acme Chat", Version: "3.1.0", ExitCode: 3010}}})
	apply(t, l, nil, software("msi", productCode, "3.1.0"), 20*time.Second)
	reboot := rebootStep(5 * time.Second)
	if st := check(t, l, nil, reboot); st.InPlace {
		t.Fatal("no reboot pending")
	}
	_, err := apply(t, l, nil, reboot, time.Minute)
	if err == nil {
		t.Fatal("the reboot step succeeded on a host that never came back")
	}
	mustContain(t, "reboot", err.Error(), "win1 did not come back within 5s of the reboot")
	if st := l.host.State(); !st.Down || st.Reboots != 0 {
		t.Errorf("state: down %v, reboots %d", st.Down, st.Reboots)
	}
	// A step's transport error names the script, not its command line.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := (step.Reboot{}).Check(ctx, l.exec(nil), reboot); err == nil {
		t.Error("a check ran on a host that is down")
	} else if !strings.Contains(err.Error(), "win1: run PowerShell win-facts: ") || strings.Contains(err.Error(), "EncodedCommand") || len(err.Error()) > 1000 {
		t.Errorf("transport error: %v", err)
	}
	// Every request fails at the transport while the host is down.
	if _, _, _, err := l.run(t, "hostname"); err == nil {
		t.Error("a command ran on a host that is down")
	} else {
		t.Logf("hostname on a down host: %v", err)
	}
}

func TestPrinter(t *testing.T) {
	t.Parallel()
	const conn, driver = `\\print01\Office 2F`, "Microsoft IPP Class Driver"
	l := startLab(t, winsim.Config{Printers: map[string]string{conn: driver, `\\print01\Lab`: "HP Universal Printing PCL 6"}})
	s := &plan.Step{ID: "printer", Kind: plan.KindWinPrinter, WinPrinter: &plan.WinPrinterSpec{Name: "office", Connection: conn, Driver: driver}}
	converge(t, l, nil, s)
	st := l.host.State()
	if !slices.Equal(st.PrinterConnections, []string{conn}) || !slices.Contains(st.Drivers, driver) || !slices.Equal(st.Printers, []string{conn}) {
		t.Errorf("state: %+v", st)
	}
	// A share the print server does not have: the driver first...
	bad := &plan.Step{ID: "bad", Kind: plan.KindWinPrinter, WinPrinter: &plan.WinPrinterSpec{Name: "nope", Connection: `\\print01\Nope`, Driver: "Acme PCL"}}
	_, err := apply(t, l, nil, bad, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "The specified driver does not exist in the driver store.") {
		t.Errorf("unknown driver: %v", err)
	}
	// ...then printui, for a driver that is already there.
	bad.WinPrinter.Driver = driver
	_, err = apply(t, l, nil, bad, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), `printui /ga \\print01\Nope on win1: exit code 1`) {
		t.Errorf("unknown share: %v", err)
	}
}

func TestCommandWithCreates(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{})
	s := &plan.Step{ID: "cmd", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{
		Run:     "New-Item -ItemType Directory -Path 'C:\\Acme' -Force\nSet-Content -Path 'C:\\Acme\\done.txt' -Value 'ok: it''s $done `n;'",
		Creates: `C:\Acme\done.txt`,
	}}
	converge(t, l, nil, s)
	if got := string(l.host.State().Files[`C:\Acme\done.txt`]); got != "ok: it's $done `n;\r\n" {
		t.Errorf("file = %q", got)
	}

	// unless is an expression that is $true once the work is done.
	unless := &plan.Step{ID: "u", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{
		Run: "New-Item -ItemType Directory -Path 'C:\\Flag'", Unless: `Test-Path 'C:\Flag'`}}
	mustContain(t, "unless", converge(t, l, nil, unless), "ran command New-Item -ItemType Directory -Path 'C:\\Flag'")
	for _, tt := range []struct {
		creates, unless string
		done            bool
	}{
		{"", `Test-Path 'C:\nope'`, false},
		{"", `Test-Path 'C:\Acme'; Test-Path 'C:\nope'`, false}, // the last output counts
		{"", `Test-Path 'C:\nope'; Test-Path 'C:\Acme'`, true},
		{"", "Write-Output 'yes'", true},
		{"", "Write-Output ''", false},
		{"", "Set-Content -Path 'C:\\nope\\x' -Value 'x'", false},   // an error is "not done"
		{"", `Set-Content -Path 'C:\Acme\t.txt' -Value 'x'`, false}, // no output
		{`C:\Acme\done.txt`, `Test-Path 'C:\Acme'`, true},
		{`C:\Acme\done.txt`, `Test-Path 'C:\nope'`, false},
		{`C:\nope`, `Test-Path 'C:\Acme'`, false},
	} {
		st := check(t, l, nil, &plan.Step{ID: "u", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: "x", Creates: tt.creates, Unless: tt.unless}})
		if st.InPlace != tt.done {
			t.Errorf("creates %q unless %q: in place %v, want %v", tt.creates, tt.unless, st.InPlace, tt.done)
		}
	}
	// unless must not call exit: the check refuses it before running it,
	// and one that does not parse.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for unless, want := range map[string]string{
		"Write-Output 'x'; exit 0": "check command on win1: exit code 1: unless must not call exit (it would end the check script)",
		"Test-Path 'C:\\x":         "check command on win1: exit code 1: unless does not parse: The string is missing the terminator: '.",
	} {
		s := &plan.Step{ID: "u", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: "x", Unless: unless}}
		_, err := kindOf(s).Check(ctx, l.exec(nil), s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unless %q: %v", unless, err)
		} else {
			noDecoration(t, "unless "+unless, err)
		}
	}

	// Anything outside winsim's subset fails loudly.
	odd := &plan.Step{ID: "odd", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: "Get-Service Spooler | Restart-Service"}}
	_, err := apply(t, l, nil, odd, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "winsim: unsupported command") {
		t.Errorf("unsupported: %v", err)
	}
	// exit leaves the whole script: no JSON result.
	exit := &plan.Step{ID: "exit", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: "Write-Output 'x'; exit 3"}}
	_, err = apply(t, l, nil, exit, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Errorf("exit 3: %v", err)
	}
}

func TestLongCommandTravelsOnStdin(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{})
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("Write-Output 'line %03d: Zażółć gęślą jaźń'", i))
	}
	s := &plan.Step{ID: "long", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: strings.Join(lines, "\n") + "\nNew-Item -ItemType Directory -Path 'C:\\Long'"}}
	converge(t, l, nil, &plan.Step{ID: "long", Kind: plan.KindWinCommand, Command: &plan.CommandSpec{Run: s.Command.Run, Creates: `C:\Long`}})
	if !slices.Contains(l.host.State().Dirs, `C:\Long`) {
		t.Error("C:\\Long not created")
	}
}

func TestFileUpload(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Dirs: []string{`C:\Acme`}})
	content := "Welcome, Zażółć gęślą jaźń! 'quotes' $dollar `backtick; semicolon\r\n" + strings.Repeat("0123456789abcdef", 1200)
	path := `C:\Acme\o'brien $x;.txt`
	s := &plan.Step{ID: "file", Kind: plan.KindWinFile, File: &plan.FileSpec{Path: path, Content: content}}
	converge(t, l, nil, s)
	st := l.host.State()
	if got := string(st.Files[path]); got != content {
		t.Errorf("content: %d bytes, want %d", len(got), len(content))
	}
	for p := range st.Files {
		if strings.Contains(p, ".onboard-") {
			t.Errorf("temporary file left: %s", p)
		}
	}
	// Changed content is "differs"; a missing directory fails with .NET's
	// message and leaves no temporary file.
	s.File.Content = "other"
	if st := check(t, l, nil, s); st.InPlace || st.Action != plan.ActionUpdate {
		t.Errorf("changed content: %+v", st)
	}
	// The file step makes the file's folder, as the Linux one does.
	missing := &plan.Step{ID: "f2", Kind: plan.KindWinFile, File: &plan.FileSpec{Path: `C:\NoSuchDir\x.txt`, Content: "x"}}
	if _, err := apply(t, l, nil, missing, 20*time.Second); err != nil {
		t.Errorf("a file in a new folder: %v", err)
	}
	if got := string(l.host.State().Files[`C:\NoSuchDir\x.txt`]); got != "x" {
		t.Errorf("C:\\NoSuchDir\\x.txt = %q", got)
	}
	for p := range l.host.State().Files {
		if strings.HasPrefix(p, `C:\NoSuchDir\x.txt.onboard-`) {
			t.Errorf("left %s", p)
		}
	}
}

// A host restart drops the client's shell; after the reboot the client
// opens a new one by itself.
func TestClientRecoversAfterReboot(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{RebootTime: 500 * time.Millisecond, ShutdownDelay: 200 * time.Millisecond})
	code, _, _, err := l.run(t, "hostname")
	if err != nil || code != 0 {
		t.Fatalf("hostname: %d %v", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	what, err := step.Reboot{}.Apply(ctx, l.exec(nil), rebootStep(20*time.Second))
	if err != nil {
		t.Fatalf("reboot: %v", err)
	}
	t.Log(what)
	if code, out, _, err := l.run(t, "hostname"); err != nil || code != 0 || out != "WIN1\r\n" {
		t.Errorf("after the reboot: %d %q %v", code, out, err)
	}
	if st := l.host.State(); st.Reboots != 1 || st.Down {
		t.Errorf("state: %+v", st)
	}
}

func TestFactsAsWindowsPrintsThem(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{ComputerName: "ws-ada"})
	code, out, stderr := l.script(t, "win-facts", nil, "")
	re := regexp.MustCompile(`^\{"computer_name":"WS-ADA","domain":"WORKGROUP","part_of_domain":false,"secure_channel":false,"join_pending":false,"boot_time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)","pending_reboot":false\}\r\n$`)
	m := re.FindStringSubmatch(out)
	if code != 0 || stderr != "" || m == nil {
		t.Fatalf("win-facts: %d %q %q", code, out, stderr)
	}
	boot, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil || !boot.Equal(l.host.State().BootTime) {
		t.Errorf("boot time %q: %v (host: %v)", m[1], err, l.host.State().BootTime)
	}
	if got := l.host.State().Commands; !slices.Equal(got, []string{"win-facts"}) {
		t.Errorf("commands %q", got)
	}
}

func TestPreinstalledAndNonASCIIAccounts(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{
		Users:     map[string]string{"Zażółć": "pw"},
		Installed: map[string]string{productCode: "3.1.0"},
	})
	if st := check(t, l, nil, software("msi", productCode, "3.1.0")); !st.InPlace {
		t.Errorf("preinstalled MSI: %s", st.Reason)
	}
	if st := check(t, l, nil, software("msi", productCode, "4.0")); st.InPlace || st.Action != plan.ActionUpdate {
		t.Errorf("another version: %+v", st)
	}
	g := &plan.Step{ID: "g", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: "Remote Desktop Users", Member: `WIN1\Zażółć`}}
	converge(t, l, nil, g)
	st := l.host.State()
	if !slices.Equal(st.LocalGroups["Remote Desktop Users"], []string{`WIN1\Zażółć`}) || !slices.Contains(st.LocalGroups["Administrators"], `WIN1\Zażółć`) {
		t.Errorf("groups: %q", st.LocalGroups)
	}
	// Already a member: Windows refuses, and says so.
	code, _, stderr := l.script(t, "localgroup-add", map[string]string{"group": "Remote Desktop Users", "member": `WIN1\Zażółć`}, "")
	if code != 1 || !strings.HasPrefix(stderr, `Add-LocalGroupMember : WIN1\Zażółć is already a member of group Remote Desktop Users.`) {
		t.Errorf("second add: %d %q", code, stderr)
	}
	code, _, stderr = l.script(t, "localgroup-check", map[string]string{"group": "Power Users", "member": "x"}, "")
	if code != 1 || !strings.HasPrefix(stderr, "Get-LocalGroupMember : Group Power Users was not found.") {
		t.Errorf("unknown group: %d %q", code, stderr)
	}
}

// When the computer object cannot be made at the reboot (OnJoin fails), the
// host comes back joined with a broken secure channel, and the join step is
// not in place.
func TestJoinWhoseComputerObjectFails(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{RebootTime: 300 * time.Millisecond, ShutdownDelay: 200 * time.Millisecond,
		Domain: winsim.DomainConfig{OnJoin: func(name, ou string) error { return fmt.Errorf("LDAP: insufficient access rights for %s", ou) }}})
	join := &plan.Step{ID: "join", Kind: plan.KindWinJoin, WinJoin: &plan.WinJoinSpec{Domain: domainName, OU: "OU=Nope,DC=corp,DC=example,DC=test"}}
	d := l.dirTarget(joinPassword)
	converge(t, l, d, join)
	if _, err := apply(t, l, nil, rebootStep(20*time.Second), 30*time.Second); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	st := l.host.State()
	if !st.PartOfDomain || st.SecureChannel || !strings.Contains(st.JoinError, "insufficient access") {
		t.Fatalf("state: %+v", st)
	}
	want := "WIN1 is joined to corp.example.test but the secure channel is broken: repair with Test-ComputerSecureChannel -Repair"
	if c := check(t, l, d, join); c.InPlace || c.Reason != want {
		t.Errorf("join with a broken secure channel: %+v", c)
	}
	// Apply does not try Add-Computer again: it fails with the reason.
	before := len(l.host.State().Commands)
	if _, err := apply(t, l, d, join, 20*time.Second); err == nil || err.Error() != "win1: "+want {
		t.Errorf("apply with a broken secure channel: %v", err)
	}
	if cmds := l.host.State().Commands[before:]; slices.Contains(cmds, "win-join") {
		t.Errorf("apply ran %q", cmds)
	}
	// Add-Computer refuses a second join to the same domain.
	code, _, stderr := l.script(t, "win-join", map[string]string{"domain": domainName}, `{"user":"joiner@corp.example.test","password":"`+joinPassword+`"}`)
	if code != 1 || !strings.HasPrefix(stderr, "Add-Computer : Cannot add computer 'WIN1' to domain 'corp.example.test' because it is already in that domain.") {
		t.Errorf("second join: %d %q", code, stderr)
	}
}
