package step

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/shell"
)

// LoginRevoke ends a leaver's access on a workstation, and its check
// proves it from the machine's side.
//
// Linux: a local account is locked and expired (so neither a password nor
// a key signs in: sshd without PAM refuses a locked account's keys too);
// a domain account is denied by the machine's SSSD access filter (a
// snippet of onboard's in /etc/sssd/conf.d, listing every leaver denied,
// which the join step's own sssd.conf check leaves alone). Then the
// user's processes are ended and their authorized_keys removed. The check
// asks su, as root, to run true as the user: PAM's account phase (the
// expiry, or SSSD's access decision) must refuse it; and no process of
// the user runs, no authorized_keys is left.
//
// Windows: the user leaves every local group that grants sign-in and
// their sessions are logged off. A domain user may still sign in through
// a group such as Domain Users in Users: that access ends with the
// account in the directory (the directory's leaver steps).
type LoginRevoke struct{}

// leaversConf is the SSSD snippet that denies leavers on this machine.
const leaversConf = "/etc/sssd/conf.d/onboard-leavers.conf"

// leaversMark starts the line that names one denied leaver in leaversConf.
const leaversMark = "# deny: "

// leaversSnippet is leaversConf denying users (sorted, distinct) in the
// SSSD domain: the AD access provider then refuses them on top of its own
// rules (an expired or disabled account).
func leaversSnippet(domain string, users []string) string {
	users = slices.Clone(users)
	slices.Sort(users)
	users = slices.Compact(users)
	var b strings.Builder
	b.WriteString("# Written by onboard (login-revoke): leavers who may not sign in on this machine.\n")
	var f strings.Builder
	for _, u := range users {
		b.WriteString(leaversMark + u + "\n")
		f.WriteString("(sAMAccountName=" + ldap.EscapeFilter(u) + ")")
	}
	fmt.Fprintf(&b, "[domain/%s]\nad_access_filter = (!(|%s))\n", strings.ToLower(domain), f.String())
	return b.String()
}

// deniedUsers reads the leavers a snippet denies.
func deniedUsers(conf string) []string {
	var users []string
	for _, line := range strings.Split(conf, "\n") {
		if u, ok := strings.CutPrefix(line, leaversMark); ok && u != "" {
			users = append(users, u)
		}
	}
	return users
}

// revokeStateScript prints what stands between $1 and a sign-in, one
// fact a line: resolves, login (su as the user), processes, keys, and
// for a local account ($2 = local) locked and expired, for a domain one
// denied (in leaversConf). Exit 127: a tool is missing; 3: getent failed.
const revokeStateScript = `command -v getent >/dev/null || { echo "getent: not found" >&2; exit 127; }
command -v su >/dev/null || { echo "su: not found" >&2; exit 127; }
if [ "$2" = domain ]; then
	if grep -qsxF -- "# deny: $1" ` + leaversConf + `; then echo denied=yes; else echo denied=no; fi
fi
e=$(getent passwd -- "$1"); r=$?
[ "$r" -eq 2 ] && { echo resolves=no; exit 0; }
[ "$r" -eq 0 ] || { echo "getent passwd exited $r" >&2; exit 3; }
echo resolves=yes
uid=$(printf '%s\n' "$e" | cut -d: -f3)
home=$(printf '%s\n' "$e" | cut -d: -f6)
echo "uid=$uid"
if su -s /bin/sh -c true -- "$1" </dev/null >/dev/null 2>&1; then echo login=yes; else echo login=no; fi
n=0
for d in /proc/[0-9]*; do [ "$(stat -c %u "$d" 2>/dev/null)" = "$uid" ] && n=$((n+1)); done
echo "processes=$n"
if [ -e "$home/.ssh/authorized_keys" ] || [ -e "$home/.ssh/authorized_keys2" ]; then echo keys=yes; else echo keys=no; fi
if [ "$2" = local ]; then
	s=$(getent shadow -- "$1") || s=
	pw=$(printf '%s\n' "$s" | cut -d: -f2)
	exp=$(printf '%s\n' "$s" | cut -d: -f8)
	case "$pw" in '!'*) echo locked=yes ;; *) echo locked=no ;; esac
	if [ -n "$exp" ] && [ "$exp" -le $(( $(date +%s) / 86400 )) ]; then echo expired=yes; else echo expired=no; fi
fi`

