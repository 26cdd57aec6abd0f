package connect

import (
	"context"
	"errors"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/remote"
)

// Plan builds the plan of playbooks against the inventory, as `onboard
// plan` and `onboard serve` do: usernames a directory's naming policy
// derives are looked up there, read-only (the hire's own account, or the
// first free name). unreachable says a directory could not be reached: a
// transient fault, not bad input.
func (d *Dialer) Plan(ctx context.Context, pbs []*playbook.Playbook, inv *inventory.Inventory, opt planner.Options) (p *plan.Plan, unreachable bool, err error) {
	res := &UsernameResolver{Dialer: d}
	defer res.Close()
	opt.Usernames = func(pd *plan.Directory, id string, cands []string) (string, error) {
		u, err := res.Resolve(ctx, pd, id, cands)
		if errors.Is(err, remote.ErrUnreachable) {
			unreachable = true
		}
		return u, err
	}
	if opt.Groups == nil {
		opt.Groups = func(pd *plan.Directory, username string) ([]string, error) {
			g, err := res.Groups(ctx, pd, username)
			if errors.Is(err, remote.ErrUnreachable) {
				unreachable = true
			}
			return g, err
		}
	}
	p, err = planner.Build(pbs, inv, opt)
	return p, unreachable, err
}
