package connect

import (
	"context"

	"onboard/internal/directory"
	"onboard/internal/plan"
)

// client is the resolver's one connection to a directory, opened on first
// use.
func (u *UsernameResolver) client(ctx context.Context, pd *plan.Directory) (*directory.Client, error) {
	if u.clients == nil {
		u.clients = map[string]*directory.Client{}
	}
	if c, ok := u.clients[pd.Name]; ok {
		return c, nil
	}
	c, err := u.Dialer.OpenDirectory(ctx, pd)
	if err != nil {
		return nil, err
	}
	u.clients[pd.Name] = c
	return c, nil
}

// Groups lists the groups of the directory the account username is a
// member of, read-only: a playbook's prune.groups removes those its new
// setup does not name (planner.Options.Groups). None when there is no
// such account yet.
func (u *UsernameResolver) Groups(ctx context.Context, pd *plan.Directory, username string) ([]string, error) {
	c, err := u.client(ctx, pd)
	if err != nil {
		return nil, err
	}
	usr, err := c.FindUser(ctx, username)
	if err != nil || usr == nil {
		return nil, err
	}
	return c.GroupsOf(ctx, usr.DN)
}
