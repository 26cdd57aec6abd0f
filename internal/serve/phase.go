package serve

import (
	"sort"

	"onboard/internal/plan"
	"onboard/internal/serve/store"
)

// Phases, in the order they run around the start date: the account some
// days before (created disabled, with its groups), the machine the day
// before (joined, software, printers, files), activation on the morning
// (enabled, password delivered, checks, handover).
const (
	PhaseAccount    = "account"
	PhaseMachine    = "machine"
	PhaseActivation = "activation"
)

// Phases lists them in order.
var Phases = []string{PhaseAccount, PhaseMachine, PhaseActivation}

// phaseOf is the phase a step kind belongs to. A kind not listed runs at
// activation: the last moment, when everything else is in place.
func phaseOf(kind string) int {
	switch kind {
	case plan.KindAccount, plan.KindMembership:
		return 0
	case plan.KindComputer, plan.KindJoin, plan.KindPackage, plan.KindPrinter, plan.KindFile, plan.KindCommand,
		plan.KindWinSoftware, plan.KindWinPrinter, plan.KindLocalGroup, plan.KindWinJoin, plan.KindWinCommand,
		plan.KindWinFile, plan.KindReboot:
		return 1
	}
	return 2
}

func phaseIndex(phase string) int {
	switch phase {
	case PhaseOffboard: // a leaver's phases come after the setup's
		return len(Phases)
	case PhasePurge:
		return len(Phases) + 1
	}
	for i, p := range Phases {
		if p == phase {
			return i
		}
	}
	return len(Phases) - 1
}

// phasePlan keeps the steps of phase and of every phase before it, with
// whatever they depend on. Earlier phases' steps are checked again and
// left alone when in place, so a phase that failed is resumed by the
// next one, and phases that run late or together still do everything.
func phasePlan(p *plan.Plan, phase string) *plan.Plan {
	upto := phaseIndex(phase)
	keep := map[string]bool{}
	var add func(id string)
	add = func(id string) {
		if keep[id] {
			return
		}
		s := p.Step(id)
		if s == nil {
			return
		}
		keep[id] = true
		for _, d := range s.DependsOn {
			add(d)
		}
	}
	for _, s := range p.Steps {
		if phaseOf(s.Kind) <= upto {
			add(s.ID)
		}
	}
	out := *p
	out.Steps = nil
	for _, s := range p.Steps {
		if keep[s.ID] {
			out.Steps = append(out.Steps, s)
		}
	}
	return &out
}

// sortRuns orders a hire's runs by generation, then phase.
func sortRuns(runs []*store.Run) {
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Generation != runs[j].Generation {
			return runs[i].Generation < runs[j].Generation
		}
		return phaseIndex(runs[i].Phase) < phaseIndex(runs[j].Phase)
	})
}
