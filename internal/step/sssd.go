package step

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// Domain logins after a Linux join (machine.domain_join.logins: sssd):
// SSSD's AD provider, with the host keytab adcli wrote, answers NSS
// (getent passwd) and PAM (who may log in) for the domain. Adapted from
// the lab's (docs/lab.md): IDs are mapped from SIDs, as the accounts
// onboard makes in Active Directory carry no uidNumber, unless the
// directory gives its accounts POSIX attributes (JoinSpec.PosixIDs: the
// accounts' uidNumber and gidNumber count, ldap_id_mapping = False, and
// an account without them does not resolve); the DC is found by
// DNS (the pinned server's name when it is one: Kerberos needs a name, not
// an address); GPO-based access control is off, so the domain's access
// decision is the account's (a disabled account may not log in). SSSD
// authenticates as the computer account exactly as adcli named it in the
// keytab (its own guess is the upper-cased short name, then host/FQDN,
// which a Samba KDC does not take as a client).

// sssdConfPath is SSSD's configuration; SSSD refuses one not of mode 0600.
const sssdConfPath = "/etc/sssd/sssd.conf"

// sssdConf is the sssd.conf a join with domain logins writes.
func sssdConf(j *plan.JoinSpec, server string) string {
	domain := strings.ToLower(j.Domain)
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by onboard (machine.domain_join.logins: sssd).
[sssd]
config_file_version = 2
services = nss, pam
domains = %[1]s

[domain/%[1]s]
id_provider = ad
access_provider = ad
ad_domain = %[1]s
`, domain)
	if dc := dcAddress(server); dc != "" && net.ParseIP(dc) == nil {
		fmt.Fprintf(&b, "ad_server = %s, _srv_\n", dc)
	}
	fmt.Fprintf(&b, `ad_hostname = %s
krb5_realm = %s
krb5_keytab = /etc/krb5.keytab
ldap_sasl_authid = %s$@%s
ldap_id_mapping = %s
use_fully_qualified_names = False
fallback_homedir = /home/%%u
default_shell = /bin/bash
cache_credentials = False
dyndns_update = False
ad_gpo_access_control = disabled
`, strings.ToLower(j.FQDN), strings.ToUpper(j.Domain), j.Computer, strings.ToUpper(j.Domain), map[bool]string{false: "True", true: "False"}[j.PosixIDs])
	return b.String()
}

// krb5Conf names the realm for the host's Kerberos tools; its KDCs are
// found through DNS.
func krb5Conf(realm string) string {
	return "# Written by onboard (machine.domain_join.logins: sssd).\n[libdefaults]\n\tdefault_realm = " + realm +
		"\n\tdns_lookup_kdc = true\n\tdns_lookup_realm = false\n\trdns = false\n"
}

// sssdStateScript reports what the logins need, one fact a line, then
// sssd.conf after a separator. $1: a user who must resolve (or "").
const sssdStateScript = `m=$(stat -c %a /etc/sssd/sssd.conf 2>/dev/null) || m=none
echo "mode=$m"
if grep -qE '^passwd:.*[[:space:]]sss([[:space:]]|$)' /etc/nsswitch.conf 2>/dev/null; then echo nss=yes; else echo nss=no; fi
if [ -s /run/sssd.pid ] && kill -0 "$(cat /run/sssd.pid)" 2>/dev/null; then echo running=yes; else echo running=no; fi
if [ -n "$1" ]; then if getent passwd -- "$1" >/dev/null; then echo resolves=yes; else echo resolves=no; fi; fi
echo --
cat /etc/sssd/sssd.conf 2>/dev/null`

// sssdApplyScript writes the configuration ($1 sssd.conf, $2 krb5.conf,
// $3 the realm), puts sss into NSS and PAM, and (re)starts sssd. When the
// ID mode changes (mapped from SIDs, or the directory's uidNumber), SSSD's
// cache holds users with the other mode's IDs: it is emptied while sssd is
// stopped.
const sssdApplyScript = `set -e
command -v sssd >/dev/null || { echo "sssd is not installed (Debian: sssd-ad, libnss-sss, libpam-sss)" >&2; exit 127; }
grep -qs "default_realm = $3\$" /etc/krb5.conf || printf '%s' "$2" >/etc/krb5.conf
mkdir -p /etc/sssd
ids_was=$(grep -s '^ldap_id_mapping' /etc/sssd/sssd.conf || true)
umask 077
printf '%s' "$1" >/etc/sssd/sssd.conf.onboard
chmod 600 /etc/sssd/sssd.conf.onboard
mv /etc/sssd/sssd.conf.onboard /etc/sssd/sssd.conf
sed -i -E '/^(passwd|group|shadow):/{/[[:space:]]sss([[:space:]]|$)/!s/$/ sss/}' /etc/nsswitch.conf
if command -v pam-auth-update >/dev/null; then DEBIAN_FRONTEND=noninteractive pam-auth-update --enable sss; fi
ids_now=$(grep '^ldap_id_mapping' /etc/sssd/sssd.conf || true)
if [ -d /run/systemd/system ]; then
	systemctl enable sssd >/dev/null 2>&1 || true
	if [ -n "$ids_was" ] && [ "$ids_was" != "$ids_now" ]; then systemctl stop sssd; rm -f /var/lib/sss/db/cache_*.ldb; fi
	systemctl restart sssd
else
	if [ -s /run/sssd.pid ]; then kill "$(cat /run/sssd.pid)" 2>/dev/null || true; sleep 0.5; fi
	if [ -n "$ids_was" ] && [ "$ids_was" != "$ids_now" ]; then rm -f /var/lib/sss/db/cache_*.ldb; fi
	rm -f /var/lib/sss/mc/*
	sssd -D --logger=files
fi`

func sssdStateCommand(user string) string { return script(sssdStateScript, user) }

func sssdApplyCommand(j *plan.JoinSpec, server string) string {
	realm := strings.ToUpper(j.Domain)
	return script(sssdApplyScript, sssdConf(j, server), krb5Conf(realm), realm)
}

// sssdState says what stands between the host and domain logins, or "".
func sssdState(ctx context.Context, x *Exec, j *plan.JoinSpec) (string, error) {
	out, err := x.Run(ctx, sssdStateCommand(j.User), true, "")
	if err != nil {
		return "", err
	}
	if out.ExitCode != 0 {
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "read the SSSD state"}
	}
	facts, conf, _ := strings.Cut(out.Stdout, "--\n")
	var lack []string
	if strings.TrimSpace(conf) != strings.TrimSpace(sssdConf(j, x.D.Client.Server())) {
		lack = append(lack, sssdConfPath+" is not onboard's for "+j.Domain)
	}
	for _, f := range strings.Fields(facts) {
		switch f {
		case "nss=no":
			lack = append(lack, "nsswitch.conf does not ask sss for users")
		case "running=no":
			lack = append(lack, "sssd is not running")
		case "resolves=no":
			lack = append(lack, j.User+" does not resolve (getent passwd)")
		default:
			if m, ok := strings.CutPrefix(f, "mode="); ok && m != "600" && m != "none" {
				lack = append(lack, fmt.Sprintf("%s has mode %s, want 0600", sssdConfPath, m))
			}
		}
	}
	return strings.Join(lack, "; "), nil
}

// configureSSSD writes SSSD's configuration and starts it, then waits
// (up to 30s) until the domain answers for the hire: SSSD goes online a
// moment after it starts.
func configureSSSD(ctx context.Context, x *Exec, j *plan.JoinSpec) error {
	out, err := x.Run(ctx, sssdApplyCommand(j, x.D.Client.Server()), true, "")
	if err != nil {
		return err
	}
	if out.ExitCode != 0 {
		return &CommandError{Host: x.T.Host.Name, Out: out, Msg: "configure SSSD"}
	}
	if j.User == "" {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := x.Run(ctx, shell.Cmd("getent passwd --", j.User), false, "")
		if err != nil {
			return err
		}
		if out.ExitCode == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("SSSD on %s is configured and started, but %s does not resolve after 30s (getent passwd exit %d)", x.T.Host.Name, j.User, out.ExitCode)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
