package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Computer is an Active Directory computer account.
type Computer struct {
	DN          string
	Name        string // without the trailing '$'
	DNSHostName string
	Description string // e.g. the marker PrestageComputer wrote
	Enabled     bool
}

// computerNameRE is a NetBIOS computer name as Windows accepts it.
var computerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)

func (c *Client) checkComputer(op, name string) error {
	if c.cfg.Kind != ActiveDirectory {
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: op,
			Err: fmt.Errorf("%w: computer accounts are an Active Directory feature", errors.ErrUnsupported)}
	}
	if !computerNameRE.MatchString(name) {
		return fmt.Errorf("directory %s: %s: computer name %q: %w: want 1 to 15 letters, digits and '-'", c.cfg.Name, op, name, ErrInvalidValue)
	}
	return nil
}

// FindComputer finds the computer account NAME$ (case-insensitively)
// anywhere under BaseDN: nil, nil when there is none.
func (c *Client) FindComputer(ctx context.Context, name string) (*Computer, error) {
	op := "find computer " + strconv.Quote(name) + " under"
	if err := c.checkComputer(op, name); err != nil {
		return nil, err
	}
	f := filterAnd(filterEq("objectClass", "computer"), filterEq("sAMAccountName", name+"$"))
	entries, err := c.search(ctx, op, opPlain, c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, f,
		"sAMAccountName", "dNSHostName", "description", "userAccountControl"))
	if err != nil {
		return nil, err
	}
	switch len(entries) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: c.cfg.BaseDN, Err: fmt.Errorf("%d computer accounts match", len(entries))}
	}
	e := entries[0]
	uac, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
	return &Computer{
		DN:          e.DN,
		Name:        strings.TrimSuffix(e.GetEqualFoldAttributeValue("sAMAccountName"), "$"),
		DNSHostName: e.GetEqualFoldAttributeValue("dNSHostName"),
		Description: e.GetEqualFoldAttributeValue("description"),
		Enabled:     uac&uacAccountDisable == 0,
	}, nil
}

// PrestageComputer creates the computer account NAME$ in ou (ComputersOU
// when empty) as a workstation trust account (userAccountControl 4096), so
// that the machine can join with it. dNSHostName is name.Domain, in lower
// case; description, when not empty, is set too (a marker such as
// "pre-staged by onboard for E1042"). It returns the new account's DN.
//
// An existing account of that name (anywhere under BaseDN) is never taken
// over: PrestageComputer fails with an error wrapping ErrComputerExists
// that names its DN (Error.DN), and changes nothing.
func (c *Client) PrestageComputer(ctx context.Context, name, ou, description string) (string, error) {
	if ou == "" {
		ou = c.cfg.ComputersOU
	}
	op := "prestage computer " + strconv.Quote(name) + " in"
	if err := c.checkComputer(op, name); err != nil {
		return "", err
	}
	if _, err := ldap.ParseDN(ou); err != nil {
		return "", fmt.Errorf("directory %s: %s %q: %w: %v", c.cfg.Name, op, ou, ErrInvalidValue, err)
	}
	if err := checkText("description", description); err != nil {
		return "", fmt.Errorf("directory %s: %s %s: %w", c.cfg.Name, op, ou, err)
	}
	exists := func(dn string) error {
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: "prestage computer " + strconv.Quote(name) + ": already there as", DN: dn,
			Code: ldap.LDAPResultEntryAlreadyExists, kind: ErrComputerExists}
	}
	cur, err := c.FindComputer(ctx, name)
	if err != nil {
		return "", err
	}
	if cur != nil {
		return "", exists(cur.DN)
	}
	dn := childDN("CN", name, ou)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user", "computer"})
	req.Attribute("sAMAccountName", []string{strings.ToUpper(name) + "$"})
	req.Attribute("userAccountControl", []string{strconv.Itoa(uacWorkstationTrust)})
	if c.cfg.Domain != "" {
		req.Attribute("dNSHostName", []string{strings.ToLower(name + "." + c.cfg.Domain)})
	}
	if description != "" {
		req.Attribute("description", []string{description})
	}
	err = c.do(ctx, func(l *ldap.Conn) error { return l.Add(req) })
	if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		// Created by someone else since the check? Otherwise the CN is
		// another object's, which the error below says.
		if cur, ferr := c.FindComputer(ctx, name); ferr == nil && cur != nil {
			return "", exists(cur.DN)
		}
	}
	if err != nil {
		return "", c.wrap(op, dn, opPlain, err, "")
	}
	return dn, nil
}
