package step

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/plan"
)

// hostile are values as a playbook or a template may give them.
var hostile = []string{"plain", "it's", `a "b" $HOME $(id) ` + "`id`", "-n", "x; rm -rf /", "new\nline", ""}

// The commands each check kind sends, for plain and hostile values.
func TestCheckCommandsGolden(t *testing.T) {
	var b strings.Builder
	yes := true
	sec := plan.Duration(1500 * time.Millisecond)
	for _, v := range hostile {
		fmt.Fprintf(&b, "## value %q\n", v)
		fmt.Fprintf(&b, "dns:     %s\n", dnsCommand(&plan.DNSCheck{Name: v, Resolves: true, Timeout: sec}))
		fmt.Fprintf(&b, "tcp:     %s\n", tcpCommand(&plan.TCPCheck{Host: v, Port: 443, Reachable: true, Timeout: sec}))
		fmt.Fprintf(&b, "http:    %s\n", httpCommand(&plan.HTTPCheck{URL: "http://h/" + v, Status: 200, Timeout: sec}))
		fmt.Fprintf(&b, "service: %s\n", serviceCommand(&plan.ServiceCheck{Name: v, Running: &yes}))
		fmt.Fprintf(&b, "user:    %s\n", userCommand(&plan.UserCheck{Name: v, Exists: true}))
		fmt.Fprintf(&b, "group:   %s\n", groupCommand(&plan.GroupCheck{Name: v, Exists: true}))
		fmt.Fprintf(&b, "version: %s\n", versionCommand(v, ">=", v))
		fmt.Fprintf(&b, "login:   %s\n", loginCommand(&plan.LoginCheck{User: v, Workstation: true}))
	}
	fmt.Fprintf(&b, "## https, insecure, body read\n%s\n", httpCommand(&plan.HTTPCheck{URL: "https://intranet.lab/", Status: 200,
		Contains: []string{"Welcome"}, Insecure: true, Timeout: plan.Duration(10 * time.Second)}))
	golden.Assert(t, "testdata/check_commands.golden", []byte(b.String()))
}

