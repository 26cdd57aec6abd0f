package directory

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

// stallServer is an LDAPS server that accepts any bind, answers searches
// with no entries, never answers a search whose filter mentions "hang"
// (the stand-in for a server that stops responding mid-run), answers one
// that mentions "slow" (in the filter or the base DN) after slowDelay and
// a bind as such a DN after a quarter of that, and accepts modify
// requests, recording them. It exists only for what the lab cannot do on demand; the
// real behaviour is tested against the lab's servers.
type stallServer struct {
	url      string
	caFile   string
	certPEM  []byte
	binds    chan struct{}
	bindCode int64 // the result of every bind; 0 is success
	ln       net.Listener

	mu       sync.Mutex
	conns    []net.Conn
	modifies []*ber.Packet
}

const slowDelay = 200 * time.Millisecond

func newStallServer(t *testing.T) *stallServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stall"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s := &stallServer{caFile: filepath.Join(t.TempDir(), "ca.pem"), binds: make(chan struct{}, 1000),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	if err := os.WriteFile(s.caFile, s.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.down)
	s.ln = ln
	s.url = "ldaps://" + ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, conn)
			s.mu.Unlock()
			go s.serve(conn)
		}
	}()
	return s
}

// down stops listening and drops every connection: the server is gone.
func (s *stallServer) down() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *stallServer) serve(conn net.Conn) {
	defer conn.Close()
	var wmu sync.Mutex // replies may come from several goroutines
	send := func(id int64, tag ber.Tag, code int64) {
		wmu.Lock()
		defer wmu.Unlock()
		reply(conn, id, tag, code)
	}
	for {
		p, err := ber.ReadPacket(conn)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		switch p.Children[1].Tag {
		case 0: // bind
			s.binds <- struct{}{}
			if bytes.Contains(p.Bytes(), []byte("slow")) {
				time.AfterFunc(slowDelay/4, func() { send(id, 1, s.bindCode) })
			} else {
				send(id, 1, s.bindCode)
			}
		case 3: // search
			switch b := p.Bytes(); {
			case bytes.Contains(b, []byte("hang")):
			case bytes.Contains(b, []byte("slow")):
				time.AfterFunc(slowDelay, func() { send(id, 5, 0) })
			default:
				send(id, 5, 0)
			}
		case 6: // modify
			s.mu.Lock()
			s.modifies = append(s.modifies, p.Children[1])
			s.mu.Unlock()
			send(id, 7, 0)
		case 2: // unbind
			return
		}
	}
}

// reply sends a result of the given application tag.
func reply(conn net.Conn, id int64, tag ber.Tag, code int64) {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	env.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	env.AppendChild(r)
	_, _ = conn.Write(env.Bytes())
}

func (s *stallServer) config(timeout time.Duration) Config {
	return Config{Name: "stall", Kind: OpenLDAP, URLs: []string{s.url}, BaseDN: "dc=x", BindDN: "cn=admin,dc=x",
		BindPassword: secret.New("stall-pw"), CACertFile: s.caFile, Timeout: timeout}
}

