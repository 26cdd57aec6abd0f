package directory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// User is an account as read from the directory.
type User struct {
	DN          string
	Username    string // sAMAccountName (Active Directory) or uid (OpenLDAP)
	EmployeeID  string // employeeID (Active Directory) or employeeNumber (OpenLDAP)
	DisplayName string
	// Enabled: Active Directory: userAccountControl has no ACCOUNTDISABLE
	// flag. OpenLDAP: the account has a password (it can bind) and no
	// ppolicy administrative lock (see DisableUser).
	Enabled bool
	// PasswordSet: Active Directory: pwdLastSet is not 0, or the account is
	// enabled without PASSWD_NOTREQD (0x20) in userAccountControl, or the
	// password has been written since the account was created (from the
	// replication metadata of unicodePwd, which stays set when a change at
	// next logon is required). OpenLDAP: userPassword is present (as far as the bind
	// account may read it).
	PasswordSet bool
	// Manager is the manager's username, read through the manager DN; empty
	// when there is none or it names no account.
	Manager string
	// Attrs are the entry's text attributes, by lower-case name. Binary
	// values and password attributes are left out.
	Attrs map[string][]string
}

// Attr returns the values of an attribute, whatever the case of its name.
func (u *User) Attr(name string) []string { return u.Attrs[strings.ToLower(name)] }

// UserSpec is what an account should look like. Empty fields are not
// managed: CreateUser leaves them out and Diff and UpdateUser ignore them
// (nothing is ever removed).
type UserSpec struct {
	Username    string
	GivenName   string
	Surname     string
	DisplayName string // default "GivenName Surname", else Username
	Email       string
	Title       string
	Department  string
	EmployeeID  string
	// Manager is the manager's username; the adapter resolves it to a DN
	// and fails if there is no such account.
	Manager string
	// Extra attributes from the playbook, by name: only those on the kind's
	// allow-list or in Config.AllowAttributes (see CheckAttribute).
	Extra map[string]string

	// POSIX attributes. OpenLDAP (posixAccount): CreateUser needs
	// UIDNumber and GIDNumber there (see NextUIDNumber), and a Surname; Home
	// defaults to /home/USERNAME and Shell to /bin/bash. Active Directory:
	// the RFC 2307 attributes uidNumber, gidNumber, unixHomeDirectory and
	// loginShell, each set when given (no defaults).
	UIDNumber, GIDNumber int
	Home, Shell          string
}

// Active Directory userAccountControl flags.
const (
	uacAccountDisable   = 0x2
	uacPasswdNotReqd    = 0x20
	uacNormalAccount    = 0x200
	uacWorkstationTrust = 0x1000
)

// adCNMax is the longest CN Active Directory accepts.
const adCNMax = 64

// protectedAttrs may never be set through UserSpec.Extra, whatever the
// inventory allows: the adapter manages them, they are identities, or they
// are passwords.
var protectedAttrs = map[string]bool{
	"objectclass": true, "cn": true, "uid": true, "samaccountname": true, "userprincipalname": true,
	"distinguishedname": true, "name": true, "useraccountcontrol": true, "pwdlastset": true,
	"unicodepwd": true, "userpassword": true, "dbcspwd": true, "ntpwdhistory": true, "lmpwdhistory": true,
	"supplementalcredentials": true, "sambantpassword": true, "sambalmpassword": true, "pwdreset": true,
	"givenname": true, "sn": true, "displayname": true, "mail": true, "title": true, "department": true,
	"departmentnumber": true, "employeeid": true, "employeenumber": true, "manager": true,
	"uidnumber": true, "gidnumber": true, "homedirectory": true, "unixhomedirectory": true, "loginshell": true, "memberof": true,
	"member": true, "objectsid": true, "objectguid": true, "primarygroupid": true,
}

// hiddenAttrs never appear in User.Attrs.
var hiddenAttrs = map[string]bool{
	"userpassword": true, "unicodepwd": true, "supplementalcredentials": true,
	"replpropertymetadata": true, "sambantpassword": true, "sambalmpassword": true,
}

// normalize fills in the defaults of a spec.
func (c *Client) normalize(spec UserSpec) UserSpec {
	if spec.DisplayName == "" {
		spec.DisplayName = strings.TrimSpace(spec.GivenName + " " + spec.Surname)
		if spec.DisplayName == "" {
			spec.DisplayName = spec.Username
		}
	}
	if c.cfg.Kind == OpenLDAP {
		if spec.Home == "" {
			spec.Home = "/home/" + spec.Username
		}
		if spec.Shell == "" {
			spec.Shell = "/bin/bash"
		}
	}
	return spec
}

