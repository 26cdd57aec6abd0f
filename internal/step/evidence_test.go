package step

import (
	"strings"
	"testing"

	"onboard/internal/plan"
)

// fields writes a state's evidence as "key=value; ...".
func fields(st State) string {
	var kv []string
	for _, f := range st.Evidence {
		kv = append(kv, f.Key+"="+f.Value)
	}
	return strings.Join(kv, "; ")
}

// Each check kind records what it saw field by field, so that an audit
// can say which field changed; the words stay as they were.
func TestCheckEvidenceFields(t *testing.T) {
	yes := true
	ahosts := "10.213.5.9      STREAM intranet\n10.213.5.2      STREAM \n"
	refused := "bash: line 1: /dev/tcp/10.0.0.1/1: Connection refused\n"
	http := func(c plan.HTTPCheck, out Out) State {
		st, err := httpVerdict(&c, out)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	wHTTP := func(c plan.HTTPCheck, r winHTTP) State {
		st, err := winHTTPVerdict(&c, r)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name string
		st   State
		want string
	}{
		{"dns, sorted", dnsVerdict(&plan.DNSCheck{Name: "intranet", Resolves: true}, Out{Stdout: ahosts}), "addresses=10.213.5.2, 10.213.5.9"},
		{"dns, none", dnsVerdict(&plan.DNSCheck{Name: "x", Resolves: true}, Out{ExitCode: 2}), "addresses=none (does not resolve)"},
		{"dns, timeout", dnsVerdict(&plan.DNSCheck{Name: "x", Resolves: true}, Out{ExitCode: 124}), "addresses=none (no answer)"},
		{"dns on Windows", winDNSVerdict(&plan.DNSCheck{Name: "intranet", Resolves: true}, winDNS{Addresses: []string{"10.0.0.9", "10.0.0.5", "10.0.0.9"}}), "addresses=10.0.0.5, 10.0.0.9"},
		{"dns on Windows, none", winDNSVerdict(&plan.DNSCheck{Name: "x"}, winDNS{ErrorID: "DNS_ERROR_RCODE_NAME_ERROR"}), "addresses=none (does not resolve)"},
		{"tcp", tcpVerdict(&plan.TCPCheck{Host: "h", Port: 1, Reachable: true}, Out{}), "connection=accepted"},
		{"tcp, refused", tcpVerdict(&plan.TCPCheck{Host: "h", Port: 1, Reachable: true}, Out{ExitCode: 1, Stderr: refused}), "connection=failed: Connection refused"},
		{"tcp on Windows, timeout", winTCPVerdict(&plan.TCPCheck{Host: "h", Port: 1}, winTCP{Result: "timeout"}), "connection=no answer"},
		{"http, certificate", http(plan.HTTPCheck{URL: "https://localhost:631/", Status: 200, Insecure: true}, Out{Stderr: curlTLS}),
			"status=200; address=127.0.0.1 port 631; certificate subject=O=ws1; CN=ws1; certificate issuer=O=ws1; CN=ws1; certificate expiry=2036-12-03 16:20:00 UTC; certificate trust=not trusted by the host: self-signed certificate (18)"},
		{"http, body", http(plan.HTTPCheck{URL: "http://h/", Status: 200, Contains: []string{"Carol"}}, Out{Stdout: "Ada", Stderr: "onboard-http-status: 200\n"}),
			`status=200; body=lacks "Carol"`},
		{"http, refused", http(plan.HTTPCheck{URL: "http://h:1/", Status: 200}, Out{ExitCode: 7, Stderr: "curl: (7) Failed to connect\n"}), "status=no answer (curl exit 7)"},
		{"http on Windows", wHTTP(plan.HTTPCheck{URL: "https://h/", Status: 200}, winHTTP{Status: 503, Subject: "CN=h", Issuer: "CN=lab CA", Expires: "3/1/2027 12:00:00 PM", Trust: "None"}),
			"status=503; certificate subject=CN=h; certificate issuer=CN=lab CA; certificate expiry=2027-03-01 12:00:00 UTC; certificate trust=trusted by the host"},
		{"service, systemd", serviceVerdict(&plan.ServiceCheck{Name: "ssh", Running: &yes, Enabled: &yes}, "manager=systemd\nactive=inactive\nenabled=enabled\n"), "state=inactive; at boot=enabled"},
		{"service, sysv, running only", serviceVerdict(&plan.ServiceCheck{Name: "ssh", Running: &yes}, "manager=sysv\nstatus=3\nenabled=\n"), "state=not running (status 3)"},
		{"service on Windows", winServiceVerdict(&plan.ServiceCheck{Name: "Spooler", Running: &yes, Enabled: &yes}, winService{Found: true, Name: "Spooler", Status: "Stopped", StartType: "Automatic"}), "state=Stopped; at boot=Automatic"},
		{"user", userVerdict(&plan.UserCheck{Name: "ada", Exists: true}, Out{Stdout: "ada:x:1001:1001:Ada:/home/ada:/bin/bash\nada sudo\n"}),
			"exists=yes; uid=1001; gid=1001; home=/home/ada; shell=/bin/bash; groups=ada, sudo"},
		{"user, none", userVerdict(&plan.UserCheck{Name: "ada", Exists: true}, Out{ExitCode: 2}), "exists=no"},
		{"group", groupVerdict(&plan.GroupCheck{Name: "dev", Exists: true}, Out{Stdout: "dev:x:2000:ada,bob\n"}), "exists=yes; gid=2000; members=ada, bob"},
		{"user on Windows", winUserVerdict(&plan.UserCheck{Name: "ada", Exists: true}, winUser{Found: true, Account: `WIN1\ada`, SID: "S-1-5-21-1-1001", Groups: []string{"Users"}}),
			`exists=yes; account=WIN1\ada; sid=S-1-5-21-1-1001; local groups=Users`},
		{"group on Windows", winGroupVerdict(&plan.GroupCheck{Name: "Remote Desktop Users", Exists: true}, winGroup{Found: true, SID: "S-1-5-32-555"}),
			"exists=yes; sid=S-1-5-32-555; members=none"},
		{"service on Windows, missing", winServiceVerdict(&plan.ServiceCheck{Name: "x", Running: &yes}, winService{}), "state=not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fields(tt.st); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCertDate(t *testing.T) {
	for in, want := range map[string]string{
		"Mar  1 12:00:00 2027 GMT": "2027-03-01 12:00:00 UTC",
		"12/20/2026 3:04:05 PM":    "2026-12-20 15:04:05 UTC",
		"someday":                  "someday",
	} {
		if got := certDate(in); got != want {
			t.Errorf("certDate(%q) = %q, want %q", in, got, want)
		}
	}
}

// A check of a kind without fields of its own records its words as one
// field, before a retry says how long it took.
func TestInWords(t *testing.T) {
	st := inWords(inPlace("user onboard exists: uid 1000"))
	if got := fields(st); got != "evidence=user onboard exists: uid 1000" {
		t.Errorf("got %s", got)
	}
	if got := fields(inWords(inPlace("x resolves to 10.0.0.1").seen(fact("addresses", "10.0.0.1")))); got != "addresses=10.0.0.1" {
		t.Errorf("a check with fields kept them: %s", got)
	}
}
