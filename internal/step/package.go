package step

import (
	"context"
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
	out, err := x.Run(ctx, "LC_ALL=C dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "+shell.Quote(p.Package), false, "")
	if err != nil {
		return "", err
	}
	if out.ExitCode != 0 {
		if strings.Contains(out.Stderr, "no packages found") {
			return "", nil
		}
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "query package " + p.Package}
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

// availableVersion finds the exact version apt offers that matches want
// (the catalogue says "3.1.0"; the repository may hold "1:3.1.0-2").
func availableVersion(ctx context.Context, x *Exec, pkg, want string) (string, error) {
	out, err := x.Must(ctx, "list the versions of "+pkg, "LC_ALL=C apt-cache madison "+shell.Quote(pkg), false)
	if err != nil {
		return "", err
	}
	var seen []string
	for _, line := range strings.Split(out.Stdout, "\n") {
		f := strings.Split(line, "|")
		if len(f) < 2 {
			continue
		}
		v := strings.TrimSpace(f[1])
		seen = append(seen, v)
		if VersionMatches(v, want) {
			return v, nil
		}
	}
	if len(seen) == 0 {
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("package %s is not in the host's package sources", pkg)}
	}
	return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("version %s of %s is not in the host's package sources (available: %s)", want, pkg, strings.Join(seen, ", "))}
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

func (k Package) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	p := s.Package
	before, _ := k.installed(ctx, x, p)
	if p.Manager == "command" {
		if _, err := x.Must(ctx, "install "+p.Name, p.Install, true); err != nil {
			return "", err
		}
	} else {
		// The index is refreshed once per host per run, and only when
		// something is installed, so a re-run that changes nothing never
		// touches the network.
		err := x.T.Once("apt-update", func() error {
			_, err := x.Must(ctx, "refresh the package index", "DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=120", true)
			return err
		})
		if err != nil {
			return "", err
		}
		target := p.Package
		if p.Version != "" {
			v, err := availableVersion(ctx, x, p.Package, p.Version)
			if err != nil {
				return "", err
			}
			target += "=" + v
		}
		cmd := "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades " +
			"-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold " + shell.Quote(target)
		if out, err := x.Must(ctx, "install "+target, cmd, true); err != nil {
			// A run killed during an install leaves dpkg half done; finish
			// dpkg's own work and try once more.
			if !strings.Contains(out.Combined(), "dpkg was interrupted") {
				return "", err
			}
			if _, err := x.Must(ctx, "finish an interrupted dpkg run", "DEBIAN_FRONTEND=noninteractive dpkg --configure -a", true); err != nil {
				return "", err
			}
			if _, err := x.Must(ctx, "install "+target, cmd, true); err != nil {
				return "", err
			}
		}
	}
	after, _ := k.installed(ctx, x, p)
	if before == "" {
		return fmt.Sprintf("installed %s %s", p.Package, after), nil
	}
	return fmt.Sprintf("%s %s → %s", p.Package, before, after), nil
}
