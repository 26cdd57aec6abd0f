package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// validate reports what plan would refuse about usernames without asking
// the directory: an explicit name breaking its directory kind's rules, and
// names that give nothing readable with no fallback. Names that can be
// repaired or transliterated, or fall back, are valid.
func TestValidateUsernames(t *testing.T) {
	dir := filepath.Join("testdata", "names")
	validate := func(files ...string) (int, string, string) {
		args := []string{"-i", filepath.Join(dir, "inventory.yaml"), "validate"}
		for _, f := range files {
			args = append(args, filepath.Join(dir, f))
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := validate("valid-jr.yaml", "valid-scripts.yaml", "valid-fallback.yaml")
	if code != exitOK || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("valid names refused: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = validate("bad-explicit.yaml", "bad-template.yaml", "bad-long.yaml", "bad-nofallback.yaml", "bad-posix.yaml")
	if code != exitInvalid || out != "" {
		t.Fatalf("exit %d, stdout %q, want %d and nothing", code, out, exitInvalid)
	}
	golden.Assert(t, filepath.Join(dir, "bad.golden"), []byte(errs))
}

// Extra account attributes are an allow-list: the four security-sensitive
// attributes of the review (and anything not informational) are refused at
// validation, each with its position and how to allow it; the inventory
// extends the list per directory but can never allow what onboard manages.
func TestValidateAttributes(t *testing.T) {
	dir := filepath.Join("testdata", "attributes")
	validate := func(inv string, files ...string) (int, string, string) {
		args := []string{"-i", filepath.Join(dir, inv), "validate"}
		for _, f := range files {
			args = append(args, filepath.Join(dir, f))
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := validate("inventory.yaml", "valid.yaml"); code != exitOK {
		t.Fatalf("allowed attributes refused: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs := validate("inventory.yaml", "sensitive.yaml")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d", code, exitInvalid)
	}
	golden.Assert(t, filepath.Join(dir, "sensitive.golden"), []byte(errs))
	code, _, errs = validate("bad-inventory.yaml")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d", code, exitInvalid)
	}
	golden.Assert(t, filepath.Join(dir, "bad-inventory.golden"), []byte(errs))
}
