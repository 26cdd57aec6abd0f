package winsim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
)

func removal(s *plan.Step) *plan.Step {
	r := *s
	r.ID, r.Kind = s.ID+"-remove", map[string]string{
		plan.KindWinSoftware: plan.KindWinSoftwareRemove, plan.KindWinPrinter: plan.KindWinPrinterRemove, plan.KindLocalGroup: plan.KindLocalGroupRemove,
	}[s.Kind]
	return &r
}

// Software installed by each manager is uninstalled the way Windows
// answers: the Uninstall key (and so msi-check's answer) goes, other
// software stays, a second removal is in place, and an uninstaller's
// 3010 leaves a reboot pending.
func TestSoftwareRemoval(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		manager, id, other string
		code               int
		want               string
	}{
		{"msi", productCode, "{AAAAAAAA-1234-1234-1234-123456789012}", 0, "uninstalled acme-chat"},
		{"msi", productCode, "{AAAAAAAA-1234-1234-1234-123456789012}", 3010, "uninstalled acme-chat (exit 3010: reboot pending)"},
		{"winget", "Acme.Chat", "Acme.Drive", 0, "uninstalled acme-chat"},
		{"winget", "Acme.Chat", "Acme.Drive", 1641, "uninstalled acme-chat (winget exit -1978334965"},
		{"choco", "acme-chat", "acme-drive", 0, "uninstalled acme-chat"},
		{"choco", "acme-chat", "acme-drive", 3010, "uninstalled acme-chat (exit 3010: reboot pending)"},
	} {
		t.Run(tt.manager+"-"+map[bool]string{true: "reboot", false: "plain"}[tt.code != 0], func(t *testing.T) {
			t.Parallel()
			l := startLab(t, winsim.Config{
				Packages: map[string]winsim.Package{
					tt.id:    {Name: "Acme Chat", Version: "3.1.0", UninstallExitCode: tt.code},
					tt.other: {Name: "Acme Drive", Version: "2.0.0"},
				},
				Installed: map[string]string{tt.other: "2.0.0"},
			})
			install := software(tt.manager, tt.id, "3.1.0")
			converge(t, l, nil, install)
			rm := removal(install)
			mustContain(t, "remove", converge(t, l, nil, rm), tt.want)
			st := l.host.State()
			if _, ok := st.Installed[tt.id]; ok {
				t.Errorf("still installed: %v", st.Installed)
			}
			if st.Installed[tt.other] != "2.0.0" {
				t.Errorf("the other package was touched: %v", st.Installed)
			}
			if st.PendingReboot != (tt.code != 0) {
				t.Errorf("pending reboot %v after an uninstaller's %d", st.PendingReboot, tt.code)
			}
			if s := check(t, l, nil, rm); !s.InPlace || s.Reason != "acme-chat is not installed" {
				t.Errorf("second check: %+v", s)
			}
			if s := check(t, l, nil, install); s.InPlace {
				t.Errorf("the install step is still in place: %+v", s)
			}
		})
	}
}

// An uninstaller that fails leaves the software installed and the step
// failed with the tool's output; msiexec /x and winget uninstall of what
// is already gone say so and succeed.
func TestSoftwareRemovalFailures(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{
		Packages: map[string]winsim.Package{
			productCode: {Name: "Acme Chat", Version: "3.1.0", UninstallExitCode: 1603},
			"Acme.Chat": {Name: "Acme Chat", Version: "3.1.0", UninstallExitCode: 1603},
		},
		Installed: map[string]string{productCode: "3.1.0", "Acme.Chat": "3.1.0"},
	})
	_, err := apply(t, l, nil, removal(software("msi", productCode, "")), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "uninstall acme-chat (msi) on win1: exit code 1603") || !strings.Contains(err.Error(), "Removal failed.") {
		t.Errorf("msi 1603: %v", err)
	}
	_, err = apply(t, l, nil, removal(software("winget", "Acme.Chat", "")), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit code -1978335184") || !strings.Contains(err.Error(), "Uninstall failed with exit code: 1603") {
		t.Errorf("winget 1603: %v", err)
	}
	if st := l.host.State(); len(st.Installed) != 2 {
		t.Errorf("a failed uninstall removed something: %v", st.Installed)
	}
	gone := "{CCCCCCCC-1234-1234-1234-123456789012}"
	what, err := apply(t, l, nil, removal(software("msi", gone, "")), 20*time.Second)
	if err != nil || what != "acme-chat was already uninstalled (exit 1605)" {
		t.Errorf("msi of a product not installed: %q, %v", what, err)
	}
	what, err = apply(t, l, nil, removal(software("winget", "No.Such", "")), 20*time.Second)
	if err != nil || !strings.Contains(what, "already uninstalled (exit -1978335212)") {
		t.Errorf("winget of a package not installed: %q, %v", what, err)
	}
	_, err = apply(t, l, nil, removal(software("choco", "nosuch", "")), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "nosuch is not installed. Cannot uninstall a non-existent package.") {
		t.Errorf("choco of a package not installed: %v", err)
	}
}

