package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

func testClient(kind Kind) *Client {
	return &Client{cfg: Config{Name: "corp-ad", Kind: kind, BaseDN: "DC=corp", Timeout: time.Second}, url: "ldaps://10.0.0.3:636"}
}

func TestErrorMapping(t *testing.T) {
	const dn = "CN=O'Brien\\, José \\+ Co,OU=Staff,DC=corp"
	serverErr := func(code uint16, msg string) error { return ldap.NewError(code, errors.New(msg)) }
	tests := []struct {
		name  string
		class opClass
		err   error
		is    error // nil: no sentinel
		words []string
	}{
		{"network", opPlain, serverErr(ldap.ErrorNetwork, "connection reset"), ErrUnreachable, []string{"LDAP 200", "connection reset"}},
		{"timeout", opUser, serverErr(ldap.ErrorNetwork, "ldap: connection timed out"), ErrUnreachable, nil},
		{"unavailable", opPlain, serverErr(ldap.LDAPResultUnavailable, "shutting down"), ErrUnreachable, nil},
		{"busy", opPlain, serverErr(ldap.LDAPResultBusy, ""), ErrUnreachable, []string{"LDAP 51 (Busy)"}},
		{"AD password policy", opPassword,
			serverErr(ldap.LDAPResultConstraintViolation, "0000052D: Constraint violation - check_password_restrictions: the password is too short."),
			ErrPasswordPolicy, []string{"0000052D", "too short", "set password of"}},
		{"OpenLDAP password quality", opPassword, serverErr(ldap.LDAPResultConstraintViolation, "Password fails quality checking policy"), ErrPasswordPolicy, nil},
		{"constraint outside a password op", opPlain, serverErr(ldap.LDAPResultConstraintViolation, "attribute too long"), nil, []string{"LDAP 19 (Constraint Violation)"}},
		{"enable refused by policy", opUser, serverErr(ldap.LDAPResultUnwillingToPerform, "0000052D: SvcErr: DSID-031A12D2, problem 5003"), ErrPasswordPolicy, nil},
		{"no such user", opUser, serverErr(ldap.LDAPResultNoSuchObject, "no such object"), ErrNoSuchUser, nil},
		{"no such group", opGroup, serverErr(ldap.LDAPResultNoSuchObject, ""), ErrNoSuchGroup, nil},
		{"no such object elsewhere", opPlain, serverErr(ldap.LDAPResultNoSuchObject, ""), nil, nil},
		{"bind refused, must change", opPassword,
			serverErr(ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1"),
			ErrMustChangePassword, []string{"must change the password", "data 773"}},
		{"bind refused, must change, Windows NUL", opPassword,
			serverErr(ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4f7c\x00"),
			ErrMustChangePassword, nil},
		{"bind refused, wrong password", opPassword,
			serverErr(ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1"),
			ErrInvalidCredentials, []string{"wrong password"}},
		{"bind refused, 773 elsewhere", opPassword,
			serverErr(ldap.LDAPResultInvalidCredentials, "invalid credentials for CN=data 773,OU=R773 on dc773.corp: data 773"),
			ErrInvalidCredentials, nil},
		{"must change outside a bind", opPlain,
			serverErr(ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1"),
			ErrInvalidCredentials, nil},
		{"access", opPlain, serverErr(ldap.LDAPResultInsufficientAccessRights, "no write access"), nil, []string{"LDAP 50 (Insufficient Access Rights)", "no write access"}},
		{"context", opPlain, fmt.Errorf("wrapped: %w", context.DeadlineExceeded), nil, []string{"deadline"}},
	}
	c := testClient(ActiveDirectory)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.newError("set password of", dn, tt.class, tt.err, "")
			for _, s := range []error{ErrUnreachable, ErrPasswordPolicy, ErrNoSuchUser, ErrNoSuchGroup, ErrInvalidCredentials, ErrMustChangePassword} {
				if errors.Is(err, s) != (s == tt.is) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.is))
				}
			}
			msg := err.Error()
			for _, w := range append([]string{"corp-ad", "ldaps://10.0.0.3:636", "set password of", dn}, tt.words...) {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			var le *ldap.Error
			if _, isLDAP := tt.err.(*ldap.Error); isLDAP && !errors.As(err, &le) {
				t.Errorf("the *ldap.Error is not reachable with errors.As")
			}
		})
	}
}

