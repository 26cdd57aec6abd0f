package wsman

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests drive the server with pywinrm (Debian's python3-winrm, see
// packages.txt) in a subprocess: Ansible's WinRM client, and the one that
// uses NTLM message encryption over HTTP by default.

const python = "/usr/bin/python3" // Debian's, where python3-winrm lives

// legacyOpenSSL loads OpenSSL 3's legacy provider, which has the MD4 that
// pywinrm's NTLM needs.
const legacyOpenSSL = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

type pyJob struct {
	URL               string `json:"url"`
	User              string `json:"user"`
	Password          string `json:"password"`
	Transport         string `json:"transport"`
	Validation        string `json:"validation,omitempty"`
	CA                string `json:"ca,omitempty"`
	MessageEncryption string `json:"message_encryption,omitempty"`
	OperationTimeout  int    `json:"operation_timeout,omitempty"`
	Ops               []pyOp `json:"ops"`
}

type pyOp struct {
	Cmd  string   `json:"cmd,omitempty"`
	Args []string `json:"args,omitempty"`
	PS   string   `json:"ps,omitempty"`
}

type pyResult struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
	Error  string `json:"error"`
}

func runPywinrm(t *testing.T, job pyJob) []pyResult {
	t.Helper()
	if testing.Short() {
		t.Skip("pywinrm subprocess tests are skipped with -short")
	}
	if err := exec.Command(python, "-c", "import winrm").Run(); err != nil {
		t.Fatalf("%s cannot import winrm (%v): install the packages in internal/wsman/packages.txt", python, err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "openssl.cnf")
	if err := os.WriteFile(conf, []byte(legacyOpenSSL), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/pywinrm_client.py")
	// In pywinrm 0.3.0 these override server_cert_validation and
	// ca_trust_path; proxies must not see the loopback server.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "OPENSSL_CONF", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "OPENSSL_CONF="+conf, "NO_PROXY=127.0.0.1,localhost", "PYTHONWARNINGS=ignore")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pywinrm: %v\n%s", err, stderr.String())
	}
	var results []pyResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("pywinrm output %q: %v\n%s", stdout.String(), err, stderr.String())
	}
	if len(results) != len(job.Ops) {
		t.Fatalf("pywinrm returned %d results for %d operations", len(results), len(job.Ops))
	}
	return results
}

func TestPywinrm(t *testing.T) {
	for _, tt := range []struct {
		name       string
		cfg        Config
		https      bool
		transport  string
		user, pass string
	}{
		// AllowUnencrypted is false: a message that is not sealed gets 401.
		{name: "HTTP NTLM with message encryption", cfg: Config{NTLM: true}, transport: "ntlm"},
		{name: "HTTP NTLM with message encryption as a domain user", cfg: Config{NTLM: true}, transport: "ntlm", user: bobUser, pass: bobPass},
		{name: "HTTPS Basic with a verified CA", cfg: Config{Basic: true}, https: true, transport: "basic"},
		{name: "HTTPS NTLM", cfg: Config{NTLM: true}, https: true, transport: "ntlm"},
		{name: "HTTP Basic", cfg: Config{Basic: true, AllowUnencrypted: true}, transport: "basic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, tt.cfg, tt.https)
			user, pass := aliceUser, alicePass
			if tt.user != "" {
				user, pass = tt.user, tt.pass
			}
			job := pyJob{URL: l.url, User: user, Password: pass, Transport: tt.transport, CA: l.caFile,
				Ops: []pyOp{
					{Cmd: "echo hello from pywinrm"},
					{Cmd: "err it broke"},
					{Cmd: "exit 7"},
					{Cmd: "echo", Args: []string{"joined", "arguments"}},
					{Cmd: "whoami"},
					{PS: "Get-Service WinRM | Select-Object Status"},
					{Cmd: "big 200000"},
				}}
			if !tt.https {
				job.Validation = "ignore"
			}
			got := runPywinrm(t, job)
			want := []pyResult{
				{Stdout: "hello from pywinrm\r\n"},
				{Stderr: "it broke\r\n"},
				{Code: 7},
				{Stdout: "joined arguments\r\n"},
				{Stdout: user + "\r\n"},
				{Stdout: "PS> Get-Service WinRM | Select-Object Status\r\n"},
			}
			for i, w := range want {
				if got[i] != w {
					t.Errorf("%+v: got %+v, want %+v", job.Ops[i], got[i], w)
				}
			}
			if big := got[len(got)-1]; big.Error != "" || len(big.Stdout) != 200000 || big.Code != 0 {
				t.Errorf("big output: %d bytes, code %d, error %q", len(big.Stdout), big.Code, big.Error)
			}
			if n := l.srv.Shells(); n != 0 {
				t.Errorf("%d shells left open, want 0 (run_cmd deletes its shell)", n)
			}
		})
	}
}

func TestPywinrmRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cfg   Config
		https bool
		job   pyJob
	}{
		{name: "wrong NTLM password", cfg: Config{NTLM: true}, job: pyJob{Transport: "ntlm", Password: "wrong"}},
		{name: "wrong Basic password", cfg: Config{Basic: true}, https: true, job: pyJob{Transport: "basic", Password: "wrong"}},
		{name: "unknown user", cfg: Config{}, https: true, job: pyJob{Transport: "ntlm", User: "mallory"}},
		{name: "NTLM without encryption over HTTP", cfg: Config{NTLM: true}, job: pyJob{Transport: "ntlm", MessageEncryption: "never"}},
		{name: "Basic over HTTP", cfg: Config{Basic: true}, job: pyJob{Transport: "basic"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, tt.cfg, tt.https)
			job := tt.job
			job.URL, job.CA, job.Ops = l.url, l.caFile, []pyOp{{Cmd: "echo should not run"}}
			if job.User == "" {
				job.User = aliceUser
			}
			if job.Password == "" {
				job.Password = alicePass
			}
			got := runPywinrm(t, job)[0]
			if !strings.Contains(got.Error, "InvalidCredentialsError") {
				t.Errorf("got %+v, want InvalidCredentialsError", got)
			}
			if l.host.count() != 0 {
				t.Errorf("a command ran")
			}
		})
	}
}

func TestPywinrmLongPoll(t *testing.T) {
	// A 3 s command, a 1 s OperationTimeout: pywinrm retries on the
	// TimedOut fault without a tight loop.
	for _, tt := range []struct {
		name      string
		cfg       Config
		https     bool
		transport string
		auth      int64 // requests of the NTLM handshake
	}{
		{name: "HTTPS Basic", cfg: Config{Basic: true}, https: true, transport: "basic"},
		{name: "HTTP NTLM with message encryption", cfg: Config{NTLM: true}, transport: "ntlm", auth: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.OperationTimeout = time.Second
			l := startLab(t, tt.cfg, tt.https)
			got := runPywinrm(t, pyJob{URL: l.url, User: aliceUser, Password: alicePass, Transport: tt.transport,
				CA: l.caFile, Validation: "validate", Ops: []pyOp{{Cmd: "sleep 3"}}})
			if got[0] != (pyResult{Stdout: "slept\r\n"}) {
				t.Fatalf("got %+v", got[0])
			}
			// Create, Command, three or four Receives, Signal, Delete.
			n := l.srv.Requests() - tt.auth
			if n < 6 || n > 9 {
				t.Errorf("%d requests besides authentication, want 7 or 8", n)
			}
			t.Logf("sleep 3 with a 1 s OperationTimeout: %d requests (%d for authentication)", n+tt.auth, tt.auth)
		})
	}
}