// validate checks a normalised spec before anything reaches the server.
// creating adds what only a new entry needs.
func (c *Client) validate(spec UserSpec, creating bool) error {
	if err := checkUsername(c.cfg.Kind, spec.Username); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{
		{"given name", spec.GivenName}, {"surname", spec.Surname}, {"display name", spec.DisplayName},
		{"email", spec.Email}, {"title", spec.Title}, {"department", spec.Department},
		{"employee id", spec.EmployeeID}, {"manager", spec.Manager}, {"home", spec.Home}, {"shell", spec.Shell},
	} {
		if err := checkText(f.what, f.v); err != nil {
			return err
		}
	}
	for k, v := range spec.Extra {
		if err := CheckAttribute(c.cfg.Kind, k, c.cfg.AllowAttributes); err != nil {
			return fmt.Errorf("extra %w", err)
		}
		if err := checkText("extra attribute "+k, v); err != nil {
			return err
		}
	}
	if c.cfg.Kind == OpenLDAP && creating {
		if spec.Surname == "" {
			return fmt.Errorf("user %q: %w: OpenLDAP needs a surname (sn)", spec.Username, ErrInvalidValue)
		}
		if spec.UIDNumber <= 0 || spec.GIDNumber <= 0 {
			return fmt.Errorf("user %q: %w: OpenLDAP needs a uidNumber and a gidNumber above 0 (uid %d, gid %d)",
				spec.Username, ErrInvalidValue, spec.UIDNumber, spec.GIDNumber)
		}
	}
	return nil
}

// attrValue is one managed single-valued attribute and the value wanted.
// createOnly attributes are set when the account is created and never
// compared or rewritten afterwards.
type attrValue struct {
	attr, value string
	createOnly  bool
}

// wanted lists the attributes a normalised spec manages, except manager
// (a DN, resolved separately), in a fixed order.
func (c *Client) wanted(spec UserSpec) []attrValue {
	var out []attrValue
	add := func(attr, v string) {
		if v != "" {
			out = append(out, attrValue{attr: attr, value: v})
		}
	}
	if c.cfg.Kind == ActiveDirectory {
		add("givenName", spec.GivenName)
		add("sn", spec.Surname)
		add("displayName", spec.DisplayName)
		add("mail", spec.Email)
		add("title", spec.Title)
		add("department", spec.Department)
		add("employeeID", spec.EmployeeID)
		if spec.UIDNumber > 0 {
			add("uidNumber", strconv.Itoa(spec.UIDNumber))
		}
		if spec.GIDNumber > 0 {
			add("gidNumber", strconv.Itoa(spec.GIDNumber))
		}
		add("unixHomeDirectory", spec.Home)
		add("loginShell", spec.Shell)
		if c.cfg.Domain != "" {
			// Set at creation only: an existing account's UPN may have
			// been chosen by someone else (another suffix, a rename), and
			// attributes the playbook does not mention are left alone.
			out = append(out, attrValue{attr: "userPrincipalName", value: spec.Username + "@" + c.cfg.Domain, createOnly: true})
		}
	} else {
		add("cn", spec.DisplayName)
		add("givenName", spec.GivenName)
		add("sn", spec.Surname)
		add("displayName", spec.DisplayName)
		add("mail", spec.Email)
		add("title", spec.Title)
		add("departmentNumber", spec.Department)
		add("employeeNumber", spec.EmployeeID)
		if spec.UIDNumber > 0 {
			add("uidNumber", strconv.Itoa(spec.UIDNumber))
		}
		if spec.GIDNumber > 0 {
			add("gidNumber", strconv.Itoa(spec.GIDNumber))
		}
		add("homeDirectory", spec.Home)
		add("loginShell", spec.Shell)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Extra)) {
		add(k, spec.Extra[k])
	}
	return out
}

// UserDN is where CreateUser puts the account: CN=<display name>,UsersOU
// (Active Directory) or uid=<username>,UsersOU (OpenLDAP). In Active
// Directory, if that CN is another object's, CreateUser uses
// "CN=<display name> (<username>)" instead. A CN longer than Active
// Directory's 64 characters is shortened; displayName keeps the full name.
func (c *Client) UserDN(spec UserSpec) string {
	spec = c.normalize(spec)
	if c.cfg.Kind == ActiveDirectory {
		return childDN("CN", adCN(spec.DisplayName, ""), c.cfg.UsersOU)
	}
	return childDN("uid", spec.Username, c.cfg.UsersOU)
}

