package winrm

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

// faultXML is a fault as Windows (and the lab's wsman server) sends it.
func faultXML(code, subcode, wsmanCode, message string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">` +
		`<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body>` +
		`<s:Fault><s:Code><s:Value>` + code + `</s:Value><s:Subcode><s:Value>` + subcode + `</s:Value></s:Subcode></s:Code>` +
		`<s:Reason><s:Text xml:lang="en-US">reason text</s:Text></s:Reason><s:Detail>` +
		`<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="` + wsmanCode + `" Machine="ws1">` +
		`<f:Message>` + message + `</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`
}

func TestParseFault(t *testing.T) {
	tests := []struct {
		name                                 string
		body                                 string
		timedOut, gone, quota, accessDenied  bool
		wantSubcode, wantCode, wantInMessage string
	}{
		{"timed out", faultXML("s:Receiver", "w:TimedOut", "2150858793", "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."),
			true, false, false, false, "w:TimedOut", "2150858793", "OperationTimeout"},
		{"unknown shell", faultXML("s:Sender", "w:InvalidSelectors", "2150858843", "The request for the Windows Remote Shell with ShellId X failed because the shell was not found on the server."),
			false, true, false, false, "w:InvalidSelectors", "2150858843", "shell was not found"},
		{"shell quota (Windows: InternalError)", faultXML("s:Receiver", "w:InternalError", "2150859173", "This user is allowed a maximum number of 1 concurrent shells, which has been exceeded."),
			false, false, true, false, "w:InternalError", "2150859173", "maximum number of 1"},
		{"operations quota", faultXML("s:Receiver", "w:InternalError", "2150859174", "maximum number of 1500 concurrent operations"),
			false, false, true, false, "w:InternalError", "2150859174", "1500"},
		{"quota (MS-WSMV QuotaLimit)", faultXML("s:Receiver", "w:QuotaLimit", "", "The Windows Remote Shell cannot process the request."),
			false, false, true, false, "w:QuotaLimit", "", "Remote Shell"},
		{"access denied", faultXML("s:Sender", "w:AccessDenied", "5", "Access is denied."),
			false, false, false, true, "w:AccessDenied", "5", "Access is denied"},
		{"other prefixes", strings.ReplaceAll(faultXML("env:Receiver", "wsman:TimedOut", "", ""), "s:", "env:"),
			true, false, false, false, "wsman:TimedOut", "", "reason text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseFault([]byte(tt.body))
			if f == nil {
				t.Fatal("no fault parsed")
			}
			if f.TimedOut() != tt.timedOut || f.ShellGone() != tt.gone || f.Quota() != tt.quota || f.AccessDenied() != tt.accessDenied {
				t.Errorf("timedOut %v gone %v quota %v denied %v", f.TimedOut(), f.ShellGone(), f.Quota(), f.AccessDenied())
			}
			if f.Subcode != tt.wantSubcode || f.WSManCode != tt.wantCode || !strings.Contains(f.Error(), tt.wantInMessage) {
				t.Errorf("got %+v: %v", f, f)
			}
		})
	}
	for _, body := range []string{"", "not xml", `<s:Envelope xmlns:s="x"><s:Body><rsp:ReceiveResponse/></s:Body></s:Envelope>`} {
		if f := parseFault([]byte(body)); f != nil {
			t.Errorf("parseFault(%q) = %v, want nil", body, f)
		}
	}
}

func TestActionOf(t *testing.T) {
	msg := `<env:Header><a:To>x</a:To><a:Action mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive</a:Action><w:SelectorSet>`
	if got := actionOf(msg); got != actionReceive {
		t.Errorf("actionOf = %q", got)
	}
	if got := actionOf("<x/>"); got != "" {
		t.Errorf("actionOf without action = %q", got)
	}
	if shortAction(actionCreate) != "Create" {
		t.Error(shortAction(actionCreate))
	}
}

