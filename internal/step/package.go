package step

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// Package installs software through the host's package manager (apt), or
// through the catalogue's own commands (manager "command").
type Package struct{}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) }

// installed returns the installed version of pkg, or "" when it is not.
func (Package) installed(ctx context.Context, x *Exec, p *plan.PackageSpec) (string, error) {
	if p.Manager == "command" {
		out, err := x.Run(ctx, p.IsInstalled, true, "")
		if err != nil || out.ExitCode != 0 {
			return "", err
		}
		if p.VersionQuery == "" {
			return "installed", nil
		}
		v, err := x.Must(ctx, "query the installed version of "+p.Name, p.VersionQuery, true)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(v.Stdout), nil
	}
	if strings.Contains(p.Package, ":") {
		// An architecture-qualified name is asked for on its own.
		return dpkgOne(ctx, x, p.Package)
	}
	db, err := dpkgDatabase(ctx, x)
	if err != nil {
		return "", err
	}
	return db[p.Package], nil
}

// dpkgQueryAll lists every package dpkg knows, one per line.
// dpkg-query replaces the shell that runs it (exec): one process on the
// host, not two.
const dpkgQueryAll = "LC_ALL=C exec dpkg-query -W -f='${Package}|${db:Status-Abbrev}|${Version}\\n'"

// dpkgDatabase returns the installed version of every package on the host
// (only fully installed ones), read with one dpkg-query and shared by all
// checks of the host until something is applied there: a host with ten
// package steps runs one query, not ten.
func dpkgDatabase(ctx context.Context, x *Exec) (map[string]string, error) {
	v, err := x.T.Cached("dpkg", func() (any, error) {
		out, err := x.Must(ctx, "list the installed packages", dpkgQueryAll, false)
		if err != nil {
			return nil, err
		}
		return parseDpkgDatabase(out.Stdout), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]string), nil
}

// parseDpkgDatabase reads "name|status|version" lines; packages that are
// removed, half-installed or config-files only are left out.
func parseDpkgDatabase(s string) map[string]string {
	db := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) != 3 || !strings.HasPrefix(f[1], "ii") {
			continue
		}
		db[f[0]] = f[2]
	}
	return db
}

func dpkgOneCmd(pkg string) string {
	return "LC_ALL=C exec dpkg-query -W -f='${db:Status-Abbrev}|${Version}' " + shell.Quote(pkg)
}

// dpkgOne asks dpkg for one package.
func dpkgOne(ctx context.Context, x *Exec, pkg string) (string, error) {
	out, err := x.Run(ctx, dpkgOneCmd(pkg), false, "")
	if err != nil {
		return "", err
	}
	if out.ExitCode != 0 {
		if strings.Contains(out.Stderr, "no packages found") {
			return "", nil
		}
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "query package " + pkg}
	}
	status, version, _ := strings.Cut(strings.TrimSpace(out.Stdout), "|")
	if !strings.HasPrefix(status, "ii") {
		return "", nil // removed, half-installed or config-files only
	}
	return version, nil
}

// VersionMatches says whether an installed version satisfies a wanted one:
// equal, or equal up to a Debian revision ("3.1.0" matches "3.1.0-2").
func VersionMatches(installed, want string) bool {
	if want == "" {
		return installed != ""
	}
	if !strings.Contains(want, ":") {
		// An epoch ("1:3.1.0-2") is not part of the version people write.
		if i := strings.IndexByte(installed, ':'); i > 0 {
			installed = installed[i+1:]
		}
	}
	return installed == want || strings.HasPrefix(installed, want+"-") || strings.HasPrefix(installed, want+"+")
}

func (k Package) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.Package
	v, err := k.installed(ctx, x, p)
	if err != nil {
		return State{}, err
	}
	switch {
	case v == "":
		return missing(fmt.Sprintf("%s is not installed", p.Package)), nil
	case !VersionMatches(v, p.Version):
		return differs(fmt.Sprintf("%s %s is installed, want %s", p.Package, v, p.Version)), nil
	}
	return inPlace(fmt.Sprintf("%s %s is installed", p.Package, v)), nil
}