// revokeApplyScript ends $1's access: $2 local (lock and expire) or
// domain ($3 is the new leaversConf; sssd restarted, its cached entries
// marked stale, not deleted: a laptop's cached credentials stay);
// then every process of the user is killed and the authorized_keys
// removed. It refuses uid 0.
const revokeApplyScript = `set -e
e=$(getent passwd -- "$1") || e=
uid=$(printf '%s\n' "$e" | cut -d: -f3)
home=$(printf '%s\n' "$e" | cut -d: -f6)
[ "$uid" != 0 ] || { echo "refusing to revoke $1: uid 0" >&2; exit 2; }
if [ "$2" = local ]; then
	[ -n "$e" ] || { echo "no account $1 on this machine" >&2; exit 2; }
	usermod -L -e 1 -- "$1"
else
	mkdir -p /etc/sssd/conf.d
	umask 077
	printf '%s' "$3" >` + leaversConf + `.onboard
	chmod 600 ` + leaversConf + `.onboard
	mv ` + leaversConf + `.onboard ` + leaversConf + `
	if [ -d /run/systemd/system ]; then
		systemctl restart sssd
	else
		if [ -s /run/sssd.pid ]; then kill "$(cat /run/sssd.pid)" 2>/dev/null || true; sleep 0.5; fi
		rm -f /var/lib/sss/mc/*
		sssd -D --logger=files
	fi
	sss_cache -E 2>/dev/null || true
fi
if [ -n "$uid" ]; then
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=
		for d in /proc/[0-9]*; do [ "$(stat -c %u "$d" 2>/dev/null)" = "$uid" ] && pids="$pids ${d#/proc/}"; done
		[ -n "$pids" ] || break
		kill -KILL $pids 2>/dev/null || true
		sleep 0.2
	done
	[ -z "$pids" ] || { echo "processes of $1 still run:$pids" >&2; exit 4; }
	rm -f -- "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"
fi`

func revokeMode(l *plan.LoginRevokeSpec) string {
	if l.Domain != "" {
		return "domain"
	}
	return "local"
}

// revokeFacts reads revokeStateScript's answer.
func revokeFacts(out Out) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(out.Stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			f[k] = v
		}
	}
	return f
}

// revokeVerdict says whether the user's access has ended, with what was
// seen as evidence.
func revokeVerdict(l *plan.LoginRevokeSpec, f map[string]string) State {
	var left, seen []string
	domain := l.Domain != ""
	if domain {
		if f["denied"] == "yes" {
			seen = append(seen, "denied by the SSSD access filter")
		} else {
			left = append(left, "not denied by the SSSD access filter")
		}
	}
	if f["resolves"] == "no" {
		seen = append(seen, "does not resolve (getent passwd)")
		if len(left) == 0 {
			return inPlace(fmt.Sprintf("%s cannot sign in: %s", l.User, strings.Join(seen, ", ")))
		}
		return toRemove(fmt.Sprintf("%s: %s; %s", l.User, strings.Join(left, ", "), strings.Join(seen, ", ")))
	}
	fact := func(key, bad, badSays, goodSays string) {
		if f[key] == bad {
			left = append(left, badSays)
		} else {
			seen = append(seen, goodSays)
		}
	}
	fact("login", "yes", "su as the user still works", "su as the user is refused")
	if !domain {
		fact("locked", "no", "the account is not locked", "locked")
		fact("expired", "no", "the account has not expired", "expired")
	}
	if n := f["processes"]; n != "0" {
		left = append(left, n+" processes of the user run")
	} else {
		seen = append(seen, "no process of the user")
	}
	fact("keys", "yes", "authorized_keys is still there", "no authorized_keys")
	if len(left) > 0 {
		return toRemove(fmt.Sprintf("%s can still sign in or has access: %s (seen: %s)", l.User, strings.Join(left, ", "), strings.Join(seen, ", ")))
	}
	return inPlace(fmt.Sprintf("%s (uid %s) cannot sign in: %s", l.User, f["uid"], strings.Join(seen, ", ")))
}

func (k LoginRevoke) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	l := s.LoginRevoke
	if x.T.Host.OS == "windows" {
		return winRevokeCheck(ctx, x, l)
	}
	out, err := x.Run(ctx, script(revokeStateScript, l.User, revokeMode(l)), true, "")
	if err != nil {
		return State{}, err
	}
	switch out.ExitCode {
	case 0:
	case 126, 127:
		return toolMissing(out), nil
	default:
		return State{}, &CommandError{Host: x.T.Host.Name, Out: out, Msg: "read the sign-in state of " + l.User}
	}
	return revokeVerdict(l, revokeFacts(out)), nil
}