// adCN is the CN for a display name, with an optional suffix, shortened to
// what Active Directory accepts.
func adCN(display, suffix string) string {
	room := adCNMax - utf8.RuneCountInString(suffix)
	if r := []rune(display); len(r) > room {
		display = strings.TrimRight(string(r[:room]), " ")
	}
	return display + suffix
}

// userFilter matches accounts of the directory's kind.
func (c *Client) userFilter(attr, value string) filter {
	if c.cfg.Kind == ActiveDirectory {
		return filterAnd(filterEq("objectClass", "user"), filterNot(filterEq("objectClass", "computer")), filterEq(attr, value))
	}
	return filterAnd(filterOr(filterEq("objectClass", "inetOrgPerson"), filterEq("objectClass", "posixAccount")), filterEq(attr, value))
}

// userAttrs are read for every user.
func (c *Client) userAttrs() []string {
	if c.cfg.Kind == ActiveDirectory {
		return []string{"*", "replPropertyMetaData"}
	}
	// Operational attributes, so named: memberOf (the memberof overlay),
	// so that one search reads an account and its groups, and the ppolicy
	// lock of a disabled account (a server without ppolicy ignores it).
	return []string{"*", "memberOf", "pwdAccountLockedTime"}
}

func (c *Client) usernameAttr() string {
	if c.cfg.Kind == ActiveDirectory {
		return "sAMAccountName"
	}
	return "uid"
}

func (c *Client) employeeIDAttr() string {
	if c.cfg.Kind == ActiveDirectory {
		return "employeeID"
	}
	return "employeeNumber"
}

// FindUser finds an account by username anywhere under BaseDN: nil, nil
// when there is none. The name is matched literally (never as a pattern).
func (c *Client) FindUser(ctx context.Context, username string) (*User, error) {
	if username == "" {
		return nil, fmt.Errorf("directory %s: find user: %w: empty username", c.cfg.Name, ErrInvalidValue)
	}
	if err := checkText("username", username); err != nil {
		return nil, fmt.Errorf("directory %s: find user: %w", c.cfg.Name, err)
	}
	return c.findUser(ctx, "find user "+strconv.Quote(username)+" under", c.userFilter(c.usernameAttr(), username))
}

// FindUserByEmployeeID finds an account by employee id: nil, nil when there
// is none, an error when several accounts have it.
func (c *Client) FindUserByEmployeeID(ctx context.Context, id string) (*User, error) {
	if id == "" {
		return nil, fmt.Errorf("directory %s: find user by employee id: %w: empty id", c.cfg.Name, ErrInvalidValue)
	}
	if err := checkText("employee id", id); err != nil {
		return nil, fmt.Errorf("directory %s: find user by employee id: %w", c.cfg.Name, err)
	}
	return c.findUser(ctx, "find user with employee id "+strconv.Quote(id)+" under", c.userFilter(c.employeeIDAttr(), id))
}

func (c *Client) findUser(ctx context.Context, op string, f filter) (*User, error) {
	entries, err := c.search(ctx, op, opPlain, c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, f, c.userAttrs()...))
	if err != nil {
		return nil, err
	}
	switch len(entries) {
	case 0:
		return nil, nil
	case 1:
		return c.toUser(ctx, entries[0])
	}
	dns := make([]string, len(entries))
	for i, e := range entries {
		dns[i] = e.DN
	}
	return nil, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: c.cfg.BaseDN,
		Err: fmt.Errorf("%d accounts match: %s", len(entries), strings.Join(dns, "; "))}
}

// readUser reads the account at dn.
func (c *Client) readUser(ctx context.Context, op, dn string) (*User, error) {
	entries, err := c.search(ctx, op, opUser, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), c.userAttrs()...))
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, kind: ErrNoSuchUser}
	}
	return c.toUser(ctx, entries[0])
}

