package winsim

import (
	"fmt"
	"slices"
	"strings"
)

// Local groups and their members, as Get-LocalGroupMember names them:
// "COMPUTER\name" for local accounts, "CORP\name" for domain ones,
// "NT AUTHORITY\..." for well-known principals.

type localGroup struct {
	name    string
	members []member
}

// member is a principal; scope "" is a local account of this computer
// (its name follows renames).
type member struct {
	scope, name string
}

func (h *Host) initGroups() {
	admins := []member{{"", "Administrator"}}
	for u := range h.cfg.Users {
		name, dom := splitAccount(u)
		if dom == "" || strings.EqualFold(dom, h.name) || dom == "." {
			if !strings.EqualFold(name, "Administrator") {
				admins = append(admins, member{"", name})
			}
		}
	}
	slices.SortFunc(admins[1:], func(a, b member) int { return strings.Compare(a.name, b.name) })
	for _, g := range []localGroup{
		{name: "Administrators", members: admins},
		{name: "Remote Desktop Users"},
		{name: "Remote Management Users"},
		{name: "Users", members: []member{{"NT AUTHORITY", "Authenticated Users"}, {"NT AUTHORITY", "INTERACTIVE"}}},
		{name: "Guests", members: []member{{"", "Guest"}}},
	} {
		h.groups[strings.ToLower(g.name)] = &g
	}
}

// addDomainGroupsLocked is what a join does to the local groups.
func (h *Host) addDomainGroupsLocked() {
	nb := h.cfg.Domain.NetBIOS
	add := func(group, name string) {
		if g := h.groups[strings.ToLower(group)]; g != nil && !h.hasMemberLocked(g, member{nb, name}) {
			g.members = append(g.members, member{nb, name})
		}
	}
	add("Administrators", "Domain Admins")
	add("Users", "Domain Users")
}

func (h *Host) memberName(m member) string {
	if m.scope == "" {
		return h.name + `\` + m.name
	}
	return m.scope + `\` + m.name
}

func (h *Host) memberNamesLocked(g *localGroup) []string {
	var out []string
	for _, m := range g.members {
		out = append(out, h.memberName(m))
	}
	return out
}

func (h *Host) hasMemberLocked(g *localGroup, m member) bool {
	for _, x := range g.members {
		if strings.EqualFold(x.scope, m.scope) && strings.EqualFold(x.name, m.name) {
			return true
		}
	}
	return false
}

func (h *Host) isLocalUser(name string) bool {
	if h.checks.absent[strings.ToLower(name)] {
		return false
	}
	if h.checks.added[strings.ToLower(name)] {
		return true
	}
	if strings.EqualFold(name, "Administrator") || strings.EqualFold(name, "Guest") {
		return true
	}
	for u := range h.cfg.Users {
		n, dom := splitAccount(u)
		if strings.EqualFold(n, name) && (dom == "" || dom == "." || strings.EqualFold(dom, h.name)) {
			return true
		}
	}
	return false
}

var wellKnown = []string{"Authenticated Users", "INTERACTIVE", "SYSTEM", "NETWORK SERVICE", "LOCAL SERVICE", "NETWORK"}

// resolveLocked finds a principal as Add-LocalGroupMember does (its
// LookupAccountName): "DOMAIN\name", "name@dns.domain" or a bare name (a
// local account first, then the domain's).
func (h *Host) resolveLocked(who string) (member, *psError) {
	notFound := &psError{Command: "Add-LocalGroupMember", Message: fmt.Sprintf("Principal %s was not found.", who),
		Statement: "Add-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop", Category: "ObjectNotFound",
		Target: who, Exception: "PrincipalNotFoundException", ErrorID: "PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand"}
	name, scope := splitAccount(who)
	upn := !strings.Contains(who, `\`) && strings.Contains(who, "@")
	switch {
	case name == "":
		return member{}, notFound
	case !upn && strings.EqualFold(scope, "NT AUTHORITY"):
		for _, w := range wellKnown {
			if strings.EqualFold(w, name) {
				return member{"NT AUTHORITY", w}, nil
			}
		}
		return member{}, notFound
	case !upn && (scope == "." || strings.EqualFold(scope, h.name)):
		if h.isLocalUser(name) {
			return member{"", name}, nil
		}
		return member{}, notFound
	case scope == "" && h.isLocalUser(name):
		return member{"", name}, nil
	case scope == "" || h.isDomain(scope):
		// A domain account: only a member of the domain can look it up.
		if !h.joined {
			return member{}, notFound
		}
		if !h.secure {
			e := *notFound
			e.Message = "The trust relationship between this workstation and the primary domain failed."
			e.Category, e.Exception, e.ErrorID = "NotSpecified", "SystemException", "Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand"
			return member{}, &e
		}
		if lookup := h.cfg.Domain.LookupUser; lookup != nil {
			ok, err := lookup(name)
			if err != nil {
				e := *notFound
				e.Message += " (" + err.Error() + ")"
				return member{}, &e
			}
			if !ok {
				return member{}, notFound
			}
		}
		return member{h.cfg.Domain.NetBIOS, name}, nil
	}
	return member{}, notFound
}

func groupNotFound(cmdlet, statement, group string) *psError {
	return &psError{Command: cmdlet, Message: fmt.Sprintf("Group %s was not found.", group), Statement: statement,
		Category: "ObjectNotFound", Target: group, Exception: "GroupNotFoundException",
		ErrorID: "GroupNotFound,Microsoft.PowerShell.Commands." + strings.ReplaceAll(cmdlet, "-", "") + "Command"}
}

func opLocalGroupCheck(v *inv) int {
	h := v.h
	group, who := v.str("group"), v.str("member")
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[strings.ToLower(group)]
	if g == nil {
		return v.fail(groupNotFound("Get-LocalGroupMember", "Get-LocalGroupMember -Group $in.group -ErrorAction Stop", group))
	}
	// foreach ($m in ...) { if ($m.Name -eq $in.member) ... }
	found := false
	for _, n := range h.memberNamesLocked(g) {
		if strings.EqualFold(n, who) {
			found = true
		}
	}
	return v.result(field{"member", found})
}

func opLocalGroupAdd(v *inv) int {
	h := v.h
	group, who := v.str("group"), v.str("member")
	const statement = "Add-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop"
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[strings.ToLower(group)]
	if g == nil {
		return v.fail(groupNotFound("Add-LocalGroupMember", statement, group))
	}
	m, perr := h.resolveLocked(who)
	if perr != nil {
		return v.fail(perr)
	}
	if h.hasMemberLocked(g, m) {
		return v.fail(&psError{Command: "Add-LocalGroupMember", Message: fmt.Sprintf("%s is already a member of group %s.", h.memberName(m), g.name),
			Statement: statement, Category: "ResourceExists", Target: g.name, Exception: "MemberExistsException",
			ErrorID: "MemberExists,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand"})
	}
	g.members = append(g.members, m)
	return v.result(field{"added", true})
}