func (k LoginRevoke) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	l := s.LoginRevoke
	if strings.EqualFold(l.User, x.T.Host.User) || l.User == "" || l.User == "root" || strings.ContainsAny(l.User, "\n\r\x00") {
		return "", fmt.Errorf("%s: refusing to revoke the sign-in of %q (onboard's own login, root, or not a name)", x.T.Host.Name, l.User)
	}
	if x.T.Host.OS == "windows" {
		return winRevokeApply(ctx, x, l)
	}
	conf := ""
	if l.Domain != "" {
		out, err := x.Must(ctx, "read "+leaversConf, shell.Cmd("cat", leaversConf)+" 2>/dev/null; true", true)
		if err != nil {
			return "", err
		}
		conf = leaversSnippet(l.Domain, append(deniedUsers(out.Stdout), l.User))
	}
	if _, err := x.Must(ctx, "revoke the sign-in of "+l.User, script(revokeApplyScript, l.User, revokeMode(l), conf), true); err != nil {
		return "", err
	}
	x.T.Invalidate()
	if l.Domain != "" {
		return fmt.Sprintf("denied %s in SSSD's access filter, ended their processes, removed their authorized_keys", l.User), nil
	}
	return fmt.Sprintf("locked and expired %s, ended their processes, removed their authorized_keys", l.User), nil
}

// Verify checks again until the revocation shows: a restarted SSSD takes
// a few seconds to answer for the domain again.
func (k LoginRevoke) Verify(ctx context.Context, x *Exec, s *plan.Step) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := k.Check(ctx, x, s)
		if err != nil {
			return err
		}
		if st.InPlace {
			return nil
		}
		if s.LoginRevoke.Domain == "" || time.Now().After(deadline) || x.NoRetry {
			return fmt.Errorf("%s: after revoking: %s", x.T.Host.Name, st.Reason)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		x.T.Invalidate()
	}
}

// Windows: the sign-in groups the user is in, and their sessions as
// quser lists them (USERNAME SESSIONNAME ID STATE IDLE LOGON: the ID is
// the first all-digit word after the name; a disconnected session has no
// SESSIONNAME). With nobody signed in, quser writes "No User exists for *"
// to stderr and exits 1; Windows PowerShell 5.1 makes redirected native
// stderr error records, which 'Stop' would make fatal, so quser runs under
// 'Continue'. A host without quser fails the step: who is signed in
// cannot be told.
const psSessions = `if (-not (Get-Command -Name 'quser.exe' -ErrorAction SilentlyContinue)) { throw 'quser.exe is not on this host: onboard cannot tell who is signed in' }
$ErrorActionPreference = 'Continue'
$quser = @(& quser.exe 2>$null)
$ErrorActionPreference = 'Stop'
$sessions = @()
foreach ($line in @($quser | Select-Object -Skip 1)) {
    $words = @(-split ([string]$line).TrimStart('>', ' '))
    if ($words.Count -lt 3 -or $words[0] -ne $in.session_name) { continue }
    foreach ($w in $words[1..($words.Count - 1)]) {
        if ($w -match '^\d+$') { $sessions += [int]$w; break }
    }
}
`

const psLoginRevokeCheck = `$groups = @()
foreach ($g in $in.groups) {
    if (-not (Get-LocalGroup -Name $g -ErrorAction SilentlyContinue)) { continue }
    foreach ($m in (Get-LocalGroupMember -Group $g -ErrorAction Stop)) {
        if ($m.Name -eq $in.member) { $groups += $g }
    }
}
` + psSessions + `[pscustomobject]@{ groups = @($groups); sessions = @($sessions) } | ConvertTo-Json -Compress
`

const psLoginRevokeApply = `$groups = @()
foreach ($g in $in.groups) {
    if (-not (Get-LocalGroup -Name $g -ErrorAction SilentlyContinue)) { continue }
    foreach ($m in (Get-LocalGroupMember -Group $g -ErrorAction Stop)) {
        if ($m.Name -eq $in.member) {
            Remove-LocalGroupMember -Group $g -Member $m -ErrorAction Stop
            $groups += $g
        }
    }
}
` + psSessions + `foreach ($id in $sessions) { & logoff.exe $id }
[pscustomobject]@{ groups = @($groups); sessions = @($sessions) } | ConvertTo-Json -Compress
`

type winRevoke struct {
	Groups   []string `json:"groups"`
	Sessions []int    `json:"sessions"`
}

func loginRevokeData(l *plan.LoginRevokeSpec) map[string]any {
	return map[string]any{"member": l.User, "session_name": sessionName(l.User), "groups": l.WindowsGroups()}
}

func winRevokeCheck(ctx context.Context, x *Exec, l *plan.LoginRevokeSpec) (State, error) {
	var r winRevoke
	if _, err := x.psResult(ctx, "read the sign-in of "+l.User, powershell.Script{Op: "login-revoke-check", Body: psLoginRevokeCheck, Data: loginRevokeData(l)}, nil, &r); err != nil {
		return State{}, err
	}
	var left []string
	if len(r.Groups) > 0 {
		left = append(left, "in the local groups "+strings.Join(r.Groups, ", "))
	}
	if len(r.Sessions) > 0 {
		left = append(left, "signed in (sessions "+joinInts(r.Sessions)+")")
	}
	if len(left) > 0 {
		return toRemove(fmt.Sprintf("%s: %s", l.User, strings.Join(left, "; "))), nil
	}
	return inPlace(fmt.Sprintf("%s is in none of the local groups %s and has no session", l.User, strings.Join(l.WindowsGroups(), ", "))), nil
}