// Apply installs one package: a batch of one.
func (k Package) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	r := k.ApplyBatch(ctx, x, []*plan.Step{s})[0]
	return r.Changed, r.Err
}

// ApplyBatch installs the apt packages of several steps of one host with
// one apt-get install, refreshing the index only when it lacks a wanted
// package or version or is older than the host's sources. Packages the
// sources do not offer fail on their own before the transaction; when the
// transaction fails anyway, each package is installed on its own so that
// each step reports its own outcome and the package that broke it is named
// by its own output. Catalogue "command" installs run one by one.
func (k Package) ApplyBatch(ctx context.Context, x *Exec, steps []*plan.Step) []Applied {
	res := make([]Applied, len(steps))
	var apt []int
	for i, s := range steps {
		if s.Package.Manager == "command" {
			res[i].Changed, res[i].Err = k.applyCommand(ctx, x, s.Package)
			continue
		}
		apt = append(apt, i)
	}
	if len(apt) == 0 {
		return res
	}
	before := map[int]string{}
	for _, i := range apt {
		before[i], _ = k.installed(ctx, x, steps[i].Package)
	}
	specs := make([]*plan.PackageSpec, len(apt))
	for j, i := range apt {
		specs[j] = steps[i].Package
	}
	targets, errs := resolve(ctx, x, specs)
	var todo []int // indexes into apt of the packages to install
	for j, i := range apt {
		if errs[j] != nil {
			res[i].Err = errs[j]
			continue
		}
		todo = append(todo, j)
	}
	install := func(js []int) error {
		names := make([]string, len(js))
		for n, j := range js {
			names[n] = targets[j]
		}
		return aptInstall(ctx, x, names)
	}
	if len(todo) > 0 {
		err := install(todo)
		if err != nil && !isTransport(err) {
			// The index was trusted without a refresh: a repository
			// rebuilt since may no longer hold the files it names.
			// A refresh that fails leaves the install's own error, which
			// says more.
			if ran, uerr := aptUpdate(ctx, x); uerr == nil && ran {
				err = install(todo)
			}
		}
		if err != nil && len(todo) > 1 && !isTransport(err) {
			// apt fails the whole transaction for one bad package: install
			// each alone so that the good ones land and the bad one carries
			// its own output.
			for _, j := range todo {
				res[apt[j]].Err = install([]int{j})
			}
		} else {
			for _, j := range todo {
				res[apt[j]].Err = err
			}
		}
	}
	x.T.Invalidate()
	for _, i := range apt {
		if res[i].Err != nil {
			continue
		}
		p := steps[i].Package
		after, _ := k.installed(ctx, x, p)
		if before[i] == "" {
			res[i].Changed = fmt.Sprintf("installed %s %s", p.Package, after)
		} else {
			res[i].Changed = fmt.Sprintf("%s %s → %s", p.Package, before[i], after)
		}
	}
	return res
}

// isTransport says whether err is a transport failure rather than a
// command that exited non-zero.
func isTransport(err error) bool {
	var ce *CommandError
	return !errors.As(err, &ce)
}

func (k Package) applyCommand(ctx context.Context, x *Exec, p *plan.PackageSpec) (string, error) {
	before, _ := k.installed(ctx, x, p)
	if _, err := x.Must(ctx, "install "+p.Name, p.Install, true); err != nil {
		return "", err
	}
	after, _ := k.installed(ctx, x, p)
	if before == "" {
		return fmt.Sprintf("installed %s %s", p.Package, after), nil
	}
	return fmt.Sprintf("%s %s → %s", p.Package, before, after), nil
}

// aptUpdate refreshes the package index, once per host per run; ran says
// whether this call did it.
func aptUpdate(ctx context.Context, x *Exec) (ran bool, err error) {
	err = x.T.Once("apt-update", func() error {
		ran = true
		_, err := x.Must(ctx, "refresh the package index", "DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=120", true)
		return err
	})
	return ran, err
}

