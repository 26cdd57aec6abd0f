package lab

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/remote"
	"onboard/internal/remote/winrm"
	"onboard/internal/secret"
)

// TestWindows starts a lab with one simulated Windows workstation, runs a
// command on it over WinRM (HTTPS verified against the lab CA, NTLM), stops
// and starts it, and loads the generated inventory.
func TestWindows(t *testing.T) {
	integration(t)
	l := ForTest(t, Config{Name: "wint", Subnet: 238, Workstations: 1, Printers: []string{"Office-2F"}, Windows: 1})
	if len(l.WindowsHosts) != 1 || l.WindowsHosts[0].Name != "win1" || l.WindowsHosts[0].Addr != "10.213.238.31" || l.WindowsHosts[0].Port != 5986 {
		t.Fatalf("WindowsHosts = %+v", l.WindowsHosts)
	}
	fi, err := os.Stat(l.WindowsPasswordFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	pw, err := readPassword(l.WindowsPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	w := l.WindowsHosts[0]
	hostname := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := winrm.Dial(ctx, winrm.Config{Host: w.Name, Address: w.Addr, Port: w.Port, HTTPS: true,
			CACertFile: l.CACertFile(), Auth: "ntlm", User: l.WindowsUser, Password: secret.New(pw)})
		if err != nil {
			return "", err
		}
		defer c.Close()
		var out bytes.Buffer
		if _, err := c.Run(ctx, remote.Cmd{Command: "hostname", Stdout: &out}); err != nil {
			return "", err
		}
		return strings.TrimSpace(out.String()), nil
	}
	if got, err := hostname(); err != nil || got != "WIN1" {
		t.Fatalf("hostname = %q, %v", got, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.StopWindows(ctx, "win1"); err != nil {
		t.Fatal(err)
	}
	if _, err := hostname(); err == nil {
		t.Fatal("win1 answers while stopped")
	}
	if err := l.StartWindows(ctx, "win1"); err != nil {
		t.Fatal(err)
	}
	if got, err := hostname(); err != nil || got != "WIN1" {
		t.Fatalf("after restart: hostname = %q, %v", got, err)
	}

	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		b, _ := os.ReadFile(l.InventoryFile)
		t.Fatalf("load inventory: %v\n%s", err, b)
	}
	_ = inv
	b, _ := os.ReadFile(l.InventoryFile)
	for _, want := range []string{"win1:", "transport: winrm", "office-2f-win:", "chat-win:", "notes-win:", "office-win:", "crm-win:"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("inventory lacks %q:\n%s", want, b)
		}
	}

	o, err := Open(Config{Name: "wint", Dir: l.Config().Dir})
	if err != nil || len(o.WindowsHosts) != 1 {
		t.Errorf("Open: %v, %+v", err, o)
	}
}