func TestRequestTimeout(t *testing.T) {
	s := newStallServer(t)
	c, err := Dial(context.Background(), s.config(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if u, err := c.FindUser(context.Background(), "fine"); err != nil || u != nil {
		t.Fatalf("FindUser(fine) = %v, %v", u, err)
	}
	start := time.Now()
	_, err = c.FindUser(context.Background(), "hang")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), `find user "hang"`) {
		t.Errorf("a request the server never answers: %v, want ErrUnreachable naming the operation", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 300ms timeout", d)
	}
	if u, err := c.FindUser(context.Background(), "fine"); err != nil || u != nil {
		t.Errorf("the next request: %v, %v", u, err)
	}
}

// A request whose context ends returns at once, and leaves the shared
// connection (and the other requests on it) alone.
func TestContextEndsHungRequest(t *testing.T) {
	s := newStallServer(t)
	c, err := Dial(context.Background(), s.config(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-s.binds
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.FindUser(ctx, "hang")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `find user "hang"`) {
		t.Errorf("err = %v, want the context's, naming the operation", err)
	}
	if errors.Is(err, ErrUnreachable) || remote.IsTransient(err) {
		t.Errorf("a context that ended is no transient fault: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 300ms context", d)
	}
	if u, err := c.FindUser(context.Background(), "fine"); err != nil || u != nil {
		t.Errorf("after the cancelled request: %v, %v", u, err)
	}
	select {
	case <-s.binds:
		t.Error("a second bind: the shared connection was closed for one request's context")
	default:
	}
}

// A batch runs many hires' steps at once on one Client: requests whose
// deadlines end must not fail the others in flight on the connection.
func TestShortDeadlinesSpareOtherRequests(t *testing.T) {
	s := newStallServer(t)
	c, err := Dial(context.Background(), s.config(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-s.binds
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if i%3 == 0 {
				// Ends while the others wait for their (slow) answers.
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
				defer cancel()
				if _, err := c.FindUser(ctx, fmt.Sprintf("slow%d", i)); !errors.Is(err, context.DeadlineExceeded) {
					errs <- fmt.Errorf("request %d with a tiny deadline: %v", i, err)
				}
				return
			}
			if u, err := c.FindUser(context.Background(), fmt.Sprintf("slow%d", i)); err != nil || u != nil {
				errs <- fmt.Errorf("request %d: %+v, %v", i, u, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	select {
	case <-s.binds:
		t.Error("the client reconnected: the shared connection was closed")
	default:
	}
}

// An unreachable directory is a transient fault for the engine.
func TestUnreachableIsTransient(t *testing.T) {
	s := newStallServer(t)
	c, err := Dial(context.Background(), s.config(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.FindUser(context.Background(), "hang")
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, remote.ErrConnectionLost) || !remote.IsTransient(err) {
		t.Errorf("a timed-out request: %v; want ErrUnreachable, remote.ErrConnectionLost, transient", err)
	}
	if wrapped := fmt.Errorf("step account: %w", err); !remote.IsTransient(wrapped) {
		t.Errorf("wrapped again: not transient")
	}
	// The server goes away: the reconnect fails, and the error still says
	// which operation and entry it was for.
	s.down()
	c.mu.Lock()
	c.cur.l.Close()
	c.mu.Unlock()
	_, err = c.FindUserByEmployeeID(context.Background(), "E1042")
	for _, w := range []string{`find user with employee id "E1042" under dc=x`, "reconnect and bind as cn=admin,dc=x", s.url} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("reconnect failure %v: lacks %q", err, w)
		}
	}
	if !errors.Is(err, ErrUnreachable) || !remote.IsTransient(err) {
		t.Errorf("reconnect failure: %v; want ErrUnreachable and transient", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.DN != "dc=x" {
		t.Errorf("reconnect failure: *Error %+v", e)
	}
	// A refused bind is not transient.
	refused := &Error{Directory: "d", kind: ErrInvalidCredentials}
	if errors.Is(refused, remote.ErrConnectionLost) || remote.IsTransient(refused) {
		t.Error("ErrInvalidCredentials is transient")
	}
}

// A server that answers "busy" or "unavailable" to the bind is passed over
// for the next URL.
func TestDialSkipsBusyServer(t *testing.T) {
	for _, code := range []int64{51, 52} {
		busy, good := newStallServer(t), newStallServer(t)
		busy.bindCode = code
		cfg := good.config(2 * time.Second)
		ca := filepath.Join(t.TempDir(), "both.pem")
		if err := os.WriteFile(ca, append(append([]byte(nil), busy.certPEM...), good.certPEM...), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.CACertFile = ca
		cfg.URLs = []string{busy.url, good.url}
		c, err := Dial(context.Background(), cfg)
		if err != nil {
			t.Fatalf("result %d: Dial: %v", code, err)
		}
		if c.Server() != good.url {
			t.Errorf("result %d: pinned %s, want %s", code, c.Server(), good.url)
		}
		c.Close()
		// Alone, it is unreachable, and says so.
		cfg.URLs = []string{busy.url}
		_, err = Dial(context.Background(), cfg)
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), fmt.Sprintf("LDAP %d", code)) {
			t.Errorf("result %d alone: %v, want ErrUnreachable with the code", code, err)
		}
	}
}

// Active Directory: the password and "must change" travel in one modify
// request.
func TestSetPasswordMustChangeOneRequest(t *testing.T) {
	s := newStallServer(t)
	cfg := s.config(2 * time.Second)
	cfg.Kind = ActiveDirectory
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, must := range []bool{true, false} {
		s.mu.Lock()
		s.modifies = nil
		s.mu.Unlock()
		if err := c.SetPassword(context.Background(), "CN=x,dc=x", secret.New("Passw0rd-Passw0rd!"), must); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		mods := s.modifies
		s.mu.Unlock()
		if len(mods) != 1 {
			t.Fatalf("mustChange %v: %d modify requests, want 1", must, len(mods))
		}
		var attrs []string
		for _, ch := range mods[0].Children[1].Children {
			attrs = append(attrs, ch.Children[1].Children[0].Value.(string))
		}
		want := "unicodePwd"
		if must {
			want = "unicodePwd pwdLastSet"
		}
		if got := strings.Join(attrs, " "); got != want {
			t.Errorf("mustChange %v: the modify request changes %q, want %q", must, got, want)
		}
	}
}

func TestUntrustedCertificate(t *testing.T) {
	s := newStallServer(t)
	cfg := s.config(2 * time.Second)
	cfg.CACertFile = "" // the system's pool does not know this server
	_, err := Dial(context.Background(), cfg)
	if err == nil || errors.Is(err, ErrUnreachable) || !isCertError(err) {
		t.Errorf("Dial to an untrusted server: %v, want a certificate error, not ErrUnreachable", err)
	}
	// StartTLS path: go-ldap flattens the error to text.
	cfg.URLs = []string{strings.Replace(s.url, "ldaps://", "ldap://", 1)}
	if _, err := Dial(context.Background(), cfg); err == nil {
		t.Error("StartTLS to a TLS-only port succeeded")
	}
}

// VerifyBind from many goroutines whose deadlines end mid-request: the
// verification connection is closed under a request and dropped, never
// read unlocked (go test -race), and the next call opens a new one.
func TestVerifyBindShortDeadlines(t *testing.T) {
	s := newStallServer(t)
	c, err := Dial(context.Background(), s.config(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 6 {
				// From before the bind's answer to after the search's.
				d := time.Duration(1+(g*7+i*13)%40) * slowDelay / 32
				ctx, cancel := context.WithTimeout(context.Background(), d)
				err := c.VerifyBind(ctx, fmt.Sprintf("cn=slow%d-%d,dc=x", g, i), secret.New("Passw0rd-Passw0rd!"))
				cancel()
				if err == nil || errors.Is(err, ErrInvalidCredentials) {
					t.Errorf("VerifyBind #%d-%d: %v", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	// The stall server has no entries: a working connection says so.
	err = c.VerifyBind(context.Background(), "cn=fine,dc=x", secret.New("Passw0rd-Passw0rd!"))
	if err == nil || !strings.Contains(err.Error(), "cannot read its own entry") {
		t.Errorf("VerifyBind afterwards: %v", err)
	}
}
