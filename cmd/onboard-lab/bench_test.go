package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"20,50", []int{20, 50}, true},
		{" 5 ", []int{5}, true},
		{"", nil, true},
		{"20,,50,", []int{20, 50}, true},
		{"0", nil, false},
		{"x", nil, false},
		{"-3", nil, false},
	} {
		got, err := sizes(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("sizes(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestBenchRefusesBeforeStartingALab: bad flags and a missing onboard
// binary are reported before any lab starts (no root needed).
func TestBenchRefusesBeforeStartingALab(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-trivial", "x"}, `size "x"`},
		{[]string{"bench", "-onboard", "/nonexistent/onboard"}, "onboard binary"},
		{[]string{"bench", "extra"}, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
