package lab

import (
	"context"
	"testing"
	"time"
)

// ForTest starts a lab for a test and stops it when the test ends. A missing
// prerequisite fails the test (it never skips): a lab test that cannot run
// must not look like one that passed.
func ForTest(t testing.TB, cfg Config) *Lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Stop(ctx); err != nil {
			t.Errorf("stop lab %s: %v", l.Name(), err)
		}
	})
	return l
}
