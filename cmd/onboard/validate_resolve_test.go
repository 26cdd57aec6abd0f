package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// validate says that it did not resolve credential references; with
// --resolve it resolves them and reports each that cannot be at its field,
// as plan would otherwise meet it when connecting.
func TestValidateResolve(t *testing.T) {
	inv := filepath.Join("testdata", "resolve", "inventory.yaml")
	validate := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-i", inv, "validate"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := validate()
	if code != exitOK || !strings.Contains(out, "note: 2 credential reference(s) not resolved: onboard validate --resolve reads them") {
		t.Fatalf("without --resolve: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = validate("--resolve")
	if code != exitInvalid || out != "" {
		t.Fatalf("--resolve: exit %d, stdout %q, want %d and nothing", code, out, exitInvalid)
	}
	for _, want := range []string{
		"inventory.yaml:5:17: hosts.ws1.credential: cannot be resolved: credential env:ONBOARD_TEST_RESOLVE_KEY: environment variable ONBOARD_TEST_RESOLVE_KEY is not set",
		"inventory.yaml:6:22: hosts.ws1.become_password: cannot be resolved: credential file:",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("--resolve errors lack %q:\n%s", want, errs)
		}
	}
	t.Setenv("ONBOARD_TEST_RESOLVE_KEY", "a-key-that-must-not-show")
	code, _, errs = validate("--resolve")
	if code != exitInvalid || strings.Contains(errs, "hosts.ws1.credential") || strings.Contains(errs, "a-key-that-must-not-show") {
		t.Errorf("with the variable set: exit %d\n%s", code, errs)
	}
}
