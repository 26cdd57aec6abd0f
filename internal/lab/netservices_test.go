package lab

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNetworkServices checks, from inside the workstations, what the
// handover checks rely on: the lab's DNS, the intranet site over verified
// HTTPS, the mail and VPN ports, the firewall and the update settings, and
// that each can be switched off and on.
func TestNetworkServices(t *testing.T) {
	integration(t)
	l := ForTest(t, Config{Name: "labsv", Subnet: 246})
	t.Logf("lab up: %s", l.timingReport())
	ctx := context.Background()
	const intranetAddr, mailAddr, vpnAddr = "10.213.246.5", "10.213.246.6", "10.213.246.7"

	// run runs a command in a workstation and returns its stdout and exit
	// code (0, or that of the *exec.ExitError).
	run := func(t *testing.T, ws, cmd string) (string, int) {
		t.Helper()
		out, _, err := l.Exec(ctx, ws, cmd)
		var exit *exec.ExitError
		switch {
		case err == nil:
			return out, 0
		case errors.As(err, &exit):
			return out, exit.ExitCode()
		}
		t.Fatalf("%s: %q: %v", ws, cmd, err)
		return "", 0
	}
	mustRun := func(t *testing.T, ws, cmd string) string {
		t.Helper()
		out, stderr, err := l.Exec(ctx, ws, cmd)
		if err != nil {
			t.Fatalf("%s: %q: %v\n%s", ws, cmd, err, stderr)
		}
		return out
	}
	resolves := func(t *testing.T, name, want string) {
		t.Helper()
		out, code := run(t, "ws1", "getent hosts "+name)
		if f := strings.Fields(out); code != 0 || len(f) < 2 || f[0] != want {
			t.Errorf("getent hosts %s: %q exit %d, want %s", name, out, code, want)
		}
	}
	// portAnswers connects from ws1 with bash's /dev/tcp.
	portAnswers := func(t *testing.T, host string, port int) bool {
		t.Helper()
		_, code := run(t, "ws1", "timeout 5 bash -c 'exec 3<>/dev/tcp/"+host+"/"+strconv.Itoa(port)+"'")
		return code == 0
	}
	https := func(t *testing.T, path string) string {
		t.Helper()
		out, _ := run(t, "ws1", "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "+IntranetURL(path))
		return out
	}

	t.Run("dns serves the lab's names and nothing else", func(t *testing.T) {
		if got := l.Names()["intranet.corp.example.test"]; got != intranetAddr {
			t.Errorf("Names()[intranet] = %q", got)
		}
		for name, want := range map[string]string{
			"intranet.corp.example.test": intranetAddr, "intranet": intranetAddr,
			"mail.corp.example.test": mailAddr, "vpn.corp.example.test": vpnAddr,
			"print01.corp.example.test": "10.213.246.2", "ws2.corp.example.test": "10.213.246.12",
		} {
			resolves(t, name, want)
		}
		// By DNS, not /etc/hosts.
		if out, code := run(t, "ws1", "grep -c intranet /etc/hosts"); code != 1 {
			t.Errorf("/etc/hosts names the intranet: %q", out)
		}
		for _, name := range []string{"nosuch.corp.example.test", "nosuch", "example.com"} {
			if out, code := run(t, "ws1", "getent hosts "+name); code != 2 {
				t.Errorf("getent hosts %s: %q exit %d, want 2 (not found)", name, out, code)
			}
		}
		_, err := l.Resolver().LookupHost(ctx, "nosuch.corp.example.test")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("lookup of an unknown lab name: %v, want NXDOMAIN", err)
		}
	})

	t.Run("intranet answers over https verified by the system trust store", func(t *testing.T) {
		if got := https(t, IntranetPath); got != "200" {
			t.Errorf("GET %s: %q, want 200", IntranetPath, got)
		}
		if got := https(t, IntranetMissingPath); got != "404" {
			t.Errorf("GET %s: %q, want 404", IntranetMissingPath, got)
		}
		// Python's ssl uses the hashed folder: the CA is found there too.
		out := mustRun(t, "ws1", `python3 -c "import urllib.request; print(urllib.request.urlopen('`+IntranetURL(IntranetPath)+`').status)"`)
		if out != "200\n" {
			t.Errorf("python3 urlopen: %q", out)
		}
		// With a store that lacks the lab CA, verification fails.
		if out, code := run(t, "ws1", "curl -sS -o /dev/null --cacert /etc/ssl/certs/ISRG_Root_X1.pem --capath /var/lib/dpkg/alternatives "+IntranetURL(IntranetPath)); code != 60 {
			t.Errorf("curl without the lab CA: %q exit %d, want 60 (certificate not verified)", out, code)
		}
	})

	t.Run("the trust files are what update-ca-certificates makes", func(t *testing.T) {
		const files = "sha256sum /etc/ssl/certs/ca-certificates.crt; ls -l /etc/ssl/certs | grep -c onboard-lab-ca"
		before := mustRun(t, "ws2", files)
		out := mustRun(t, "ws2", "update-ca-certificates")
		after := mustRun(t, "ws2", files)
		if before != after || !strings.HasSuffix(before, "\n2\n") {
			t.Errorf("update-ca-certificates changed the lab's trust files (%s):\nbefore %s\nafter  %s", out, before, after)
		}
		if !strings.Contains(out, "0 added, 0 removed") {
			t.Errorf("update-ca-certificates found something to do: %s", out)
		}
	})

	t.Run("mail and vpn ports answer and close", func(t *testing.T) {
		for _, p := range []struct {
			host string
			port int
		}{{"mail", MailPort}, {"mail", MailSubmissionPort}, {"vpn.corp.example.test", VPNPort}} {
			if !portAnswers(t, p.host, p.port) {
				t.Errorf("%s:%d does not answer", p.host, p.port)
			}
		}
		if portAnswers(t, "vpn", 25) {
			t.Error("vpn:25 answers; only 1194 should")
		}
		if err := l.StopService(ctx, ServiceVPN); err != nil {
			t.Fatal(err)
		}
		if portAnswers(t, "vpn", VPNPort) {
			t.Error("vpn answers after StopService")
		}
		if !portAnswers(t, "mail", MailPort) {
			t.Error("stopping the vpn closed the mail port")
		}
		if err := l.StartService(ctx, ServiceVPN); err != nil {
			t.Fatal(err)
		}
		if !portAnswers(t, "vpn", VPNPort) {
			t.Error("vpn does not answer after StartService")
		}
	})

	t.Run("intranet stops and starts", func(t *testing.T) {
		if err := l.StopService(ctx, ServiceIntranet); err != nil {
			t.Fatal(err)
		}
		if got := https(t, IntranetPath); got != "000" {
			t.Errorf("GET after StopService: %q, want no answer (000)", got)
		}
		if err := dialRefused(intranetAddr + ":443"); err != nil {
			t.Error(err)
		}
		if err := l.StartService(ctx, ServiceIntranet); err != nil {
			t.Fatal(err)
		}
		if got := https(t, IntranetPath); got != "200" {
			t.Errorf("GET after StartService: %q, want 200", got)
		}
	})

	t.Run("dns stops and starts", func(t *testing.T) {
		if err := l.StopService(ctx, ServiceDNS); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if out, code := run(t, "ws1", "getent hosts intranet"); code != 2 {
			t.Errorf("getent with the DNS server stopped: %q exit %d", out, code)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("a lookup with the DNS server stopped took %s", took)
		}
		if err := l.StartService(ctx, ServiceDNS); err != nil {
			t.Fatal(err)
		}
		resolves(t, "intranet", intranetAddr)
	})

	t.Run("set name points mail elsewhere", func(t *testing.T) {
		if err := l.SetName(ctx, NameMail, "10.213.246.1"); err != nil {
			t.Fatal(err)
		}
		resolves(t, "mail.corp.example.test", "10.213.246.1")
		if err := l.SetName(ctx, "mail", "192.0.2.1"); err == nil {
			t.Error("SetName to an address outside the lab succeeded")
		}
		o, err := Open(Config{Name: "labsv"})
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := o.Addr(NameMail); a != "10.213.246.1" {
			t.Errorf("Open: mail at %q, want the address SetName gave", a)
		}
		if err := l.SetName(ctx, NameMail, mailAddr); err != nil {
			t.Fatal(err)
		}
		resolves(t, "mail", mailAddr)
	})

	t.Run("firewall drops what it does not allow and switches off", func(t *testing.T) {
		rules := mustRun(t, "ws1", "nft list ruleset")
		for _, want := range []string{"policy drop;", FirewallRule} {
			if !strings.Contains(rules, want) {
				t.Errorf("ws1 ruleset lacks %q:\n%s", want, rules)
			}
		}
		ws1 := l.Workstations[0].Addr
		mustRun(t, "ws1", "setsid python3 -m http.server --bind "+ws1+" 8080 </dev/null >/dev/null 2>&1 &")
		if err := waitTCP(ctx, ws1+":22", time.Second); err != nil {
			t.Fatal(err)
		}
		// Dropped: no answer, not even a refusal.
		if c, err := net.DialTimeout("tcp", ws1+":8080", time.Second); err == nil {
			c.Close()
			t.Error("port 8080 answers through the firewall")
		} else if !os.IsTimeout(err) {
			t.Errorf("port 8080 through the firewall: %v, want a time-out (dropped)", err)
		}
		if err := l.StopFirewall(ctx, "ws1"); err != nil {
			t.Fatal(err)
		}
		if out := mustRun(t, "ws1", "nft list ruleset"); out != "" {
			t.Errorf("ruleset after StopFirewall: %q", out)
		}
		if err := waitTCP(ctx, ws1+":8080", 5*time.Second); err != nil {
			t.Errorf("port 8080 without the firewall: %v", err)
		}
		if !strings.Contains(mustRun(t, "ws2", "nft list ruleset"), FirewallRule) {
			t.Error("StopFirewall on ws1 changed ws2's ruleset")
		}
		if err := l.StartFirewall(ctx, "ws1"); err != nil {
			t.Fatal(err)
		}
		if out := mustRun(t, "ws1", "nft list ruleset"); !strings.Contains(out, FirewallRule) || strings.Count(out, "table inet filter") != 1 {
			t.Errorf("ruleset after StartFirewall:\n%s", out)
		}
		// ssh still answers with the firewall on.
		if out := mustSSH(t, l, l.Workstations[0], "id -un"); out != "onboard\n" {
			t.Errorf("ssh with the firewall on: %q", out)
		}
	})

	t.Run("baseline settings are in place", func(t *testing.T) {
		out := mustRun(t, "ws1", "apt-config dump APT::Periodic; dpkg-query -W -f='${Package} ${Status}\\n' unattended-upgrades nftables; "+
			"test -f /etc/apt/apt.conf.d/50unattended-upgrades && echo conf-ok; sshd -T | grep -E '^(permitrootlogin|passwordauthentication) '")
		for _, want := range []string{
			`APT::Periodic::Unattended-Upgrade "1";`, `APT::Periodic::Update-Package-Lists "1";`,
			"unattended-upgrades install ok installed", "nftables install ok installed", "conf-ok",
			"permitrootlogin no", "passwordauthentication no",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("ws1 lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("inventory lists the names", func(t *testing.T) {
		b, err := os.ReadFile(l.InventoryFile)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "#   intranet.corp.example.test   10.213.246.5  HTTPS 443\n") {
			t.Errorf("inventory lacks the intranet:\n%s", b)
		}
	})
}
