package step

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestGroupsSeen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []string
	}{
		{"two", []string{"crm-users", "sales"}},
		{"none", []string{}},
		{"names with commas, quotes and brackets", []string{`R&D, "core"`, "a]b", "ünïcode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "disabled ada (uid=ada,ou=People); it was in " + groupsEvidence(tc.groups)
			got, ok := GroupsSeen(text)
			if !ok || !reflect.DeepEqual(got, tc.groups) {
				t.Errorf("GroupsSeen(%q) = %q, %v; want %q", text, got, ok, tc.groups)
			}
		})
	}
	if g := groupsEvidence(nil); g != "groups []" {
		t.Errorf("groupsEvidence(nil) = %q", g)
	}
	for _, text := range []string{"enabled ada", "groups [unterminated", ""} {
		if g, ok := GroupsSeen(text); ok {
			t.Errorf("GroupsSeen(%q) = %q, true; want nothing", text, g)
		}
	}
}

func TestNotYet(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	clock := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	now = func() time.Time { return clock }
	leave := time.Date(2026, 12, 3, 18, 0, 0, 0, time.FixedZone("CET", 3600)) // 17:00 UTC

	err := notYet("disable ada", leave)
	var ny *NotYetError
	if !errors.As(err, &ny) || err.Error() != "not yet: disable ada is due at 2026-12-03T17:00:00Z" {
		t.Errorf("an hour early: %v", err)
	}
	if got := dueNote(leave); got != "; due at 2026-12-03T17:00:00Z (not yet)" {
		t.Errorf("dueNote = %q", got)
	}
	for _, at := range []time.Time{{}, clock, clock.Add(-time.Second)} {
		if err := notYet("disable ada", at); err != nil {
			t.Errorf("notYet at %s: %v", at, err)
		}
		if got := dueNote(at); got != "" {
			t.Errorf("dueNote(%s) = %q", at, got)
		}
	}
	held := &NotYetError{What: "delete ada", Hold: "the account is under legal hold"}
	if held.Error() != "not yet: delete ada: the account is under legal hold" {
		t.Errorf("held: %q", held.Error())
	}
}
