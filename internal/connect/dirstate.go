package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"onboard/internal/directory"
	"onboard/internal/plan"
)

// What a plan depends on in its directories, recorded by plan --out and
// read again by apply PLAN.json (a saved plan is refused when it changed,
// as one whose files changed is).

// DirectoryState reads, in the directories the plan's steps use, what the
// planner and the dry-run verdicts of those steps depended on: for every
// account step, the account of its username and of its employee id (the
// planner chose the username by them); the groups of its memberships; the
// computers it pre-stages or joins. Facts come sorted.
func (d *Dialer) DirectoryState(ctx context.Context, p *plan.Plan) ([]plan.DirectoryFact, error) {
	var facts []plan.DirectoryFact
	seen := map[plan.DirectoryFact]bool{}
	add := func(dir, kind, name string) {
		f := plan.DirectoryFact{Directory: dir, Kind: kind, Name: name}
		if dir != "" && name != "" && !seen[f] {
			seen[f] = true
			facts = append(facts, f)
		}
	}
	for _, s := range p.Steps {
		switch {
		case s.Account != nil:
			add(s.Directory, "account", s.Account.Username)
			add(s.Directory, "employee", s.Account.EmployeeID)
		case s.Membership != nil:
			add(s.Directory, "account", s.Membership.Username)
			add(s.Directory, "group", s.Membership.Group)
		case s.Activate != nil:
			add(s.Directory, "account", s.Activate.Username)
		case s.Computer != nil:
			add(s.Directory, "computer", s.Computer.Name)
		case s.Join != nil:
			add(s.Directory, "computer", s.Join.Computer)
		}
	}
	slices.SortFunc(facts, func(a, b plan.DirectoryFact) int {
		return strings.Compare(a.Directory+"\x00"+a.Kind+"\x00"+a.Name, b.Directory+"\x00"+b.Kind+"\x00"+b.Name)
	})
	return d.ReadDirectoryFacts(ctx, p.Directories, facts)
}

// ReadDirectoryFacts reads the state of each fact's subject as it is now,
// one connection per directory, read-only.
func (d *Dialer) ReadDirectoryFacts(ctx context.Context, dirs map[string]*plan.Directory, facts []plan.DirectoryFact) ([]plan.DirectoryFact, error) {
	clients := map[string]*directory.Client{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	out := make([]plan.DirectoryFact, len(facts))
	for i, f := range facts {
		c, ok := clients[f.Directory]
		if !ok {
			pd := dirs[f.Directory]
			if pd == nil {
				return nil, fmt.Errorf("the plan has no directory %s", f.Directory)
			}
			var err error
			if c, err = d.OpenDirectory(ctx, pd); err != nil {
				return nil, err
			}
			clients[f.Directory] = c
		}
		state, err := readFact(ctx, c, f)
		if err != nil {
			return nil, fmt.Errorf("directory %s: read %s: %w", f.Directory, f.Subject(), err)
		}
		f.State = state
		out[i] = f
	}
	return out, nil
}

func readFact(ctx context.Context, c *directory.Client, f plan.DirectoryFact) (string, error) {
	switch f.Kind {
	case "account":
		u, err := c.FindUser(ctx, f.Name)
		if err != nil || u == nil {
			return plan.Absent, err
		}
		return fmt.Sprintf("%s (employee id %q)", u.DN, u.EmployeeID), nil
	case "employee":
		u, err := c.FindUserByEmployeeID(ctx, f.Name)
		if err != nil || u == nil {
			return plan.Absent, err
		}
		return u.Username, nil
	case "group":
		dn, err := c.FindGroup(ctx, f.Name)
		if errors.Is(err, directory.ErrNoSuchGroup) {
			return plan.Absent, nil
		}
		return dn, err
	case "computer":
		cm, err := c.FindComputer(ctx, f.Name)
		if err != nil || cm == nil {
			return plan.Absent, err
		}
		return cm.DN, nil
	}
	return "", fmt.Errorf("unknown kind of fact %q", f.Kind)
}
