package step

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// PackageRemove removes a package the plan says onboard installed: apt
// removes it (not purges: the user's configuration stays), a catalogue
// "command" package runs its uninstall command. apt never takes another
// package with it: a package that depends on one being removed (which
// someone installed by hand, or a profile still wants) makes the removal
// fail, naming it, instead of disappearing with it.
type PackageRemove struct{}

// toRemove is a check's verdict that something is there and will be
// removed.
func toRemove(reason string) State { return differs(reason) }

func (PackageRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.Package
	v, err := Package{}.installed(ctx, x, p)
	if err != nil {
		return State{}, err
	}
	if v == "" {
		return inPlace(fmt.Sprintf("%s is not installed", p.Package)), nil
	}
	return toRemove(fmt.Sprintf("%s %s is installed, to remove", p.Package, v)), nil
}

func (PackageRemove) Probes(s *plan.Step) []Probe { return packageProbes(s.Package) }

// Apply removes one package: a batch of one.
func (k PackageRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	r := k.ApplyBatch(ctx, x, []*plan.Step{s})[0]
	return r.Changed, r.Err
}

// ApplyBatch removes the apt packages of several steps of one host in one
// apt transaction. A simulation first proves that the transaction takes
// nothing else; when it would, each package is simulated alone, those
// that would take a dependent fail (naming it) and the rest are removed
// together. When the transaction itself fails (a package's removal script
// failed), each package is removed on its own so that each step has its
// own outcome. Catalogue "command" packages are uninstalled one by one.
func (k PackageRemove) ApplyBatch(ctx context.Context, x *Exec, steps []*plan.Step) []Applied {
	res := make([]Applied, len(steps))
	before := make([]string, len(steps))
	var apt []int
	for i, s := range steps {
		before[i], _ = Package{}.installed(ctx, x, s.Package)
		switch {
		case s.Package.Removable() != nil:
			res[i].Err = fmt.Errorf("%s: %w", x.T.Host.Name, s.Package.Removable())
		case s.Package.Manager == "command":
			if _, err := x.Must(ctx, "uninstall "+s.Package.Name, s.Package.Uninstall, true); err != nil {
				res[i].Err = err
			}
		default:
			apt = append(apt, i)
		}
	}
	names := func(is []int) []string {
		var n []string
		for _, i := range is {
			n = append(n, steps[i].Package.Package)
		}
		return n
	}
	if len(apt) > 0 {
		apt = safeRemovals(ctx, x, apt, names, res)
	}
	if len(apt) > 0 {
		err := aptRemove(ctx, x, names(apt))
		if err != nil && len(apt) > 1 && !isTransport(err) {
			for _, i := range apt {
				res[i].Err = aptRemove(ctx, x, names([]int{i}))
			}
		} else {
			for _, i := range apt {
				res[i].Err = err
			}
		}
	}
	x.T.Invalidate()
	for i, s := range steps {
		if res[i].Err == nil {
			res[i].Changed = strings.TrimSpace(fmt.Sprintf("removed %s %s", s.Package.Package, before[i]))
		}
	}
	return res
}

// aptRemoveArgs are apt-get's options for a removal: no questions, no
// autoremove of what the removed packages pulled in (apt's own
// AutomaticRemove may be on; what else goes is a decision for a plan).
const aptRemoveArgs = "-y -q -o DPkg::Lock::Timeout=120 -o APT::Get::AutomaticRemove=false"

// simulateRemove asks apt what removing pkgs would remove besides them.
func simulateRemove(ctx context.Context, x *Exec, pkgs []string) ([]string, Out, error) {
	sim, err := x.Must(ctx, "simulate removing "+strings.Join(pkgs, " "), "LC_ALL=C apt-get -s remove "+aptRemoveArgs+" "+shell.Join(pkgs...), true)
	if err != nil {
		return nil, sim, err
	}
	return alsoRemoved(sim.Stdout, pkgs), sim, nil
}