// A script's arguments reach it as exactly the values given, whatever they
// hold: run through a real sh.
func TestScriptArgumentsAreData(t *testing.T) {
	cmd := script(`for a in "$@"; do printf '%s\0' "$a"; done`, hostile...)
	out, err := exec.Command("sh", "-c", cmd).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", hostile) {
		t.Errorf("arguments arrived as %q, want %q", got, hostile)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		if got := seconds(plan.Duration(d)); got != want {
			t.Errorf("seconds(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestDNSVerdict(t *testing.T) {
	ahosts := "10.213.5.2      STREAM lab-services\n10.213.5.2      DGRAM  \n10.213.5.2      RAW    \n::1             STREAM \n"
	tests := []struct {
		name string
		c    plan.DNSCheck
		out  Out
		want string // pass, fail, cannot-run, then the reason
	}{
		{"found", plan.DNSCheck{Name: "lab-services", Resolves: true}, Out{Stdout: ahosts},
			"pass: lab-services resolves to 10.213.5.2, ::1"},
		{"found, the address wanted", plan.DNSCheck{Name: "lab-services", Resolves: true, Addresses: []string{"::1"}}, Out{Stdout: ahosts},
			"pass: lab-services resolves to 10.213.5.2, ::1"},
		{"found, another address", plan.DNSCheck{Name: "lab-services", Resolves: true, Addresses: []string{"10.0.0.1", "::1"}}, Out{Stdout: ahosts},
			"fail: lab-services resolves to 10.213.5.2, ::1, want 10.0.0.1 among them"},
		{"not found", plan.DNSCheck{Name: "x.invalid", Resolves: true}, Out{ExitCode: 2},
			"fail: x.invalid does not resolve on the host (getent ahosts found no address)"},
		{"not found, as wanted", plan.DNSCheck{Name: "x.invalid"}, Out{ExitCode: 2},
			"pass: x.invalid does not resolve, as wanted"},
		{"found, unwanted", plan.DNSCheck{Name: "lab-services"}, Out{Stdout: ahosts},
			"fail: lab-services resolves to 10.213.5.2, ::1, want it not to resolve"},
		{"timed out", plan.DNSCheck{Name: "slow", Resolves: true, Timeout: plan.Duration(5 * time.Second)}, Out{ExitCode: 124},
			"fail: slow: no answer within 5s (getent ahosts timed out)"},
		{"no getent", plan.DNSCheck{Name: "a", Resolves: true}, Out{ExitCode: 127, Stderr: "timeout: failed to run command 'getent': No such file or directory"},
			"cannot-run: cannot run: a command it needs is not on the host (exit 127: timeout: failed to run command 'getent': No such file or directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := said(dnsVerdict(&tt.c, tt.out)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func said(st State) string {
	switch {
	case st.CannotRun:
		return "cannot-run: " + st.Reason
	case st.InPlace:
		return "pass: " + st.Reason
	}
	return "fail: " + st.Reason
}

func TestTCPVerdict(t *testing.T) {
	refused := "bash: connect: Connection refused\nbash: line 1: /dev/tcp/10.0.0.1/1: Connection refused\n"
	tests := []struct {
		name string
		c    plan.TCPCheck
		out  Out
		want string
	}{
		{"open", plan.TCPCheck{Host: "10.0.0.1", Port: 22, Reachable: true}, Out{}, "pass: 10.0.0.1:22 accepted a connection from the host"},
		{"open, unwanted", plan.TCPCheck{Host: "10.0.0.1", Port: 22}, Out{}, "fail: 10.0.0.1:22 accepted a connection from the host, want it closed"},
		{"refused", plan.TCPCheck{Host: "10.0.0.1", Port: 1, Reachable: true}, Out{ExitCode: 1, Stderr: refused}, "fail: 10.0.0.1:1: no connection: Connection refused"},
		{"refused, wanted", plan.TCPCheck{Host: "10.0.0.1", Port: 1}, Out{ExitCode: 1, Stderr: refused}, "pass: 10.0.0.1:1: no connection: Connection refused, as wanted"},
		{"silent", plan.TCPCheck{Host: "::1", Port: 9, Reachable: true, Timeout: plan.Duration(2 * time.Second)}, Out{ExitCode: 124}, "fail: [::1]:9 did not answer within 2s"},
		{"no bash", plan.TCPCheck{Host: "h", Port: 9, Reachable: true}, Out{ExitCode: 127, Stderr: "timeout: failed to run command 'bash'"}, "cannot-run: cannot run: a command it needs is not on the host (exit 127: timeout: failed to run command 'bash')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := said(tcpVerdict(&tt.c, tt.out)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// curlTLS is curl 7.88's verbose output (Debian 12, OpenSSL) for an https
// URL whose certificate the host does not trust, fetched with --insecure.
const curlTLS = `*   Trying 127.0.0.1:631...
* Connected to localhost (127.0.0.1) port 631 (#0)
* ALPN: offers h2,http/1.1
* TLSv1.3 (OUT), TLS handshake, Client hello (1):
* Server certificate:
*  subject: O=ws1; CN=ws1
*  start date: Dec  3 16:20:00 2026 GMT
*  expire date: Dec  3 16:20:00 2036 GMT
*  issuer: O=ws1; CN=ws1
*  SSL certificate verify result: self-signed certificate (18), continuing anyway.
> GET / HTTP/1.1
> Host: localhost:631
< HTTP/1.1 200 OK
< Content-Type: text/html;charset=utf-8
* Connection #0 to host localhost left intact
onboard-http-status: 200
`

func TestHTTPVerdict(t *testing.T) {
	tests := []struct {
		name string
		c    plan.HTTPCheck
		out  Out
		want string
	}{
		{"ok, with the certificate", plan.HTTPCheck{URL: "https://localhost:631/", Status: 200, Insecure: true}, Out{Stderr: curlTLS},
			"pass: https://localhost:631/ answered 200; connected to 127.0.0.1 port 631; certificate subject O=ws1; CN=ws1, issuer O=ws1; CN=ws1, expires Dec 3 16:20:00 2036 GMT, not trusted by the host: self-signed certificate (18)"},
		{"another status", plan.HTTPCheck{URL: "http://h/", Status: 204}, Out{Stderr: "onboard-http-status: 404\n"},
			"fail: http://h/ answered 404, want 204"},
		{"body", plan.HTTPCheck{URL: "http://h/", Status: 200, Contains: []string{"Welcome", "/Ada|Bob/"}}, Out{Stdout: "<h1>Welcome, Ada</h1>", Stderr: "onboard-http-status: 200\n"},
			"pass: http://h/ answered 200 with each of 2 expected texts in its body"},
		{"body lacks", plan.HTTPCheck{URL: "http://h/", Status: 200, Contains: []string{"Welcome", "Carol"}}, Out{Stdout: "<h1>Welcome, Ada</h1>", Stderr: "onboard-http-status: 200\n"},
			`fail: http://h/ answered 200, but its body does not contain "Carol"`},
		{"refused", plan.HTTPCheck{URL: "http://h:1/", Status: 200}, Out{ExitCode: 7, Stderr: "*   Trying 10.0.0.1:1...\n* connect to 10.0.0.1 port 1 failed: Connection refused\ncurl: (7) Failed to connect to h port 1 after 0 ms: Couldn't connect to server\nonboard-http-status: 000\n"},
			"fail: http://h:1/: no answer: curl exited 7: curl: (7) Failed to connect to h port 1 after 0 ms: Couldn't connect to server"},
		{"untrusted", plan.HTTPCheck{URL: "https://h/", Status: 200}, Out{ExitCode: 60, Stderr: "* Server certificate:\n*  subject: CN=h\n*  expire date: Jan  1 00:00:00 2030 GMT\n* SSL certificate problem: self-signed certificate\ncurl: (60) SSL certificate problem: self-signed certificate\n"},
			"fail: https://h/: no answer: curl exited 60: curl: (60) SSL certificate problem: self-signed certificate; certificate subject CN=h, expires Jan 1 00:00:00 2030 GMT, not trusted by the host: self-signed certificate"},
		{"timed out", plan.HTTPCheck{URL: "http://h/", Status: 200, Timeout: plan.Duration(10 * time.Second)}, Out{ExitCode: 28},
			"fail: http://h/: no answer within 10s"},
		{"no curl", plan.HTTPCheck{URL: "http://h/", Status: 200}, Out{ExitCode: 127, Stderr: "sh: 1: curl: not found"},
			"cannot-run: cannot run: a command it needs is not on the host (exit 127: sh: 1: curl: not found)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := httpVerdict(&tt.c, tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if got := said(st); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := httpVerdict(&plan.HTTPCheck{URL: "http://h/", Status: 200}, Out{}); err == nil {
		t.Error("curl output without a status was taken for an answer")
	}
}

func TestServiceVerdict(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name             string
		running, enabled *bool
		out, want        string
	}{
		{"sysv running and enabled", &yes, &yes, "manager=sysv\nstatus=0\nenabled=/etc/rc2.d/S01ssh\n",
			"pass: ssh is running and enabled (sysv: /etc/init.d/ssh status: 0 (running); started at boot by /etc/rc2.d/S01ssh)"},
		{"sysv stopped", &yes, nil, "manager=sysv\nstatus=3\nenabled=/etc/rc2.d/S01ssh\n",
			"fail: ssh is stopped, want running (sysv: /etc/init.d/ssh status: 3 (not running))"},
		{"sysv no script", &yes, &no, "manager=sysv\nstatus=none\nenabled=\n",
			"fail: ssh is stopped, want running (sysv: no init script /etc/init.d/ssh; no start link in /etc/rc2.d to /etc/rc5.d)"},
		{"sysv unknown", &yes, nil, "manager=sysv\nstatus=4\nenabled=\n",
			"cannot-run: cannot run: the service manager cannot tell whether ssh runs (/etc/init.d/ssh status: 4 (unknown))"},
		{"systemd", &yes, &yes, "manager=systemd\nactive=active\nenabled=enabled\n",
			"pass: ssh is running and enabled (systemd: systemctl is-active: active; systemctl is-enabled: enabled)"},
		{"systemd disabled", nil, &yes, "manager=systemd\nactive=inactive\nenabled=disabled\n",
			"fail: ssh is not enabled, want enabled (systemd: systemctl is-enabled: disabled)"},
		{"systemd stopped, wanted", &no, nil, "manager=systemd\nactive=failed\nenabled=enabled\n",
			"pass: ssh is stopped (systemd: systemctl is-active: failed)"},
		{"no manager", &yes, nil, "manager=none\n",
			"cannot-run: cannot run: the host has no service manager onboard can ask (neither systemd running nor /etc/init.d)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := said(serviceVerdict(&plan.ServiceCheck{Name: "ssh", Running: tt.running, Enabled: tt.enabled}, tt.out))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestUserAndGroupVerdicts(t *testing.T) {
	pw := Out{Stdout: "ada:x:1001:1001:Ada Lovelace,,,:/home/ada:/bin/bash\nada lpadmin users\n"}
	for _, tt := range []struct {
		name string
		c    plan.UserCheck
		out  Out
		want string
	}{
		{"exists", plan.UserCheck{Name: "ada", Exists: true, Groups: []string{"lpadmin"}}, pw,
			"pass: user ada exists: uid 1001, gid 1001, home /home/ada, shell /bin/bash; groups ada, lpadmin, users"},
		{"not in a group", plan.UserCheck{Name: "ada", Exists: true, Groups: []string{"sudo", "users"}}, pw,
			"fail: user ada exists: uid 1001, gid 1001, home /home/ada, shell /bin/bash; groups ada, lpadmin, users; not in sudo"},
		{"unwanted", plan.UserCheck{Name: "ada"}, pw,
			"fail: user ada exists: uid 1001, gid 1001, home /home/ada, shell /bin/bash; groups ada, lpadmin, users; want no such user"},
		{"missing", plan.UserCheck{Name: "bob", Exists: true}, Out{ExitCode: 2},
			"fail: user bob does not exist on the host (getent passwd found none)"},
		{"missing, as wanted", plan.UserCheck{Name: "bob"}, Out{ExitCode: 2}, "pass: user bob does not exist, as wanted"},
	} {
		t.Run("user "+tt.name, func(t *testing.T) {
			if got := said(userVerdict(&tt.c, tt.out)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		c    plan.GroupCheck
		out  Out
		want string
	}{
		{"exists", plan.GroupCheck{Name: "lpadmin", Exists: true}, Out{Stdout: "lpadmin:x:110:ada,bob\n"}, "pass: group lpadmin exists: gid 110, members ada, bob"},
		{"no members", plan.GroupCheck{Name: "staff", Exists: true}, Out{Stdout: "staff:x:50:\n"}, "pass: group staff exists: gid 50, members none listed"},
		{"missing", plan.GroupCheck{Name: "x", Exists: true}, Out{ExitCode: 2}, "fail: group x does not exist on the host (getent group found none)"},
	} {
		t.Run("group "+tt.name, func(t *testing.T) {
			if got := said(groupVerdict(&tt.c, tt.out)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseVersionWant(t *testing.T) {
	for in, want := range map[string][2]string{
		">= 1.2": {">=", "1.2"}, ">=1.2": {">=", "1.2"}, "<< 2:1.0-3": {"<<", "2:1.0-3"}, "= 3.1.0": {"=", "3.1.0"},
		"3.1.0": {"", "3.1.0"}, "": {"", ""}, "=> 1": {"", "=> 1"},
	} {
		op, v := ParseVersionWant(in)
		if op != want[0] || v != want[1] {
			t.Errorf("ParseVersionWant(%q) = %q, %q, want %q", in, op, v, want)
		}
		if op != "" && dpkgOps[op] == "" {
			t.Errorf("%q has no dpkg operator", op)
		}
	}
}

// A certificate the host does not trust is still named: curl's second,
// insecure fetch gives its lines, and only those are kept.
func TestCertLines(t *testing.T) {
	got := certLines(curlTLS)
	want := "*  subject: O=ws1; CN=ws1\n*  expire date: Dec  3 16:20:00 2036 GMT\n*  issuer: O=ws1; CN=ws1"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	out := Out{ExitCode: 60, Stderr: "* SSL certificate problem: self-signed certificate\ncurl: (60) SSL certificate problem: self-signed certificate\n\n" + got}
	st, err := httpVerdict(&plan.HTTPCheck{URL: "https://ws1:631/", Status: 200}, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "fail: https://ws1:631/: no answer: curl exited 60: curl: (60) SSL certificate problem: self-signed certificate; certificate subject O=ws1; CN=ws1, issuer O=ws1; CN=ws1, expires Dec 3 16:20:00 2036 GMT, not trusted by the host: self-signed certificate"; said(st) != want {
		t.Errorf("got  %s\nwant %s", said(st), want)
	}
}