func winRevokeApply(ctx context.Context, x *Exec, l *plan.LoginRevokeSpec) (string, error) {
	var r winRevoke
	if _, err := x.psResult(ctx, "revoke the sign-in of "+l.User, powershell.Script{Op: "login-revoke-apply", Body: psLoginRevokeApply, Data: loginRevokeData(l)}, nil, &r); err != nil {
		return "", err
	}
	what := fmt.Sprintf("%s: removed from %d local groups", l.User, len(r.Groups))
	if len(r.Groups) > 0 {
		what += " (" + strings.Join(r.Groups, ", ") + ")"
	}
	what += fmt.Sprintf(", %d sessions logged off", len(r.Sessions))
	return what, nil
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// HomeArchive writes a tar.gz of a leaver's home to a path on the same
// host (mode 0600, its folder made 0700 if missing) and proves it: the
// archive reads back and lists every file the home holds. It never
// deletes or changes the home.
type HomeArchive struct{}

// archiveStateScript compares the files under $1 with what the archive $2
// lists: home=missing, archive=missing or unreadable, else files=N
// missing=M first=<a file the archive lacks>.
const archiveStateScript = `[ -d "$1" ] || { echo home=missing; exit 0; }
[ -f "$2" ] || { echo archive=missing; exit 0; }
t=$(mktemp -d) || exit 3
trap 'rm -rf "$t"' EXIT
if ! tar -tzf "$2" >"$t/listed" 2>"$t/err"; then echo archive=unreadable; tail -n 3 "$t/err"; exit 0; fi
(cd "$1" && find . -type f) | LC_ALL=C sort >"$t/files" || exit 3
LC_ALL=C sort "$t/listed" >"$t/sorted"
echo "files=$(wc -l <"$t/files")"
echo "missing=$(LC_ALL=C comm -23 "$t/files" "$t/sorted" | wc -l)"
echo "first=$(LC_ALL=C comm -23 "$t/files" "$t/sorted" | head -n 1)"`

// archiveWriteScript archives $1 into $2 through a temporary file beside
// it, so that a run killed midway never leaves a partial archive at $2.
const archiveWriteScript = `set -e
[ -d "$1" ] || { echo "the home $1 does not exist" >&2; exit 2; }
d=$(dirname -- "$2")
[ -d "$d" ] || mkdir -p -m 0700 -- "$d"
umask 077
tar -czf "$2.onboard" -C "$1" .
chmod 600 "$2.onboard"
mv -f -- "$2.onboard" "$2"`

// usable refuses an archive the kind cannot make: a bad spec, or a host
// that is not Linux (its scripts are POSIX sh).
func (HomeArchive) usable(x *Exec, h *plan.HomeArchiveSpec) error {
	if x.T.Host.OS == "windows" {
		return fmt.Errorf("%s: home archive of %s: home-archive runs on Linux hosts only", x.T.Host.Name, h.User)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("%s: home archive of %s: %w", x.T.Host.Name, h.User, err)
	}
	return nil
}

func (k HomeArchive) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	h := s.HomeArchive
	if err := k.usable(x, h); err != nil {
		return State{}, err
	}
	out, err := x.Run(ctx, script(archiveStateScript, h.Home, h.Archive), true, "")
	if err != nil {
		return State{}, err
	}
	if out.ExitCode != 0 {
		return State{}, &CommandError{Host: x.T.Host.Name, Out: out, Msg: "compare the home " + h.Home + " with the archive " + h.Archive}
	}
	f := revokeFacts(out)
	switch {
	case f["home"] == "missing":
		return missing(fmt.Sprintf("the home %s does not exist", h.Home)), nil
	case f["archive"] == "missing":
		return missing(fmt.Sprintf("%s does not exist", h.Archive)), nil
	case f["archive"] == "unreadable":
		return differs(fmt.Sprintf("%s does not read as a tar.gz: %s", h.Archive, oneLine(Tail(out.Stdout, 200)))), nil
	case f["missing"] != "0":
		return differs(fmt.Sprintf("%s lacks %s of the %s files of %s (first: %s)", h.Archive, f["missing"], f["files"], h.Home, f["first"])), nil
	}
	return inPlace(fmt.Sprintf("%s lists all %s files of %s", h.Archive, f["files"], h.Home)), nil
}

func (k HomeArchive) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	h := s.HomeArchive
	if err := k.usable(x, h); err != nil {
		return "", err
	}
	if _, err := x.Must(ctx, "archive "+h.Home, script(archiveWriteScript, h.Home, h.Archive), true); err != nil {
		return "", err
	}
	return fmt.Sprintf("archived %s to %s (%s kept)", h.Home, h.Archive, path.Base(h.Home)), nil
}
