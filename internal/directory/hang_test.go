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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"onboard/internal/secret"
)

// stallServer is an LDAPS server that accepts any bind, answers searches
// with no entries, and never answers a search whose filter mentions
// "hang": the stand-in for a server that stops responding mid-run. It
// exists only for what the lab cannot do on demand; the real behaviour is
// tested against the lab's servers.
type stallServer struct {
	url    string
	caFile string
	binds  chan struct{}
}

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
	s := &stallServer{caFile: filepath.Join(t.TempDir(), "ca.pem"), binds: make(chan struct{}, 100)}
	if err := os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.url = "ldaps://" + ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *stallServer) serve(conn net.Conn) {
	defer conn.Close()
	for {
		p, err := ber.ReadPacket(conn)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		switch p.Children[1].Tag {
		case 0: // bind
			s.binds <- struct{}{}
			reply(conn, id, 1)
		case 3: // search
			if !bytes.Contains(p.Bytes(), []byte("hang")) {
				reply(conn, id, 5)
			}
		case 2: // unbind
			return
		}
	}
}

// reply sends a success result of the given application tag.
func reply(conn net.Conn, id int64, tag ber.Tag) {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	env.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
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

func TestContextClosesHungRequest(t *testing.T) {
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
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 300ms context", d)
	}
	// The connection was closed to stop the request; the next one reconnects
	// to the same server and binds again.
	if u, err := c.FindUser(context.Background(), "fine"); err != nil || u != nil {
		t.Errorf("after the cancelled request: %v, %v", u, err)
	}
	select {
	case <-s.binds:
	default:
		t.Error("no second bind: the client did not reconnect")
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
