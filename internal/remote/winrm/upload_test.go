package winrm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/lab/wsman"
	"onboard/internal/powershell"
)

func TestUpload(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	if err := os.MkdirAll(filepath.Join(s.host.root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 20000) // about 13 chunks
	rand.Read(random)
	tests := []struct {
		name, path string
		content    []byte
	}{
		{"small", `C:\dir\small.txt`, []byte("hello\r\n")},
		{"empty", `C:\dir\empty.txt`, nil},
		{"binary, many chunks", `C:\dir\random.bin`, random},
		{"quotes in the name", `C:\dir\O'Brien ‘x’ $(whoami).txt`, []byte("quoted")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.host.commandLines())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := c.Upload(ctx, tt.path, bytes.NewReader(tt.content), 0o644, false); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			got, err := os.ReadFile(s.host.local(tt.path))
			if err != nil || !bytes.Equal(got, tt.content) {
				t.Fatalf("got %d bytes (%v), want %d", len(got), err, len(tt.content))
			}
			lines := s.host.commandLines()[before:]
			for _, l := range lines {
				if len(l) > powershell.MaxCommandLine {
					t.Errorf("command line of %d characters", len(l))
				}
			}
			t.Logf("%d bytes in %d commands", len(tt.content), len(lines))
		})
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(filepath.Join(s.host.root, "dir"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".onboard-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}

	t.Run("overwrite", func(t *testing.T) {
		path := `C:\dir\small.txt`
		if err := c.Upload(context.Background(), path, strings.NewReader("new"), 0, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(s.host.local(path)); string(got) != "new" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		err := c.Upload(context.Background(), `C:\nodir\x.txt`, strings.NewReader("x"), 0, false)
		if err == nil || !strings.Contains(err.Error(), "exit code 1") || !strings.Contains(err.Error(), "no such file") || strings.Contains(err.Error(), "CLIXML") {
			t.Fatalf("got %v; want exit code 1 with the decoded error", err)
		}
		t.Log(err)
	})
	t.Run("reader fails midway", func(t *testing.T) {
		path := `C:\dir\partial.bin`
		r := io.MultiReader(bytes.NewReader(random[:5000]), errReader{})
		err := c.Upload(context.Background(), path, r, 0, false)
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(s.host.local(path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("destination exists after a failed upload: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Join(s.host.root, "dir"))
		for _, e := range entries {
			if strings.Contains(e.Name(), "partial") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	})
	t.Run("invalid paths", func(t *testing.T) {
		for _, p := range []string{"relative.txt", `C:\dir\`, "/etc/passwd", "C:\\a\nb"} {
			if err := c.Upload(context.Background(), p, strings.NewReader("x"), 0, false); err == nil || !strings.Contains(err.Error(), "invalid destination") {
				t.Errorf("%q: %v", p, err)
			}
		}
	})
}

func TestUploadChunkSize(t *testing.T) {
	for _, p := range []string{
		`C:\x`,
		`C:\Program Files\Onboard\config\settings.json`,
		`C:\` + strings.Repeat(`d'’\`, 40) + "f.txt", // quotes double in the literal
		`\\fs01\share\` + strings.Repeat("é", 100),   // non-ASCII: 2 bytes in UTF-8, 1 UTF-16 unit
	} {
		ch := uploadChunk{Path: p, Temp: p + ".onboard-01234567.tmp", Append: true, Final: true, Size: 1 << 40}
		n := chunkBytes(ch)
		if n < 1000 {
			t.Errorf("%.40q: chunk of %d bytes", p, n)
		}
		ch.Data = strings.Repeat("A", n/3*4)
		line, stdin := uploadScript(ch).Command()
		if stdin != nil || len(line) > powershell.MaxCommandLine {
			t.Errorf("%.40q: %d-byte chunk makes a %d-character command line", p, n, len(line))
		}
		ch.Data += "AAAA" // one more base64 quantum no longer fits
		if _, stdin := uploadScript(ch).Command(); stdin == nil {
			t.Errorf("%.40q: %d bytes is not the largest chunk", p, n)
		}
		t.Logf("%d-character path: %d bytes per chunk", len(p), n)
	}
	if n := chunkBytes(uploadChunk{Path: `C:\` + strings.Repeat("x", 4000)}); n != 0 {
		t.Errorf("a 4000-character path leaves room for %d bytes", n)
	}
}

// TestUploadScriptGolden keeps the upload script in testdata, where the
// powershell package's grammar test checks it.
func TestUploadScriptGolden(t *testing.T) {
	ch := uploadChunk{Path: `C:\ProgramData\Onboard\O'Brien.txt`, Temp: `C:\ProgramData\Onboard\O'Brien.txt.onboard-0a1b2c3d.tmp`, Data: "aGVsbG8=", Append: true, Final: true, Size: 5}
	golden.Assert(t, "testdata/upload.ps1", []byte(uploadScript(ch).Text()))
	abort := powershell.Script{Op: opUploadAbort, Body: uploadAbortBody, Data: struct {
		Temp string `json:"temp"`
	}{ch.Temp}}
	golden.Assert(t, "testdata/upload-abort.ps1", []byte(abort.Text()))
}
