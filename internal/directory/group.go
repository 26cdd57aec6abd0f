package directory

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// groupFilter matches a group by name: Active Directory groups by cn or
// sAMAccountName, OpenLDAP groupOfNames by cn.
func (c *Client) groupFilter(name string) filter {
	if c.cfg.Kind == ActiveDirectory {
		return filterAnd(filterEq("objectClass", "group"), filterOr(filterEq("cn", name), filterEq("sAMAccountName", name)))
	}
	return filterAnd(filterEq("objectClass", "groupOfNames"), filterEq("cn", name))
}

// FindGroup returns the DN of the group called name under GroupsBase, or an
// error wrapping ErrNoSuchGroup that names it.
func (c *Client) FindGroup(ctx context.Context, name string) (string, error) {
	op := "find group " + strconv.Quote(name) + " under"
	if name == "" {
		return "", fmt.Errorf("directory %s: find group: %w: empty name", c.cfg.Name, ErrInvalidValue)
	}
	if err := checkText("group", name); err != nil {
		return "", fmt.Errorf("directory %s: find group: %w", c.cfg.Name, err)
	}
	// A group's DN does not change during a run: every membership step of
	// a batch (check, apply, verify, handover) names the same few groups.
	if dn, ok := c.groups.Load(name); ok {
		return dn.(string), nil
	}
	entries, err := c.search(ctx, op, opGroup, c.searchReq(c.cfg.GroupsBase, ldap.ScopeWholeSubtree, c.groupFilter(name), "1.1"))
	if err != nil {
		return "", err
	}
	switch len(entries) {
	case 0:
		return "", &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: c.cfg.GroupsBase, kind: ErrNoSuchGroup}
	case 1:
		c.groups.Store(name, entries[0].DN)
		return entries[0].DN, nil
	}
	dns := make([]string, len(entries))
	for i, e := range entries {
		dns[i] = e.DN
	}
	return "", &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: c.cfg.GroupsBase,
		Err: fmt.Errorf("%d groups match: %s", len(entries), strings.Join(dns, "; "))}
}

// IsMember says whether userDN is a direct member of groupDN. The server
// compares the DNs (so case and escaping do not matter).
func (c *Client) IsMember(ctx context.Context, groupDN, userDN string) (bool, error) {
	if err := checkText("member DN", userDN); err != nil {
		return false, fmt.Errorf("directory %s: check membership of %s: %w", c.cfg.Name, groupDN, err)
	}
	entries, err := c.search(ctx, "check membership of "+userDN+" in", opGroup,
		c.searchReq(groupDN, ldap.ScopeBaseObject, filterEq("member", userDN), "1.1"))
	if err != nil {
		return false, err
	}
	return len(entries) == 1, nil
}

// InGroup reports whether the account's memberOf names groupDN (compared
// as DNs: case and escaping do not matter). True is certain, as the
// server writes memberOf from the groups' members (Active Directory's
// back-link, OpenLDAP's memberof overlay); false is not, as a server
// without the overlay writes none: ask IsMember then.
func (u *User) InGroup(groupDN string) bool {
	want, err := ldap.ParseDN(groupDN)
	for _, v := range u.Attr("memberOf") {
		if err != nil {
			if strings.EqualFold(v, groupDN) {
				return true
			}
			continue
		}
		if got, perr := ldap.ParseDN(v); perr == nil && got.EqualFold(want) {
			return true
		}
	}
	return false
}

// AddMember makes userDN a member of groupDN; nil if it already is. A
// missing group gives ErrNoSuchGroup, a missing member ErrNoSuchUser.
func (c *Client) AddMember(ctx context.Context, groupDN, userDN string) error {
	ok, err := c.IsMember(ctx, groupDN, userDN)
	if err != nil || ok {
		return err
	}
	if c.cfg.Kind == OpenLDAP {
		// OpenLDAP takes any DN as a member; Active Directory checks.
		entries, err := c.search(ctx, "add member", opUser, c.searchReq(userDN, ldap.ScopeBaseObject, filterPresent("objectClass"), "1.1"))
		if err != nil {
			return err
		}
		if len(entries) != 1 {
			return &Error{Directory: c.cfg.Name, Server: c.url, Op: "add member", DN: userDN, kind: ErrNoSuchUser}
		}
	}
	req := ldap.NewModifyRequest(groupDN, nil)
	req.Add("member", []string{userDN})
	err = c.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
	// Someone else added it since the check: the goal is met. (OpenLDAP says
	// 20, Active Directory 68.)
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultEntryAlreadyExists) {
		return nil
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		// The group was there a moment ago: the member is what is missing.
		return c.wrap("add member "+userDN+" to", groupDN, opUser, err, "")
	}
	return c.wrap("add member "+userDN+" to", groupDN, opPlain, err, "")
}

// GroupsOf lists the names (cn) of the groups under GroupsBase that have
// userDN as a member, sorted: what an audit compares with the groups the
// hire was handed over with.
func (c *Client) GroupsOf(ctx context.Context, userDN string) ([]string, error) {
	if err := checkText("member DN", userDN); err != nil {
		return nil, fmt.Errorf("directory %s: groups of %s: %w", c.cfg.Name, userDN, err)
	}
	entries, err := c.search(ctx, "list the groups of "+userDN+" under", opGroup,
		c.searchReq(c.cfg.GroupsBase, ldap.ScopeWholeSubtree, filterEq("member", userDN), "cn"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if cn := e.GetEqualFoldAttributeValue("cn"); cn != "" {
			names = append(names, cn)
		}
	}
	sort.Strings(names)
	return names, nil
}