func TestReceiveProgress(t *testing.T) {
	const pre = `<s:Envelope xmlns:s="s" xmlns:rsp="r"><s:Body><rsp:ReceiveResponse>`
	const post = `</rsp:ReceiveResponse></s:Body></s:Envelope>`
	tests := []struct {
		name, body string
		want       bool
	}{
		{"output", `<rsp:Stream Name="stdout" CommandId="C">aGVsbG8=</rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/>`, true},
		{"done", `<rsp:Stream Name="stdout" CommandId="C" End="true"></rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>`, true},
		{"running, nothing", `<rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"></rsp:CommandState>`, false},
		{"empty end streams", `<rsp:Stream Name="stdout" End="true"></rsp:Stream><rsp:Stream Name="stderr" End="true"/>`, false},
	}
	for _, tt := range tests {
		if got := receiveProgress(pre + tt.body + post); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
	if receiveProgress(faultXML("s:Receiver", "w:TimedOut", codeTimedOut, "x")) {
		t.Error("a fault is progress")
	}
}

func TestPollGuard(t *testing.T) {
	var g pollGuard
	now := time.Now()
	for i := range maxIdlePolls {
		if err := g.idle(now.Add(time.Duration(i)*time.Millisecond), "x"); err != nil {
			t.Fatalf("tripped after %d idle polls", i+1)
		}
	}
	err := g.idle(now.Add(25*time.Millisecond), "a fault")
	if !errors.Is(err, ErrPollLoop) || !strings.Contains(err.Error(), "a fault") {
		t.Fatalf("got %v", err)
	}
	if g.tripped() == nil || g.idle(now.Add(time.Hour), "x") == nil {
		t.Error("the guard must stay tripped")
	}
	// A poll every 100 ms (a busy but honest server) never trips it.
	var slow pollGuard
	for i := range 1000 {
		if err := slow.idle(now.Add(time.Duration(i)*100*time.Millisecond), "x"); err != nil {
			t.Fatalf("tripped at %d: %v", i, err)
		}
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{60 * time.Second: "PT60S", time.Second: "PT1S", 1500 * time.Millisecond: "PT1.500S"} {
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	pw := secret.New("pw-for-validation")
	base := Config{Host: "ws1", Address: "127.0.0.1", Port: closedPort(t), HTTPS: true, User: "u", Password: pw}
	tests := []struct {
		name string
		edit func(*Config)
		want string // in the error; "" means Dial gets as far as connecting
		is   error
	}{
		{"no address", func(c *Config) { c.Address = "" }, "no address", nil},
		{"basic over http", func(c *Config) { c.Auth, c.HTTPS = AuthBasic, false }, "clear text", nil},
		{"basic over http allowed", func(c *Config) { c.Auth, c.HTTPS, c.AllowBasicOverHTTP = AuthBasic, false, true }, "", nil},
		{"ntlm is the default", func(c *Config) { c.HTTPS = false }, "", nil},
		{"no password", func(c *Config) { c.Password = secret.Value{} }, "needs a user and a password", remote.ErrAuth},
		{"kerberos without realm", func(c *Config) { c.Auth = AuthKerberos }, "needs a realm and a KDC", nil},
		{"kerberos over http", func(c *Config) {
			c.Auth, c.HTTPS, c.Realm, c.KDC = AuthKerberos, false, "EXAMPLE.TEST", net.JoinHostPort("127.0.0.1", strconv.Itoa(closedPort(t)))
		}, "kerberos over plain HTTP would send every command and password unsealed", nil},
		{"kerberos KDC unreachable", func(c *Config) {
			c.Auth, c.Realm, c.KDC = AuthKerberos, "EXAMPLE.TEST", net.JoinHostPort("127.0.0.1", strconv.Itoa(closedPort(t)))
		}, "", nil},
		{"unknown method", func(c *Config) { c.Auth = "credssp" }, `"credssp" is not supported`, nil},
		{"certificate over http", func(c *Config) { c.Auth, c.HTTPS = AuthCertificate, false }, "needs HTTPS", nil},
		{"certificate without files", func(c *Config) { c.Auth = AuthCertificate }, "client certificate and key", nil},
		{"certificate files missing", func(c *Config) {
			c.Auth, c.ClientCertFile, c.ClientKeyFile = AuthCertificate, "/nonexistent/c.pem", "/nonexistent/k.pem"
		}, "client certificate", nil},
		{"CA file missing", func(c *Config) { c.CACertFile = "/nonexistent/ca.pem" }, "CA certificate", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			_, err := Dial(context.Background(), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want == "" {
				if !errors.Is(err, remote.ErrUnreachable) {
					t.Fatalf("got %v; want the config accepted (then unreachable)", err)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "ws1") || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("got %v; want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), pw.Reveal()) {
				t.Fatal("the password is in the error")
			}
		})
	}
}

func TestIsAbsWindows(t *testing.T) {
	for p, want := range map[string]bool{
		`C:\Windows\x.txt`: true, `c:/x`: true, `\\fs01\share\x`: true,
		`x.txt`: false, `C:x`: false, `/etc/passwd`: false, `\\`: false, `1:\x`: false,
	} {
		if got := isAbsWindows(p); got != want {
			t.Errorf("isAbsWindows(%q) = %v", p, got)
		}
	}
}