// safeRemovals returns those of the packages at idx whose removal takes
// no other package, and fails the steps of the others in res.
func safeRemovals(ctx context.Context, x *Exec, idx []int, names func([]int) []string, res []Applied) []int {
	extra, sim, err := simulateRemove(ctx, x, names(idx))
	switch {
	case err != nil:
		for _, i := range idx {
			res[i].Err = err
		}
		return nil
	case len(extra) == 0:
		return idx
	case len(idx) == 1:
		res[idx[0]].Err = dependentsError(x, names(idx), extra, sim)
		return nil
	}
	// Which packages take a dependent with them: each alone. Those that
	// take nothing alone take nothing together either (what a removal
	// takes is the union of what each package's takes).
	var safe []int
	for _, i := range idx {
		one := names([]int{i})
		extra, sim, err := simulateRemove(ctx, x, one)
		switch {
		case err != nil:
			res[i].Err = err
		case len(extra) > 0:
			res[i].Err = dependentsError(x, one, extra, sim)
		default:
			safe = append(safe, i)
		}
	}
	return safe
}

func dependentsError(x *Exec, pkgs, extra []string, sim Out) error {
	return &CommandError{Host: x.T.Host.Name, Out: sim, Msg: fmt.Sprintf("removing %s would also remove %s, which depend on it: nothing removed",
		strings.Join(pkgs, " "), strings.Join(extra, ", "))}
}

// aptRemove removes pkgs in one transaction.
func aptRemove(ctx context.Context, x *Exec, pkgs []string) error {
	what := strings.Join(pkgs, " ")
	cmd := "DEBIAN_FRONTEND=noninteractive apt-get remove " + aptRemoveArgs + " " + shell.Join(pkgs...)
	out, err := x.Must(ctx, "remove "+what, cmd, true)
	if err == nil || !strings.Contains(out.Combined(), "dpkg was interrupted") {
		return err
	}
	// A run killed during a removal leaves dpkg half done.
	if _, err := x.Must(ctx, "finish an interrupted dpkg run", "DEBIAN_FRONTEND=noninteractive dpkg --configure -a", true); err != nil {
		return err
	}
	_, err = x.Must(ctx, "remove "+what, cmd, true)
	return err
}

// alsoRemoved reads apt-get -s output ("Remv NAME [VERSION]" per package
// it would remove) and returns the packages it would remove besides pkgs.
func alsoRemoved(sim string, pkgs []string) []string {
	var extra []string
	for _, line := range strings.Split(sim, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Remv ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		base, _, _ := strings.Cut(name, ":") // an architecture-qualified name
		if !slices.Contains(pkgs, name) && !slices.Contains(pkgs, base) {
			extra = append(extra, name)
		}
	}
	return extra
}

// PrinterRemove removes a CUPS queue (lpadmin -x); in place when CUPS has
// no such queue.
type PrinterRemove struct{}

func (PrinterRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.Printer
	st, err := checkPrinter(ctx, x, p.Name)
	if err != nil {
		return State{}, err
	}
	if !st.exists {
		return inPlace(fmt.Sprintf("queue %s does not exist", p.Name)), nil
	}
	return toRemove(fmt.Sprintf("queue %s prints to %s, to remove", p.Name, st.uri)), nil
}

func (PrinterRemove) Probes(s *plan.Step) []Probe { return []Probe{{lpstatCmd(), false}} }

func (PrinterRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	p := s.Printer
	st, err := readPrinter(ctx, x, p.Name)
	if err != nil {
		return "", err
	}
	if _, err := x.Must(ctx, "remove printer "+p.Name, shell.Cmd("lpadmin -x", p.Name), true); err != nil {
		return "", err
	}
	x.T.Invalidate()
	what := fmt.Sprintf("removed queue %s (→ %s)", p.Name, st.uri)
	if st.isDefault {
		what += ", which was the default"
	}
	return what, nil
}
