package kb

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"onboard/internal/directory"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// failureOf is the failure the engine records for err (engine.fail):
// the message, and a command's output when err is a *step.CommandError.
func failureOf(host, phase string, err error) *result.Failure {
	f := &result.Failure{Host: host, Phase: phase, Message: err.Error()}
	var ce *step.CommandError
	if errors.As(err, &ce) {
		f.Command, f.ExitCode, f.Output = ce.Command, ce.ExitCode, ce.Combined()
	}
	return f
}

// TestShippedArticles proves that every article shipped in inventory/kb
// answers the error text onboard really produces for its failure. Where
// the error cannot be made here without a host, its format string is
// copied from the code, cited beside it.
func TestShippedArticles(t *testing.T) {
	b, err := Load(filepath.Join("..", "..", "inventory", "kb"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		article string
		kind    string
		f       *result.Failure
	}{
		// internal/remote/ssh/hostkey.go, hostKeyChecker.explain.
		{"unknown-host-key", "package", failureOf("ws7", "connect", fmt.Errorf("%s: unknown host key %s; if this is the right host, run again with %s to trust it "+
			"(it is then saved to %s), or add its key to a known_hosts file: %w",
			"ws7 (10.77.0.7:22)", "ssh-ed25519 SHA256:2mZ0x8", "--accept-new-host-key", "inventory/known_hosts", remote.ErrHostKey))},
		// internal/step/package.go: the Msg of the CommandError for a package the sources lack.
		{"package-not-in-sources", "package", failureOf("ws7", "apply", &step.CommandError{Host: "ws7",
			Out: step.Out{Command: "apt-get install -y acme-chat", ExitCode: 100, Stderr: "E: Unable to locate package acme-chat"},
			Msg: fmt.Sprintf("package %s is not in the host's package sources", "acme-chat")})},
		// apt's own words, from a command onboard ran.
		{"package-not-in-sources", "command", failureOf("ws7", "apply", &step.CommandError{Host: "ws7",
			Out: step.Out{ExitCode: 100, Stderr: "Reading package lists...\nE: Unable to locate package acme-chat"}})},
		// internal/step/printer.go, Printer.Apply: x.Must's message for the IPP probe.
		{"printer-no-ipp", "printer", failureOf("ws7", "apply", &step.CommandError{Host: "ws7",
			Out: step.Out{ExitCode: 1, Stderr: "ipptool: Unable to connect to \"10.77.0.50\" on port 631 - Connection refused"},
			Msg: fmt.Sprintf("printer %s does not answer at %s", "floor2", "ipp://10.77.0.50/ipp/print")})},
		// internal/step/printer.go, Printer.Apply: after the tries.
		{"printer-no-ipp", "printer", failureOf("ws7", "apply", fmt.Errorf("%s: printer %s at %s answered, but CUPS could not read its attributes to make a driver (%d tries)",
			"ws7", "floor2", "ipps://10.77.0.50/ipp/print", 3))},
		// internal/directory: an *Error carrying ErrPasswordPolicy.
		{"password-policy", "account", failureOf("directory corp", "apply", &directory.Error{Directory: "corp", Server: "ldaps://dc1.corp.example:636",
			Op: "set the password of", DN: "CN=Ada Lovelace,OU=Staff,DC=corp,DC=example",
			Err: fmt.Errorf("%w: LDAP 19 (Constraint Violation): 0000052D: Constraint violation", directory.ErrPasswordPolicy)})},
		// internal/step/account.go, Computer.Check.
		{"stale-computer-account", "computer", failureOf("directory corp", "check", fmt.Errorf("a computer account %s already exists and onboard did not pre-stage it for %s; set machine.domain_join.stale: reuse if it is this machine's, or remove it",
			"CN=WS7,OU=Computers,DC=corp,DC=example", "h-1001"))},
		// internal/step/account.go, Join.Apply.
		{"stale-computer-account", "domain-join", failureOf("ws7", "apply", fmt.Errorf("a computer account %s already exists in %s and this host is not joined to it; set machine.domain_join.stale: reuse to join with it, or remove it",
			"CN=WS7,OU=Computers,DC=corp,DC=example", "corp.example"))},
		// internal/remote/winrm/transport.go: the 401 netError, as
		// Client.failure renders it (where: op: msg: kind).
		{"winrm-auth", "win-software", failureOf("win1", "connect", fmt.Errorf("%s: %s: %s: %w", "win1 (10.77.0.20:5985)", "open shell",
			fmt.Sprintf("login as %s with %s authentication refused (HTTP 401)", "onboard", "ntlm"), remote.ErrAuth))},
		// internal/remote/winrm/transport.go, Client.failure: access denied.
		{"winrm-auth", "win-software", failureOf("win1", "connect", fmt.Errorf("%s: %s: %s may log in but not use WinRM (add it to Administrators or Remote Management Users): %w: %w",
			"win1 (10.77.0.20:5985)", "open shell", "onboard", errors.New("WinRM fault: access denied"), remote.ErrAuth))},
		// internal/step/windows.go, Reboot.Apply.
		{"reboot-not-back", "reboot", failureOf("win1", "apply", fmt.Errorf("%s did not come back within %s of the reboot: %s", "win1", "10m0s", "its boot time did not change"))},
	}
	answered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.article, func(t *testing.T) {
			m := b.Match(tt.f, tt.kind)
			if len(m) == 0 || m[0].ID != tt.article {
				t.Fatalf("%q (kind %s, phase %s) matched %v, want %s first", tt.f.Message, tt.kind, tt.f.Phase, ids(m), tt.article)
			}
			if m[0].Fix() == "" || m[0].Link == "" {
				t.Errorf("%s has no fix or no link", tt.article)
			}
			answered[tt.article] = true
		})
	}
	for _, a := range b.Articles {
		if !answered[a.ID] {
			t.Errorf("shipped article %s is proved by no real error text", a.ID)
		}
	}
}

func ids(as []Article) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}
