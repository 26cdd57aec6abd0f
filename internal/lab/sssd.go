package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Domain logins on a Linux workstation: the image has SSSD (sssd-ad,
// libnss-sss, libpam-sss; Debian's packages put "sss" into nsswitch.conf
// and the PAM stacks). JoinDomain joins a workstation with adcli, as
// onboard's join step does, and StartSSSD configures and starts SSSD
// against the lab's DC, so that domain users resolve (`getent passwd NAME`)
// and the AD access provider decides whether they may log in (a disabled
// account may not). Users need their rfc2307 uidNumber: SSSD maps no IDs
// from SIDs here, as the directory holds the numbers onboard allocates.

// sssdConf is the workstation's /etc/sssd/sssd.conf (arguments: domain,
// DC name, realm, workstation FQDN). GPO-based access control is off: it
// would fetch policies over SMB from sysvol, which the lab does not seed.
const sssdConf = `# Written by the onboard lab.
[sssd]
config_file_version = 2
services = nss, pam
domains = %[1]s

[domain/%[1]s]
id_provider = ad
access_provider = ad
ad_domain = %[1]s
ad_server = %[2]s
ad_hostname = %[4]s
krb5_realm = %[3]s
krb5_keytab = /etc/krb5.keytab
ldap_id_mapping = False
use_fully_qualified_names = False
fallback_homedir = /home/%%u
default_shell = /bin/sh
cache_credentials = False
dyndns_update = False
ad_gpo_access_control = disabled
`

// krb5Conf is the workstation's /etc/krb5.conf: the realm's KDC is found
// through the lab's DNS (SRV records of the DC). A realm block on one line
// is not accepted by MIT krb5.
const krb5Conf = `# Written by the onboard lab.
[libdefaults]
	default_realm = %s
	dns_lookup_kdc = true
	dns_lookup_realm = false
	rdns = false
`

// JoinDomain joins workstation ws to the lab's Active Directory domain with
// adcli as the Administrator (the password goes on stdin), unless it is
// joined already (adcli testjoin). It needs Config.ActiveDirectory.
func (l *Lab) JoinDomain(ctx context.Context, ws string) error {
	h, err := l.host(ws)
	if err != nil {
		return err
	}
	ad, err := l.directory(ADName)
	if err != nil {
		return err
	}
	if _, _, err := l.execIn(ctx, h.netns, "adcli testjoin --domain="+adDomain+" --domain-controller="+ad.Addr+
		" --host-keytab=/etc/krb5.keytab >/dev/null 2>&1"); err == nil {
		return nil
	}
	join := "adcli join --domain=" + adDomain + " --domain-controller=" + ad.Addr +
		" --login-user=Administrator --stdin-password --host-fqdn=" + FQDN(ws) + " --host-keytab=/etc/krb5.keytab"
	if _, _, err := l.execInput(ctx, h.netns, join, ad.BindPassword+"\n"); err != nil {
		return fmt.Errorf("join %s to %s: %w", ws, adDomain, err)
	}
	return nil
}

// StartSSSD writes SSSD's and Kerberos's configuration on a joined
// workstation, (re)starts sssd and returns once it answers for the
// domain (the seeded manager ghopper, who has a uidNumber, resolves). It needs Config.ActiveDirectory.
func (l *Lab) StartSSSD(ctx context.Context, ws string) error {
	h, err := l.host(ws)
	if err != nil {
		return err
	}
	if _, err := l.directory(ADName); err != nil {
		return err
	}
	conf := fmt.Sprintf(sssdConf, adDomain, l.net.dc.dnsName, adRealm, FQDN(ws))
	script := fmt.Sprintf(`set -e
cat >/etc/krb5.conf <<'EOF'
%sEOF
umask 077
cat >/etc/sssd/sssd.conf <<'EOF'
%sEOF
if [ -s /run/sssd.pid ]; then kill "$(cat /run/sssd.pid)" 2>/dev/null || true; sleep 0.2; fi
rm -rf /var/lib/sss/db/* /var/lib/sss/mc/*
sssd -D --logger=files`, fmt.Sprintf(krb5Conf, adRealm), conf)
	if _, _, err := l.execIn(ctx, h.netns, script); err != nil {
		return fmt.Errorf("start sssd on %s: %w", ws, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		u := seedManagers[0].uid
		out, _, err := l.execIn(ctx, h.netns, "getent passwd "+u+" || true")
		if err == nil && strings.HasPrefix(out, u+":") {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logs, _, _ := l.execIn(ctx, h.netns, "tail -n 20 /var/log/sssd/*.log 2>&1")
			return fmt.Errorf("start sssd on %s: the domain does not answer after 30s: %s", ws, tail(logs, 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
