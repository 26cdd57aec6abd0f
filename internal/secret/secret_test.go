package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const pw = "Tr0ub4dor&3-horse"

func TestValueNeverPrints(t *testing.T) {
	v := New(pw)
	type holder struct {
		User string
		Pass Value
	}
	h := holder{"ada", v}
	var logbuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logbuf, nil))
	log.Info("x", "v", v, "h", h, "m", map[string]Value{"k": v})
	jb, _ := json.Marshal(h)
	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", v),
		"%s":         fmt.Sprintf("%s", v),
		"%q":         fmt.Sprintf("%q", v),
		"%+v struct": fmt.Sprintf("%+v", h),
		"%#v struct": fmt.Sprintf("%#v", h),
		"wrapped":    fmt.Errorf("bind as %v: %w", v, errors.New("fail")).Error(),
		"json":       string(jb),
		"slog":       logbuf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, pw) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not show %s: %s", name, Redacted, out)
		}
	}
	if v.Reveal() != pw {
		t.Fatalf("Reveal = %q", v.Reveal())
	}
}

func TestScrubAndReplaceAttr(t *testing.T) {
	New(pw)
	if got := Scrub("sudo: " + pw + " rejected"); strings.Contains(got, pw) {
		t.Errorf("Scrub left the secret: %s", got)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr}))
	log.Info("run", "password", "hunter22", "out", "echo "+pw, "err", errors.New("auth "+pw))
	if s := buf.String(); strings.Contains(s, "hunter22") || strings.Contains(s, pw) {
		t.Errorf("log leaks: %s", s)
	}
}

func TestScrubNestedSecrets(t *testing.T) {
	New("Winter2026")
	New("Winter2026!backup")
	for i := 0; i < 50; i++ {
		if got := Scrub("pw Winter2026!backup and Winter2026"); got != "pw [redacted] and [redacted]" {
			t.Fatalf("Scrub = %q", got)
		}
	}
}

func TestValidateNeverEchoes(t *testing.T) {
	for _, v := range []string{"correct horse battery staple", "S3cret/Pass", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", "hunter2"} {
		err := Ref(v).Validate()
		if err == nil || strings.Contains(err.Error(), v) || strings.Contains(err.Error(), v[:4]) {
			t.Errorf("Validate(%q) = %v", v, err)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ONBOARD_TEST_PW", "from-env-123")
	r := &Resolver{BaseDir: dir}
	tests := []struct {
		ref     Ref
		want    string
		wantErr string
	}{
		{"env:ONBOARD_TEST_PW", "from-env-123", ""},
		{"env:ONBOARD_TEST_UNSET", "", "is not set"},
		{"file:pw", "from-file-123", ""},
		{"file:missing", "", "no such file"},
		{"cmd:printf from-cmd-123", "from-cmd-123", ""},
		{"cmd:exit 3", "", "command failed"},
		{"cmd:true", "", "printed nothing"},
		{"hunter2hunter2", "", "must be a reference starting with env:, file: or cmd:"},
		{"env:", "", "names nothing"},
	}
	for _, tt := range tests {
		t.Run(string(tt.ref), func(t *testing.T) {
			v, err := r.Resolve(context.Background(), tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2hunter2") {
					t.Errorf("error echoes a pasted password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Reveal() != tt.want {
				t.Errorf("got %q want %q", v.Reveal(), tt.want)
			}
		})
	}
}

func TestResolveRunsACommandOnce(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	r := &Resolver{BaseDir: dir}
	ref := Ref("cmd:echo x >> " + count + "; printf pw-once-123")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Resolve(context.Background(), ref); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 1 {
		t.Errorf("the command ran %d times", strings.Count(string(b), "x"))
	}
}