// toUser converts an entry, resolving the manager DN to a username.
func (c *Client) toUser(ctx context.Context, e *ldap.Entry) (*User, error) {
	u := &User{DN: e.DN, Attrs: map[string][]string{}}
	for _, a := range e.Attributes {
		name := strings.ToLower(a.Name)
		if hiddenAttrs[name] || !allUTF8(a.Values) {
			continue
		}
		u.Attrs[name] = append([]string(nil), a.Values...)
	}
	u.Username = e.GetEqualFoldAttributeValue(c.usernameAttr())
	u.EmployeeID = e.GetEqualFoldAttributeValue(c.employeeIDAttr())
	u.DisplayName = e.GetEqualFoldAttributeValue("displayName")
	if c.cfg.Kind == ActiveDirectory {
		uac, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
		u.Enabled = uac&uacAccountDisable == 0
		u.PasswordSet = adPasswordSet(e, uac)
	} else {
		u.PasswordSet = len(e.GetEqualFoldRawAttributeValues("userPassword")) > 0
		u.Enabled = u.PasswordSet && e.GetEqualFoldAttributeValue("pwdAccountLockedTime") != ppolicyLocked
	}
	if m := e.GetEqualFoldAttributeValue("manager"); m != "" {
		name, err := c.usernameOf(ctx, m)
		if err != nil {
			return nil, err
		}
		u.Manager = name
	}
	return u, nil
}

// adPasswordSet says whether an Active Directory account has a password,
// from pwdLastSet, userAccountControl and replPropertyMetaData.
func adPasswordSet(e *ldap.Entry, uac int64) bool {
	pls, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("pwdLastSet"), 10, 64)
	if pls != 0 {
		return true
	}
	// Enabled and a password required: Windows refuses to enable such an
	// account without a password. This also covers an account added with
	// unicodePwd and pwdLastSet 0 in one request, whose unicodePwd
	// metadata stays at version 1.
	if uac&uacAccountDisable == 0 && uac&uacPasswdNotReqd == 0 {
		return true
	}
	if meta := e.GetEqualFoldRawAttributeValue("replPropertyMetaData"); meta != nil {
		// unicodePwd gets version 1 when the account is created, with or
		// without a password; every write after that adds one.
		v, ok := attrMetaVersion(meta, attidUnicodePwd)
		return ok && v >= 2
	}
	return false
}

func allUTF8(vs []string) bool {
	for _, v := range vs {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// attidUnicodePwd is unicodePwd's attribute id in replPropertyMetaData.
const attidUnicodePwd = 0x9005a

// attrMetaVersion reads the version of one attribute from a
// replPropertyMetaData blob (version 1: a 16-byte header with the count at
// offset 8, then 48-byte entries starting with attid and version).
func attrMetaVersion(blob []byte, attid uint32) (uint32, bool) {
	if len(blob) < 16 || binary.LittleEndian.Uint32(blob) != 1 {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(blob[8:]))
	for i := 0; i < n; i++ {
		off := 16 + 48*i
		if off+8 > len(blob) {
			return 0, false
		}
		if binary.LittleEndian.Uint32(blob[off:]) == attid {
			return binary.LittleEndian.Uint32(blob[off+4:]), true
		}
	}
	return 0, false
}

// usernameOf returns the username of the account at dn, or "" if there is
// none.
func (c *Client) usernameOf(ctx context.Context, dn string) (string, error) {
	if v, ok := c.managers.Load("dn:" + strings.ToLower(dn)); ok {
		return v.(string), nil
	}
	entries, err := c.search(ctx, "read manager", opPlain, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), c.usernameAttr()))
	if err != nil {
		if errors.Is(err, ErrNoSuchUser) || ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return "", nil
		}
		return "", err
	}
	if len(entries) != 1 {
		return "", nil
	}
	name := entries[0].GetEqualFoldAttributeValue(c.usernameAttr())
	c.managers.Store("dn:"+strings.ToLower(dn), name)
	return name, nil
}

// managerDN resolves a manager's username to a DN, once per Client.
func (c *Client) managerDN(ctx context.Context, username string) (string, error) {
	key := "user:" + strings.ToLower(username)
	if v, ok := c.managers.Load(key); ok {
		return v.(string), nil
	}
	u, err := c.FindUser(ctx, username)
	if err != nil {
		return "", err
	}
	if u == nil {
		return "", &Error{Directory: c.cfg.Name, Server: c.url, Op: "find manager " + strconv.Quote(username) + " under",
			DN: c.cfg.BaseDN, kind: ErrNoSuchUser}
	}
	c.managers.Store(key, u.DN)
	c.managers.Store("dn:"+strings.ToLower(u.DN), u.Username)
	return u.DN, nil
}

