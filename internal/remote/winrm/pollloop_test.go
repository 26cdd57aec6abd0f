package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mw "github.com/masterzen/winrm"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

// faultyServer is a minimal WS-Management endpoint whose Create, Command,
// Send, Signal and Delete work and whose Receive answers with receive.
type faultyServer struct {
	*httptest.Server
	receives atomic.Int64
}

func startFaultyServer(t *testing.T, receive func(w http.ResponseWriter)) *faultyServer {
	return startMiniServer(t, nil, nil, receive)
}

// startMiniServer is startFaultyServer over TLS when tlsCfg is set, with
// auth checking each request (false: 401).
func startMiniServer(t *testing.T, tlsCfg *tls.Config, auth func(*http.Request) bool, receive func(w http.ResponseWriter)) *faultyServer {
	t.Helper()
	s := &faultyServer{}
	reply := func(w http.ResponseWriter, action, body string) {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">`+
			`<s:Header><a:Action>`+action+`</a:Action></s:Header><s:Body>`+body+`</s:Body></s:Envelope>`)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if auth != nil && !auth(r) {
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch actionOf(string(b)) {
		case actionCreate:
			reply(w, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", `<rsp:Shell><rsp:ShellId>S1</rsp:ShellId></rsp:Shell>`)
		case actionCommand:
			reply(w, actionCommand+"Response", `<rsp:CommandResponse><rsp:CommandId>C1</rsp:CommandId></rsp:CommandResponse>`)
		case actionReceive:
			s.receives.Add(1)
			receive(w)
		default:
			reply(w, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse", "")
		}
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tlsCfg != nil {
		s.TLS = tlsCfg
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *faultyServer) config(t *testing.T) Config {
	u, _ := url.Parse(s.URL)
	port, _ := strconv.Atoi(u.Port())
	return Config{Host: "ws1", Address: "127.0.0.1", Port: port, Auth: AuthBasic, AllowBasicOverHTTP: true, User: "u", Password: secret.New("p")}
}

func TestClientCertificateAuth(t *testing.T) {
	p := newPKI(t)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{p.serverC}, ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	auth := func(r *http.Request) bool {
		// What Windows checks: a verified client certificate, and the
		// mutual-auth Authorization value instead of credentials.
		return len(r.TLS.PeerCertificates) > 0 && r.Header.Get("Authorization") == mutualAuth
	}
	s := startMiniServer(t, tlsCfg, auth, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>`+actionReceive+`Response</a:Action></s:Header><s:Body><rsp:ReceiveResponse>`+
			`<rsp:Stream Name="stdout" CommandId="C1">aGk=</rsp:Stream><rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>7</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>`)
	})
	cfg := s.config(t)
	cfg.HTTPS, cfg.CACertFile, cfg.Auth, cfg.User, cfg.Password = true, p.caFile, AuthCertificate, "", secret.Value{}
	cfg.ClientCertFile, cfg.ClientKeyFile = p.clientCert(t)
	c := dial(t, cfg)
	var out strings.Builder
	code, err := c.Run(context.Background(), remote.Cmd{Command: "whoami", Stdout: &out})
	if err != nil || code != 7 || out.String() != "hi" {
		t.Fatalf("got %d %q %v", code, out.String(), err)
	}

	// A certificate from another CA is refused in the handshake.
	cfg.ClientCertFile, cfg.ClientKeyFile = newPKI(t).clientCert(t)
	_, err = Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "client certificate") {
		t.Fatalf("foreign client certificate: got %v; want ErrAuth", err)
	}
	t.Log(err)
}

func writeFault(w http.ResponseWriter, subcode, code, msg string) {
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, faultXML("s:Receiver", subcode, code, msg))
}

func TestPollLoopGuard(t *testing.T) {
	tests := []struct {
		name    string
		receive func(w http.ResponseWriter)
		want    error
		maxPoll int64
	}{
		{"timeout fault at once, every time", func(w http.ResponseWriter) {
			writeFault(w, "w:TimedOut", codeTimedOut, "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.")
		}, ErrPollLoop, maxIdlePolls + 2},
		{"running without output at once, every time", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>`+actionReceive+`Response</a:Action></s:Header><s:Body><rsp:ReceiveResponse><rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/></rsp:ReceiveResponse></s:Body></s:Envelope>`)
		}, ErrPollLoop, maxIdlePolls + 2},
		{"any other fault ends the command at once", func(w http.ResponseWriter) {
			writeFault(w, "w:InternalError", "2147943418", "The service is shutting down.")
		}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startFaultyServer(t, tt.receive)
			c := dial(t, s.config(t))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.Run(ctx, remote.Cmd{Command: "noop"})
			took := time.Since(start)
			if err == nil || time.Since(start) > time.Second {
				t.Fatalf("got %v after %v", err, took)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
			if n := s.receives.Load(); n > tt.maxPoll {
				t.Errorf("%d Receive requests; want at most %d", n, tt.maxPoll)
			}
			t.Logf("%d Receives in %v: %v", s.receives.Load(), took.Round(time.Millisecond), err)
		})
	}
}

// TestLibraryAloneLoops documents why the guard exists: the library's own
// Run polls a server that faults every Receive as fast as it can.
func TestLibraryAloneLoops(t *testing.T) {
	s := startFaultyServer(t, func(w http.ResponseWriter) { writeFault(w, "w:InternalError", "1", "broken") })
	cfg := s.config(t)
	lc, err := mw.NewClient(mw.NewEndpoint(cfg.Address, cfg.Port, false, false, nil, nil, nil, 0), "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _ = lc.RunWithContext(ctx, "noop", io.Discard, io.Discard)
	n := s.receives.Load()
	if n < 50 {
		t.Errorf("the library sent only %d Receives in 200 ms: has it learned to stop? then the guard may go", n)
	}
	t.Logf("the library alone: %d Receive requests in 200 ms", n)
}
