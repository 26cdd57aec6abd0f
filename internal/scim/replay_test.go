package scim

import (
	"bytes"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"onboard/internal/scim/scimtest"
)

const testToken = "s3cret-Token-for-tests-only"

func checker(want string) TokenChecker {
	return func(got string) bool { return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 }
}

func newTestHandler(t *testing.T) (http.Handler, *memBackend, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	b := newMemBackend()
	h, err := NewHandler(b, checker(testToken), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return h, b, &logs
}

// TestReplayFixtures replays every recorded exchange of testdata against
// the handler over the in-memory Backend.
func TestReplayFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			scimtest.Replay(t, h, testToken, f)
		})
	}
}