// CreateUser adds the account described by spec, disabled in Active
// Directory (userAccountControl 514) and without a password: set one with
// SetPassword, then SetEnabled. It fails with ErrUserExists when the
// username is taken. It returns the new entry's DN (see UserDN).
func (c *Client) CreateUser(ctx context.Context, spec UserSpec) (string, error) {
	spec = c.normalize(spec)
	if err := c.validate(spec, true); err != nil {
		return "", fmt.Errorf("directory %s: create user: %w", c.cfg.Name, err)
	}
	var mgr string
	if spec.Manager != "" {
		var err error
		if mgr, err = c.managerDN(ctx, spec.Manager); err != nil {
			return "", err
		}
	}
	dn := c.UserDN(spec)
	err := c.addUser(ctx, dn, spec, mgr)
	if err == nil {
		return dn, nil
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return "", err
	}
	if c.cfg.Kind == ActiveDirectory {
		// Either the username is taken, or only the CN is.
		u, ferr := c.FindUser(ctx, spec.Username)
		if ferr != nil {
			return "", ferr
		}
		if u == nil {
			dn = childDN("CN", adCN(spec.DisplayName, " ("+spec.Username+")"), c.cfg.UsersOU)
			if err = c.addUser(ctx, dn, spec, mgr); err == nil {
				return dn, nil
			}
			if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
				return "", err
			}
			if u, ferr = c.FindUser(ctx, spec.Username); ferr != nil || u == nil {
				return "", err
			}
		}
		dn = u.DN
	}
	return "", &Error{Directory: c.cfg.Name, Server: c.url, Op: "create user " + strconv.Quote(spec.Username) + " as", DN: dn,
		Code: ldap.LDAPResultEntryAlreadyExists, kind: ErrUserExists}
}

func (c *Client) addUser(ctx context.Context, dn string, spec UserSpec, managerDN string) error {
	req := ldap.NewAddRequest(dn, nil)
	if c.cfg.Kind == ActiveDirectory {
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{spec.Username})
		req.Attribute("userAccountControl", []string{strconv.Itoa(uacNormalAccount | uacAccountDisable)})
	} else {
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"})
		req.Attribute("uid", []string{spec.Username})
	}
	for _, a := range c.wanted(spec) {
		req.Attribute(a.attr, []string{a.value})
	}
	if managerDN != "" {
		req.Attribute("manager", []string{managerDN})
	}
	err := c.do(ctx, func(l *ldap.Conn) error { return l.Add(req) })
	return c.wrap("add user", dn, opPlain, err, "")
}

// change is one attribute to replace.
type change struct {
	attr, value string
	line        string // for people: `title: "Engineer" → "Senior Engineer"`
}

// changes compares an account with a spec (both normalised). A nil
// account is one to create.
func (c *Client) changes(u *User, spec UserSpec) []change {
	var out []change
	for _, a := range c.wanted(spec) {
		var cur []string
		if u != nil {
			if a.createOnly {
				continue
			}
			cur = u.Attrs[strings.ToLower(a.attr)]
		}
		if len(cur) == 1 && sameValue(cur[0], a.value) {
			continue
		}
		out = append(out, change{attr: a.attr, value: a.value, line: fmt.Sprintf("%s: %s → %q", a.attr, quoteValues(cur), a.value)})
	}
	if spec.Manager != "" {
		cur := ""
		if u != nil {
			cur = u.Manager
		}
		if !strings.EqualFold(cur, spec.Manager) {
			old := "(none)"
			if cur != "" {
				old = strconv.Quote(cur)
			} else if u != nil && len(u.Attrs["manager"]) > 0 {
				old = quoteValues(u.Attrs["manager"])
			}
			out = append(out, change{attr: "manager", value: spec.Manager, line: fmt.Sprintf("manager: %s → %q", old, spec.Manager)})
		}
	}
	return out
}

// sameValue says whether the value read equals the value wanted. Values
// are compared byte for byte, except DNs: when the wanted value is a DN
// (it parses as one, with at least one attribute=value pair), the two are
// compared as DNs, ignoring case and escaping, since servers return DN
// attributes normalised (Active Directory stores seeAlso:
// cn=grace hopper,ou=staff,... as CN=Grace Hopper,OU=Staff,...).
func sameValue(cur, want string) bool {
	if cur == want {
		return true
	}
	if !strings.Contains(want, "=") {
		return false
	}
	w, err := ldap.ParseDN(want)
	if err != nil || len(w.RDNs) == 0 {
		return false
	}
	got, err := ldap.ParseDN(cur)
	return err == nil && got.EqualFold(w)
}

