package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// onboard-lab smtp serves until interrupted, then leaves nothing behind.
func TestSMTPCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts aiosmtpd")
	}
	dir := filepath.Join(t.TempDir(), "smtp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"smtp", "-dir", dir}, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	buf := make([]byte, 4096)
	var out strings.Builder
	port := regexp.MustCompile(`STARTTLS on port (\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for !port.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no port in the output: %q", out.String())
		}
		n, err := pr.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("output ended: %q (%v)", out.String(), <-done)
		}
	}
	go io.Copy(io.Discard, pr)
	addr := net.JoinHostPort("127.0.0.1", port.FindStringSubmatch(out.String())[1])
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	greeting := make([]byte, 3)
	if _, err := io.ReadFull(c, greeting); err != nil || string(greeting) != "220" {
		t.Errorf("greeting %q %v", greeting, err)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind", dir)
	}
}
