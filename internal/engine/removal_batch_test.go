package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// removeHost is aptHost answering apt-get remove, and its simulation, as
// apt does: removing a package removes every installed package that
// depends on it.
type removeHost struct {
	*aptHost
	deps map[string][]string // package → what it depends on
}

// closure is pkgs and every installed package that depends on one of them.
func (h *removeHost) closure(pkgs []string) []string {
	gone := map[string]bool{}
	for _, p := range pkgs {
		if _, ok := h.installed[p]; ok {
			gone[p] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for p := range h.installed {
			for _, d := range h.deps[p] {
				if gone[d] && !gone[p] {
					gone[p], changed = true, true
				}
			}
		}
	}
	var out []string
	for p := range gone {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (h *removeHost) Run(ctx context.Context, c remote.Cmd) (int, error) {
	sim := strings.HasPrefix(c.Command, "LC_ALL=C apt-get -s remove ")
	if !sim && !strings.HasPrefix(c.Command, removeCmd) {
		return h.aptHost.Run(ctx, c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, c.Command)
	gone := h.closure(removeTargets(c.Command))
	for _, p := range gone {
		if sim {
			fmt.Fprintf(c.Stdout, "Remv %s [%s]\n", p, h.installed[p])
		} else {
			delete(h.installed, p)
		}
	}
	return 0, nil
}

const removeCmd = "DEBIAN_FRONTEND=noninteractive apt-get remove "

// removeTargets returns the package words of an apt-get remove line.
func removeTargets(cmd string) []string {
	w := words(cmd)
	var out []string
	for i := slices.Index(w, "remove") + 1; i < len(w); i++ {
		switch {
		case w[i] == "-o":
			i++
		case strings.HasPrefix(w[i], "-"):
		default:
			out = append(out, w[i])
		}
	}
	sort.Strings(out)
	return out
}

type removeDialer struct{ h *removeHost }

func (d removeDialer) Dial(context.Context, *plan.Host) (remote.Communicator, error) { return d.h, nil }

// A host's package removals run through the engine as one apt
// transaction (after one simulation), with one dpkg read for the checks,
// one for the verifies and one for the handover; a package another
// installed package depends on fails on its own and takes nothing with
// it, and the rest are still removed together.
func TestPackageRemovalsInOneTransaction(t *testing.T) {
	for _, tt := range []struct {
		name    string
		remove  []string
		removed [][]string // the targets of each apt-get remove
		sims    int
		failed  string
	}{
		{"three at once", []string{"acme-chat", "acme-crm", "acme-office"}, [][]string{{"acme-chat", "acme-crm", "acme-office"}}, 1, ""},
		{"one with a dependent", []string{"acme-chat", "acme-crm", "acme-git-tools"}, [][]string{{"acme-chat", "acme-crm"}}, 4, "acme-git-tools"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 5; i++ { // which step leads the batch varies from run to run
				h := &removeHost{aptHost: newAptHost(labRepo), deps: map[string][]string{"acme-ide": {"acme-git-tools"}}}
				for _, p := range []string{"acme-chat", "acme-crm", "acme-office", "acme-ide", "acme-git-tools", "acme-vpn"} {
					h.installed[p] = "1.0"
				}
				p := &plan.Plan{Hosts: map[string]*plan.Host{"ws1": {Name: "ws1"}}, Hires: []plan.Hire{{ID: "H", Host: "ws1"}}}
				for _, n := range tt.remove {
					p.Steps = append(p.Steps, &plan.Step{ID: "rm:" + n, Kind: plan.KindPackageRemove, Hire: "H", Host: "ws1", Timeout: plan.Duration(time.Minute),
						Rule: plan.RulePlaced, Package: &plan.PackageSpec{Name: n, Manager: "apt", Package: n}})
				}
				e := &Engine{Dialer: removeDialer{h}, Parallel: 4, Retries: 1, RetryDelay: time.Millisecond,
					Kinds: map[string]step.Kind{plan.KindPackageRemove: step.PackageRemove{}}}
				r := e.Run(context.Background(), p, Apply)
				for _, s := range r.Steps {
					name := strings.TrimPrefix(s.ID, "rm:")
					if name == tt.failed {
						if s.Outcome != result.Failed || s.Failure == nil || !strings.Contains(s.Failure.Message, "would also remove acme-ide") {
							t.Fatalf("%s: %s %+v", s.ID, s.Outcome, s.Failure)
						}
						continue
					}
					if s.Outcome != result.Changed || s.Changed != "removed "+name+" 1.0" {
						t.Fatalf("%s: %s %q %+v", s.ID, s.Outcome, s.Changed, s.Failure)
					}
				}
				var got [][]string
				for _, c := range h.cmds {
					if strings.HasPrefix(c, removeCmd) {
						got = append(got, removeTargets(c))
					}
				}
				if !slices.EqualFunc(got, tt.removed, slices.Equal) {
					t.Fatalf("removals = %q, want %q", got, tt.removed)
				}
				if n := h.count("LC_ALL=C apt-get -s remove"); n != tt.sims {
					t.Errorf("%d simulations, want %d", n, tt.sims)
				}
				if n := h.count(dpkgCmd); n != 3 {
					t.Errorf("dpkg-query ran %d times, want 3", n)
				}
				for _, keep := range []string{"acme-ide", "acme-git-tools", "acme-vpn"} {
					if _, ok := h.installed[keep]; !ok {
						t.Errorf("%s was removed", keep)
					}
				}
				for _, s := range r.Handover {
					if s.Outcome != result.OK && strings.TrimPrefix(s.ID, "rm:") != tt.failed {
						t.Errorf("handover %s: %s %s", s.ID, s.Outcome, s.Reason)
					}
				}
			}
		})
	}
}