func quoteValues(vs []string) string {
	switch len(vs) {
	case 0:
		return "(none)"
	case 1:
		return strconv.Quote(vs[0])
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Diff lists, for people, how the account differs from spec, one attribute
// per line: `title: "Engineer" → "Senior Engineer"`. Empty means UpdateUser
// would change nothing. A nil user differs in every attribute. Renames are
// not managed: in Active Directory a new display name changes displayName,
// not the CN, and userPrincipalName is only set by CreateUser. DN-valued
// attributes are compared as DNs (see sameValue).
func (c *Client) Diff(u *User, spec UserSpec) []string {
	var lines []string
	for _, ch := range c.changes(u, c.normalize(spec)) {
		lines = append(lines, ch.line)
	}
	return lines
}

// UpdateUser brings the account at dn to spec in one modify request and
// returns what it changed (as Diff does); nothing when it already matched.
// It never rewrites userPrincipalName (set at creation only).
func (c *Client) UpdateUser(ctx context.Context, dn string, spec UserSpec) ([]string, error) {
	spec = c.normalize(spec)
	if err := c.validate(spec, false); err != nil {
		return nil, fmt.Errorf("directory %s: update user %s: %w", c.cfg.Name, dn, err)
	}
	u, err := c.readUser(ctx, "read user", dn)
	if err != nil {
		return nil, err
	}
	chs := c.changes(u, spec)
	if len(chs) == 0 {
		return nil, nil
	}
	req := ldap.NewModifyRequest(dn, nil)
	lines := make([]string, 0, len(chs))
	for _, ch := range chs {
		v := ch.value
		if ch.attr == "manager" {
			if v, err = c.managerDN(ctx, spec.Manager); err != nil {
				return nil, err
			}
		}
		req.Replace(ch.attr, []string{v})
		lines = append(lines, ch.line)
	}
	if err := c.modify(ctx, "update user", opUser, req, ""); err != nil {
		return nil, err
	}
	return lines, nil
}

// uidProbes bounds how many taken numbers NextUIDNumber's probe skips
// before it scans again.
const uidProbes = 32

// NextUIDNumber is one more than the highest uidNumber under BaseDN, and at
// least min. After the first call it probes upwards from the last number
// it gave, skipping numbers found taken, instead of scanning everything
// again. Two runs (or two Clients) at once may still get the same number:
// after creating the account, check with UIDNumberCount that it is the
// only one with that number.
func (c *Client) NextUIDNumber(ctx context.Context, min int) (int, error) {
	c.uidMu.Lock()
	defer c.uidMu.Unlock()
	if c.uidNext > 0 {
		// After one full scan, probe with equality searches: a batch of N
		// hires costs N cheap searches, not N scans.
		cand := max(c.uidNext, min)
		for range uidProbes {
			n, err := c.UIDNumberCount(ctx, cand)
			if err != nil {
				return 0, err
			}
			if n == 0 {
				c.uidNext = cand + 1
				return cand, nil
			}
			cand++ // taken by someone else meanwhile
		}
		// Many taken in a row: scan again.
	}
	req := c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, filterPresent("uidNumber"), "uidNumber")
	var res *ldap.SearchResult
	err := c.do(ctx, func(l *ldap.Conn) error {
		var err error
		res, err = l.SearchWithPaging(req, 500)
		return err
	})
	if err != nil {
		return 0, c.wrap("search uidNumber under", c.cfg.BaseDN, opPlain, err, "")
	}
	next := min
	for _, e := range res.Entries {
		for _, v := range e.GetEqualFoldAttributeValues("uidNumber") {
			if n, err := strconv.Atoi(v); err == nil && n+1 > next {
				next = n + 1
			}
		}
	}
	c.uidNext = next + 1
	return next, nil
}

// UIDNumberCount is the number of entries under BaseDN whose uidNumber is
// n: after creating an account with n, anything but 1 means that another
// run took the same number at the same time.
func (c *Client) UIDNumberCount(ctx context.Context, n int) (int, error) {
	entries, err := c.search(ctx, "count entries with uidNumber "+strconv.Itoa(n)+" under", opPlain,
		c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, filterEq("uidNumber", strconv.Itoa(n)), "1.1"))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}
