package main

import (
	"strings"
	"testing"

	"onboard/internal/plan"
)

func TestWelcomeHire(t *testing.T) {
	sheet := plan.Handover{Welcome: &plan.Welcome{Sheets: []string{"/out/w.md"}}}
	one := &plan.Plan{Hires: []plan.Hire{{ID: "E1"}, {ID: "E2", Handover: sheet}}}
	two := &plan.Plan{Hires: []plan.Hire{{ID: "E1", Handover: sheet}, {ID: "E2", Handover: sheet}}}
	tests := []struct {
		name string
		p    *plan.Plan
		id   string
		want string // the hire chosen, or words of the error
	}{
		{"the one with a sheet", one, "", "E2"},
		{"named", two, "E1", "E1"},
		{"several unnamed", two, "", "name one with --hire"},
		{"named without a sheet", one, "E1", "asks for no welcome sheet"},
		{"unknown", one, "E9", "has no hire E9"},
		{"none with a sheet", &plan.Plan{Hires: []plan.Hire{{ID: "E1"}}}, "", "no hire of run r1 asks for a welcome sheet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := welcomeHire(tt.p, "r1", tt.id)
			switch {
			case err != nil && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %v, want %q", err, tt.want)
			case err == nil && h.ID != tt.want:
				t.Errorf("chose %q, want %q", h.ID, tt.want)
			}
		})
	}
}
