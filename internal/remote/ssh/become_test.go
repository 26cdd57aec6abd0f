package ssh

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/remote"
	"onboard/internal/secret"
	"onboard/internal/shell"
)

func TestBecomeLine(t *testing.T) {
	const cmd = "apt-get install -y 'a b'"
	q := shell.Quote(cmd)
	tests := []struct {
		name         string
		privileged   bool
		user, become string
		password     bool
		want         string
		wantPassword bool
		wantErr      string
	}{
		{name: "unprivileged", user: "alice", become: "sudo", want: cmd},
		{name: "root needs no sudo", privileged: true, user: "root", become: "sudo", want: cmd},
		{name: "root without become", privileged: true, user: "root", want: cmd},
		{name: "sudo without password", privileged: true, user: "alice", become: "sudo", want: "exec sudo -n -- sh -c " + q},
		{name: "sudo with password", privileged: true, user: "alice", become: "sudo", password: true, wantPassword: true,
			want: "if sudo -n true 2>/dev/null; then IFS= read -r onboard_pw; unset onboard_pw; exec sudo -n -- sh -c " + q +
				"; else exec sudo -S -p '' -- sh -c " + q + "; fi"},
		{name: "no become method", privileged: true, user: "alice", wantErr: "user alice has no become method"},
		{name: "become none", privileged: true, user: "alice", become: "none", wantErr: "no become method"},
		{name: "unsupported become", privileged: true, user: "alice", become: "doas", wantErr: `"doas" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pw, err := becomeLine(cmd, tt.privileged, tt.user, tt.become, tt.password)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || pw != tt.wantPassword {
				t.Errorf("got %q %v %v\nwant %q %v", got, pw, err, tt.want, tt.wantPassword)
			}
		})
	}
}

func TestCommandLinePasswordOnStdinOnly(t *testing.T) {
	c := &Client{cfg: Config{Host: "ws1", User: "alice", Become: "sudo", BecomePassword: secret.New("s3cret-pw")}}
	line, prefix, err := c.commandLine(remote.Cmd{Command: "id", Privileged: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, "s3cret-pw") || prefix != "s3cret-pw\n" {
		t.Errorf("line %q prefix %q: the password belongs on stdin only", line, prefix)
	}
	if _, _, err := c.commandLine(remote.Cmd{Command: ""}); err == nil {
		t.Error("empty command accepted")
	}
}

// fakeSudo mimics sudo's handling of -n, -S and stdin, so that the shell
// side of the password wrapper runs for real over SSH (the controller has
// no sudo and no second user; the lab tests the real sudo).
const fakeSudo = `#!/bin/sh
mode=$(cat "$(dirname "$0")/mode")
if [ "$1" = -n ] && [ "$2" = true ]; then [ "$mode" = nopasswd ]; exit; fi
if [ "$1" = -n ]; then
	[ "$mode" = nopasswd ] || { echo "sudo: a password is required" >&2; exit 1; }
	shift 2
	exec "$@"
fi
if [ "$1" = -S ]; then
	if [ "$mode" != nopasswd ]; then
		IFS= read -r pw
		[ "$pw" = "right-pw" ] || { echo "sudo: 1 incorrect password attempt" >&2; exit 1; }
	fi
	shift 4
	exec "$@"
fi
echo "fake sudo: unexpected arguments: $*" >&2
exit 2
`

func TestBecomePasswordWrapperLive(t *testing.T) {
	s := startSSHD(t)
	root := dial(t, s.config())
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "sudo"), []byte(fakeSudo), 0o755)

	tests := []struct {
		name, mode, password string
		code                 int
		stdout, stderr       string
	}{
		{"password asked and given", "passwd", "right-pw", 0, "line 1\nline 2\n", ""},
		{"password configured but not asked", "nopasswd", "right-pw", 0, "line 1\nline 2\n", ""},
		{"wrong password", "passwd", "wrong-pw", 1, "", "incorrect password"},
		{"password needed, none configured", "passwd", "", 1, "", "a password is required"},
		{"no password needed, none configured", "nopasswd", "", 0, "line 1\nline 2\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, filepath.Join(bin, "mode"), []byte(tt.mode), 0o644)
			c := &Client{cfg: Config{Host: "ws1", User: "alice", Become: "sudo"}}
			if tt.password != "" {
				c.cfg.BecomePassword = secret.New(tt.password)
			}
			line, prefix, err := c.commandLine(remote.Cmd{Command: "cat", Privileged: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code, err := root.Run(ctx, remote.Cmd{
				Command: "PATH=" + shell.Quote(bin) + ":$PATH\n" + line,
				Stdin:   io.MultiReader(strings.NewReader(prefix), strings.NewReader("line 1\nline 2\n")),
				Stdout:  &out, Stderr: &errb,
			})
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("code %d stdout %q stderr %q; want %d %q %q", code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
			}
			if strings.Contains(out.String(), "-pw") {
				t.Errorf("the password reached the command: %q", out.String())
			}
		})
	}
}

func TestPIDFilter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		pid    int
		out    string
	}{
		{"marker then output", []string{"onboard-pid:42\nerr\n"}, 42, "err\n"},
		{"marker split over writes", []string{"onboard-", "pid:4", "2\nerr", "\n"}, 42, "err\n"},
		{"no marker", []string{"plain error\n"}, 0, "plain error\n"},
		{"short output like the marker", []string{"onb"}, 0, "onb"},
		{"bad number", []string{"onboard-pid:x\n"}, 0, "onboard-pid:x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			f := newPIDFilter(&b)
			for _, w := range tt.writes {
				if n, err := f.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write: %d %v", n, err)
				}
			}
			f.flush()
			if got := f.wait(0); got != tt.pid || b.String() != tt.out {
				t.Errorf("pid %d out %q, want %d %q", got, b.String(), tt.pid, tt.out)
			}
		})
	}
}

func TestStderrOfRootLoginHasNoMarker(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	r := run(t, c, "echo oops >&2", nil)
	if r.err != nil || r.stderr != "oops\n" {
		t.Fatalf("%+v", r)
	}
}
