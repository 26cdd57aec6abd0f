package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// onboard offboard refuses what it cannot act on, before reaching anything
// (exit 2): a hire the journal shows no setup of, a leave time it cannot
// read, --at with --purge.
func TestOffboardRefuses(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "journal.db")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown hire", []string{"E999"}, "offboard: the journal shows no setup of this hire: nothing is known to take down"},
		{"bad time", []string{"E999", "--at", "next friday"}, `--at "next friday": give RFC 3339`},
		{"purge at", []string{"E999", "--purge", "--at", "2026-12-24"}, "--at is the leave time of an offboarding"},
		{"no hire", nil, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"offboard", "-i", "testdata/cli/inventory.yaml", "--journal", journal}, tt.args...)
			code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
			if code != exitInvalid || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errb.String(), exitInvalid, tt.want)
			}
		})
	}
}

func TestParseLeaveTime(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, loc)
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-12-24T18:00:00Z", time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)},
		{"2026-12-24T18:00", time.Date(2026, 12, 24, 18, 0, 0, 0, loc)},
		{"2026-12-24 18:00", time.Date(2026, 12, 24, 18, 0, 0, 0, loc)},
		{"2026-12-24", time.Date(2026, 12, 24, 0, 0, 0, 0, loc)},
	} {
		got, err := parseLeaveTime(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseLeaveTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseLeaveTime("24.12.2026", now); err == nil {
		t.Error("24.12.2026 was read")
	}
}
