package plan

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Host-side leaver kinds with specs of their own (the removal kinds of
// lifecycle.go reuse the spec they undo).
const (
	// KindLoginRevoke ends a leaver's access on a workstation.
	KindLoginRevoke = "login-revoke"
	// KindHomeArchive archives a leaver's home folder on the host; it is
	// explicit only (a playbook asks for it) and never deletes the home.
	KindHomeArchive = "home-archive"
)

// LoginRevokeSpec is a leaver's access on one workstation, to end.
//
// Linux: a local account (Domain empty) is locked and expired; a domain
// account (Domain set: the user signs in through SSSD) is denied by the
// machine's SSSD access filter. Either way the user's processes are ended
// and their authorized_keys removed.
//
// Windows: User (DOMAIN\name or a local name) leaves every local group of
// Groups (default SignInGroups) and their sessions are logged off.
type LoginRevokeSpec struct {
	User   string `json:"user"`
	Domain string `json:"domain,omitempty"` // Linux: the SSSD domain the user signs in through
	// Groups: Windows local groups that grant sign-in; empty means
	// SignInGroups.
	Groups []string `json:"groups,omitempty"`
}

// SignInGroups are the Windows local groups whose members may sign in
// (locally, by Remote Desktop or by WinRM), left by login-revoke.
var SignInGroups = []string{"Administrators", "Power Users", "Users", "Remote Desktop Users", "Remote Management Users"}

// WindowsGroups is the groups login-revoke leaves on Windows.
func (l *LoginRevokeSpec) WindowsGroups() []string {
	if len(l.Groups) > 0 {
		return l.Groups
	}
	return SignInGroups
}

// HomeArchiveSpec archives User's home folder (Home) to Archive, a
// tar.gz on the same host.
type HomeArchiveSpec struct {
	User    string `json:"user"`
	Home    string `json:"home"`
	Archive string `json:"archive"`
}

// Validate says whether the archive can be made safely: absolute paths,
// and an archive outside the home it archives.
func (h *HomeArchiveSpec) Validate() error {
	var errs []error
	for _, p := range []struct{ name, v string }{{"home", h.Home}, {"archive", h.Archive}} {
		if !strings.HasPrefix(p.v, "/") || path.Clean(p.v) != p.v || p.v == "/" {
			errs = append(errs, fmt.Errorf("%s must be a clean absolute path, got %q", p.name, p.v))
		}
	}
	if h.User == "" {
		errs = append(errs, errors.New("user is required"))
	}
	if !strings.HasSuffix(h.Archive, ".tar.gz") {
		errs = append(errs, fmt.Errorf("archive %q must end in .tar.gz", h.Archive))
	}
	if len(errs) == 0 && strings.HasPrefix(h.Archive, h.Home+"/") {
		errs = append(errs, fmt.Errorf("archive %s is inside the home %s it archives", h.Archive, h.Home))
	}
	return errors.Join(errs...)
}

// Removable says whether onboard can remove the package: one installed
// by the catalogue's own commands (manager command) needs an uninstall
// command, and an is_installed to prove it gone.
func (p *PackageSpec) Removable() error {
	if p.Manager == "command" && (p.Uninstall == "" || p.IsInstalled == "") {
		return fmt.Errorf("software %q (manager command) has no uninstall command in the catalogue: onboard cannot remove it", p.Name)
	}
	return nil
}