// aptInstall installs targets ("name" or "name=version") in one apt
// transaction.
func aptInstall(ctx context.Context, x *Exec, targets []string) error {
	what := strings.Join(targets, " ")
	cmd := "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades " +
		"-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold " + shell.Join(targets...)
	out, err := x.Must(ctx, "install "+what, cmd, true)
	if err == nil {
		return nil
	}
	// A run killed during an install leaves dpkg half done; finish dpkg's
	// own work and try once more.
	if !strings.Contains(out.Combined(), "dpkg was interrupted") {
		return err
	}
	if _, err := x.Must(ctx, "finish an interrupted dpkg run", "DEBIAN_FRONTEND=noninteractive dpkg --configure -a", true); err != nil {
		return err
	}
	_, err = x.Must(ctx, "install "+what, cmd, true)
	return err
}

// sourcesChanged is printed by the madison command when a sources file is
// newer than the downloaded index (or the index is missing).
const sourcesChanged = "onboard: sources changed"

// madison lists the versions the host's index offers for pkgs, in one
// command, and whether the host's sources changed since the index was
// last downloaded.
func madison(ctx context.Context, x *Exec, pkgs []string) (map[string][]string, bool, Out, error) {
	cmd := "LC_ALL=C apt-cache madison " + shell.Join(pkgs...) +
		"; if [ ! -d /var/lib/apt/lists ] || [ -n \"$(find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -newer /var/lib/apt/lists 2>/dev/null | head -n 1)\" ]; then echo " +
		shell.Quote(sourcesChanged) + "; fi"
	out, err := x.Must(ctx, "list the versions of "+strings.Join(pkgs, " "), cmd, false)
	if err != nil {
		return nil, false, out, err
	}
	avail := map[string][]string{}
	stale := false
	for _, line := range strings.Split(out.Stdout, "\n") {
		if strings.TrimSpace(line) == sourcesChanged {
			stale = true
			continue
		}
		f := strings.Split(line, "|")
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSpace(f[0])
		avail[name] = append(avail[name], strings.TrimSpace(f[1]))
	}
	return avail, stale, out, nil
}

// resolve finds, for each package, what to hand apt-get ("name" or the
// exact "name=version" the sources offer for the catalogue's "3.1.0"). The
// index is refreshed (once per host per run) only when it lacks a wanted
// package or version or is older than the sources, so a run that needs
// nothing new from the repository never downloads the index.
func resolve(ctx context.Context, x *Exec, specs []*plan.PackageSpec) ([]string, []error) {
	targets := make([]string, len(specs))
	errs := make([]error, len(specs))
	names := make([]string, len(specs))
	for i, p := range specs {
		names[i] = p.Package
	}
	match := func(avail map[string][]string, p *plan.PackageSpec) (string, bool) {
		for _, v := range avail[p.Package] {
			if VersionMatches(v, p.Version) {
				return v, true
			}
		}
		return "", false
	}
	avail, stale, out, err := madison(ctx, x, names)
	if err == nil {
		need := stale
		for _, p := range specs {
			if _, ok := match(avail, p); !ok {
				need = true
			}
		}
		if need {
			if _, err = aptUpdate(ctx, x); err == nil {
				avail, _, out, err = madison(ctx, x, names)
			}
		}
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return targets, errs
	}
	for i, p := range specs {
		v, ok := match(avail, p)
		switch {
		case ok && p.Version == "":
			targets[i] = p.Package
		case ok:
			targets[i] = p.Package + "=" + v
		case len(avail[p.Package]) == 0:
			errs[i] = &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("package %s is not in the host's package sources", p.Package)}
		default:
			errs[i] = &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("version %s of %s is not in the host's package sources (available: %s)",
				p.Version, p.Package, strings.Join(avail[p.Package], ", "))}
		}
	}
	return targets, errs
}