func TestErrorNeverHoldsPassword(t *testing.T) {
	pw := secret.New("Sekr1t-Passw0rd!")
	// A (hypothetical) server that echoes the password in its diagnostic.
	srv := ldap.NewError(ldap.LDAPResultConstraintViolation, errors.New("0000052D: password Sekr1t-Passw0rd! is too short"))
	err := testClient(ActiveDirectory).newError("set password of", "CN=x", opPassword, srv, pw.Reveal())
	if !errors.Is(err, ErrPasswordPolicy) {
		t.Errorf("not ErrPasswordPolicy: %v", err)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, pw.Reveal()) {
			t.Errorf("the password shows in %q", s)
		}
	}
	var le *ldap.Error
	if !errors.As(err, &le) || strings.Contains(le.Error(), pw.Reveal()) || le.Packet != nil {
		t.Errorf("the wrapped LDAP error still holds the password or the packet: %v", le)
	}
}

func TestPasswordChecksNeverEchoIt(t *testing.T) {
	for _, pw := range []string{"", "ab\x00cd-secret", "\xff\xfesecret"} {
		err := checkPassword(pw)
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("checkPassword: %v", err)
		}
		if pw != "" && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestDialRefusesPlainText(t *testing.T) {
	for _, u := range []string{"ldapi:///var/run/slapd/ldapi", "cldap://dc1", "http://dc1", "dc1:389"} {
		_, err := Dial(context.Background(), Config{Name: "x", Kind: OpenLDAP, URLs: []string{"ldaps://ok", u}, BaseDN: "dc=x",
			BindDN: "cn=admin,dc=x", BindPassword: secret.New("pw-pw-pw")})
		if !errors.Is(err, ErrNotTLS) {
			t.Errorf("Dial with %s: %v, want ErrNotTLS", u, err)
		}
	}
}

// A server that accepts connections and never says a word must not hang
// Dial, whether the context or the timeout ends it.
func TestDialBlackHole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	// Then a closed port: every URL is tried, and the error names each.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	cfg := Config{Name: "hole", Kind: OpenLDAP, BaseDN: "dc=x", BindDN: "cn=admin,dc=x", BindPassword: secret.New("pw-pw-pw"),
		URLs: []string{"ldaps://" + ln.Addr().String(), "ldap://" + ln.Addr().String(), "ldaps://" + closedAddr}}

	t.Run("timeout", func(t *testing.T) {
		cfg := cfg
		cfg.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Dial(context.Background(), cfg)
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("err = %v, want ErrUnreachable", err)
		}
		for _, u := range cfg.URLs {
			if !strings.Contains(err.Error(), u) {
				t.Errorf("%q does not name %s", err, u)
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestADBindSubCode(t *testing.T) {
	tests := []struct {
		diag string
		want string // "" : none
	}{
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1", "773"},
		{"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52E, v4563\x00", "52e"},
		{"8009030C: LdapErr: DSID-0C0906B5, comment: AcceptSecurityContext error, data 775, v4563", "775"},
		{"", ""},
		{"data 773", ""},
		{"bind as CN=data 773,OU=Staff failed: data 773, v1", ""},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1 (host dc773)", ""},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 7730, v1db1", "7730"},
	}
	for _, tt := range tests {
		got, ok := adBindSubCode(tt.diag)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("adBindSubCode(%q) = %q, %v; want %q", tt.diag, got, ok, tt.want)
		}
	}
	// 7730 is no 773.
	c := testClient(ActiveDirectory)
	err := c.newError("bind as", "CN=x773", opPassword, ldap.NewError(ldap.LDAPResultInvalidCredentials,
		errors.New("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 7730, v1db1")), "")
	if errors.Is(err, ErrMustChangePassword) || !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("sub-code 7730: %v", err)
	}
}

func TestUnreachableMatchesConnectionLost(t *testing.T) {
	c := testClient(OpenLDAP)
	for _, tt := range []struct {
		err       error
		transient bool
	}{
		{ldap.NewError(ldap.ErrorNetwork, errors.New("connection reset")), true},
		{ldap.NewError(ldap.LDAPResultBusy, errors.New("busy")), true},
		{ldap.NewError(ldap.LDAPResultUnavailable, errors.New("shutting down")), true},
		{ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("no")), false},
		{ldap.NewError(ldap.LDAPResultConstraintViolation, errors.New("too short")), false},
		{context.DeadlineExceeded, false},
	} {
		err := c.newError("search", "dc=x", opPassword, tt.err, "")
		if errors.Is(err, remote.ErrConnectionLost) != tt.transient || remote.IsTransient(err) != tt.transient {
			t.Errorf("%v: matches remote.ErrConnectionLost %v, transient %v; want %v", err,
				errors.Is(err, remote.ErrConnectionLost), remote.IsTransient(err), tt.transient)
		}
		if w := fmt.Errorf("step: %w", err); remote.IsTransient(w) != tt.transient {
			t.Errorf("wrapped %v: transient %v", w, !tt.transient)
		}
	}
}