// A printer connection added for every user is removed; another stays,
// and so does the driver.
func TestPrinterRemoval(t *testing.T) {
	t.Parallel()
	const conn, other, driver = `\\print01\Office 2F`, `\\print01\Lab`, "Microsoft IPP Class Driver"
	l := startLab(t, winsim.Config{Printers: map[string]string{conn: driver, other: driver}})
	add := &plan.Step{ID: "printer", Kind: plan.KindWinPrinter, WinPrinter: &plan.WinPrinterSpec{Name: "office", Connection: conn, Driver: driver}}
	keep := &plan.Step{ID: "lab", Kind: plan.KindWinPrinter, WinPrinter: &plan.WinPrinterSpec{Name: "lab", Connection: other, Driver: driver}}
	converge(t, l, nil, add)
	converge(t, l, nil, keep)
	rm := removal(add)
	mustContain(t, "remove", converge(t, l, nil, rm), `removed the connection \\print01\Office 2F`)
	st := l.host.State()
	if !slices.Equal(st.PrinterConnections, []string{other}) || !slices.Equal(st.Printers, []string{other}) || !slices.Contains(st.Drivers, driver) {
		t.Errorf("after removal: %+v", st)
	}
	if s := check(t, l, nil, keep); !s.InPlace {
		t.Errorf("the other printer: %s", s.Reason)
	}
	if s := check(t, l, nil, rm); !s.InPlace || !strings.Contains(s.Reason, "is not connected") {
		t.Errorf("second check: %+v", s)
	}
}

// Remove-LocalGroupMember: a member is removed; one that is not is in
// place, and a removal racing with another (Windows' "not a member") is
// no error; an unknown group is.
func TestLocalGroupRemoval(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Users: map[string]string{"ada": "pw", "bob": "pw"}})
	add := &plan.Step{ID: "g", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: "Remote Desktop Users", Member: `WIN1\ada`}}
	other := &plan.Step{ID: "h", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: "Remote Desktop Users", Member: `WIN1\bob`}}
	converge(t, l, nil, add)
	converge(t, l, nil, other)
	rm := removal(add)
	mustContain(t, "remove", converge(t, l, nil, rm), `removed WIN1\ada from Remote Desktop Users`)
	if got := l.host.State().LocalGroups["Remote Desktop Users"]; !slices.Equal(got, []string{`WIN1\bob`}) {
		t.Errorf("members: %q", got)
	}
	what, err := apply(t, l, nil, rm, 20*time.Second)
	if err != nil || what != `WIN1\ada was no longer in Remote Desktop Users` {
		t.Errorf("a second removal: %q, %v", what, err)
	}
	code, _, stderr := l.script(t, "localgroup-remove", map[string]string{"group": "Power Users", "member": "x"}, "")
	if code != 1 || !strings.HasPrefix(stderr, "Remove-LocalGroupMember : Group Power Users was not found.") {
		t.Errorf("unknown group: %d %q", code, stderr)
	}
	code, _, stderr = l.script(t, "localgroup-remove", map[string]string{"group": "Users", "member": `CORP\nobody`}, "")
	if code != 1 || !strings.HasPrefix(stderr, `Remove-LocalGroupMember : Principal CORP\nobody was not found.`) {
		t.Errorf("unknown principal: %d %q", code, stderr)
	}
}

// login-revoke on Windows: the user leaves every sign-in group and every
// session of theirs is logged off; another user's are left alone. Before,
// the check says what access is left.
func TestLoginRevokeWindows(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Users: map[string]string{"ada": "pw", "bob": "pw"}})
	for _, g := range []string{"Remote Desktop Users", "Remote Management Users"} {
		converge(t, l, nil, &plan.Step{ID: "g", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: g, Member: `WIN1\ada`}})
	}
	converge(t, l, nil, &plan.Step{ID: "b", Kind: plan.KindLocalGroup, LocalGroup: &plan.LocalGroupSpec{Group: "Remote Desktop Users", Member: `WIN1\bob`}})
	l.host.SignIn("ada", false, false)
	l.host.SignIn("bob", true, false)
	l.host.SignIn("ada", true, true)
	rv := &plan.Step{ID: "rv", Kind: plan.KindLoginRevoke, LoginRevoke: &plan.LoginRevokeSpec{User: `WIN1\ada`}}
	st := check(t, l, nil, rv)
	mustContain(t, "before", st.Reason, "in the local groups Administrators, Remote Desktop Users, Remote Management Users", "signed in (sessions 1, 3)")
	if st.InPlace {
		t.Fatal("in place before revoking")
	}
	mustContain(t, "revoke", converge(t, l, nil, rv), "removed from 3 local groups", "2 sessions logged off")
	s := l.host.State()
	for g, members := range s.LocalGroups {
		if slices.Contains(members, `WIN1\ada`) {
			t.Errorf("ada is still in %s", g)
		}
	}
	if !slices.Contains(s.LocalGroups["Remote Desktop Users"], `WIN1\bob`) || !slices.Contains(s.LocalGroups["Administrators"], `WIN1\bob`) {
		t.Errorf("bob's groups changed: %q", s.LocalGroups)
	}
	if got := l.host.Sessions(); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("sessions left: %q", got)
	}
	mustContain(t, "after", check(t, l, nil, rv).Reason, "is in none of the local groups", "and has no session")
	// onboard's own login is never revoked.
	self := &plan.Step{ID: "self", Kind: plan.KindLoginRevoke, LoginRevoke: &plan.LoginRevokeSpec{User: l.target.Host.User}}
	if _, err := apply(t, l, nil, self, 10*time.Second); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("revoking onboard's own login: %v", err)
	}
}

// home-archive is a Linux kind: on Windows it refuses before running
// anything.
func TestHomeArchiveRefusedOnWindows(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{})
	s := &plan.Step{ID: "arch", Kind: plan.KindHomeArchive, HomeArchive: &plan.HomeArchiveSpec{User: "ada", Home: "/home/ada", Archive: "/srv/ada.tar.gz"}}
	before := len(l.host.State().Commands)
	if _, err := apply(t, l, nil, s, 10*time.Second); err == nil || !strings.Contains(err.Error(), "runs on Linux hosts only") {
		t.Errorf("home-archive on Windows: %v", err)
	}
	if after := l.host.State().Commands; len(after) != before {
		t.Errorf("commands ran: %q", after[before:])
	}
}
