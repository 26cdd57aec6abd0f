package winrm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/lab/wsman"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

// recordingProxy forwards TCP connections to addr and keeps every byte it
// sees, both ways.
type recordingProxy struct {
	mu    sync.Mutex
	bytes bytes.Buffer
	conns int
}

func (p *recordingProxy) record(b []byte) {
	p.mu.Lock()
	p.bytes.Write(b)
	p.mu.Unlock()
}

func (p *recordingProxy) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes.String()
}

func startRecordingProxy(t *testing.T, addr string) (*recordingProxy, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &recordingProxy{}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			copyRec := func(dst, src net.Conn) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						p.record(buf[:n])
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go copyRec(out, in)
			go copyRec(in, out)
		}
	}()
	return p, ln.Addr().(*net.TCPAddr).Port
}

// TestSealedNTLMOverHTTP runs against a server that, as Windows by
// default, refuses unencrypted messages over HTTP.
func TestSealedNTLMOverHTTP(t *testing.T) {
	s := startServer(t, serverOptions{cfg: wsman.Config{NTLM: true}})
	proxy, port := startRecordingProxy(t, s.addr.String())
	cfg := s.config(AuthNTLM)
	cfg.Port = port
	c := dial(t, cfg)

	const marker = "Zq7-plaintext-marker-9vX"
	r := run(t, c, "echo "+marker+"; echo err-"+marker+" >&2; exit 3", nil)
	if r.err != nil || r.code != 3 || r.stdout != marker+"\n" || r.stderr != "err-"+marker+"\n" {
		t.Fatalf("got %+v", r)
	}
	// Stdin.
	r = run(t, c, "tr a-z A-Z", strings.NewReader("stdin-"+marker))
	if r.err != nil || r.stdout != strings.ToUpper("stdin-"+marker) {
		t.Fatalf("stdin: got %+v", r)
	}
	// 1 MiB of output and of input.
	r = run(t, c, "head -c 1048576 /dev/zero | tr '\\0' x", nil)
	if r.err != nil || len(r.stdout) != 1<<20 || strings.Trim(r.stdout, "x") != "" {
		t.Fatalf("1 MiB output: %d bytes, err %v", len(r.stdout), r.err)
	}
	big := strings.Repeat("0123456789abcdef", 1<<16)
	r = run(t, c, "wc -c", strings.NewReader(big))
	if r.err != nil || strings.TrimSpace(r.stdout) != fmt.Sprint(len(big)) {
		t.Fatalf("1 MiB stdin: got %+v", r)
	}
	// Concurrent commands, each lane with its own session.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			r := run(t, c, fmt.Sprintf("sleep 0.05; echo %d", i), strings.NewReader("in"))
			if r.err != nil || r.stdout != fmt.Sprintf("%d\n", i) {
				t.Errorf("run %d: %+v: %v", i, r, r.err)
			}
		})
	}
	wg.Wait()
	// One shell for all of it.
	if n := c.creates.Load(); n != 1 {
		t.Errorf("%d shells created; want 1", n)
	}
	// Cancel a hanging command; the shell still works afterwards.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := c.Run(ctx, remote.Cmd{Command: "hang sealed"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancel: got %v", err)
	}
	select {
	case <-s.host.cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the host never saw its command cancelled")
	}
	// Idle connections dropped: the lanes authenticate anew.
	c.closeIdle()
	if r := run(t, c, "echo again", nil); r.err != nil || r.stdout != "again\n" {
		t.Fatalf("after reconnect: %+v", r)
	}

	wire := proxy.String()
	if !strings.Contains(wire, "multipart/encrypted") || !strings.Contains(wire, "Negotiate ") {
		t.Fatalf("no encrypted messages on the wire")
	}
	for _, plain := range []string{marker, strings.ToUpper(marker), "soap:Envelope", "s:Envelope", "CommandLine", "xxxxxxxxxxxxxxxx", "0123456789abcdef"} {
		if strings.Contains(wire, plain) {
			t.Errorf("plaintext %q on the wire", plain)
		}
	}
	proxy.mu.Lock()
	conns := proxy.conns
	proxy.mu.Unlock()
	t.Logf("%d bytes on the wire over %d connections", len(wire), conns)
}

func TestSealedNTLMWrongPassword(t *testing.T) {
	s := startServer(t, serverOptions{cfg: wsman.Config{NTLM: true}})
	cfg := s.config(AuthNTLM)
	cfg.Password = secret.New("wrong-Pa55word")
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrAuth) || remote.IsTransient(err) {
		t.Fatalf("got %v; want ErrAuth", err)
	}
	if strings.Contains(err.Error(), "wrong-Pa55word") {
		t.Errorf("error leaks the password: %v", err)
	}
	// A server that offers Basic only: refused as well.
	s2 := startServer(t, serverOptions{cfg: wsman.Config{Basic: true}})
	if _, err := Dial(context.Background(), s2.config(AuthNTLM)); !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("basic-only server: got %v; want ErrAuth", err)
	}
}
