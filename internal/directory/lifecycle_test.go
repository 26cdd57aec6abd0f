package directory

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestUACDisabled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		uac      int64
		disabled bool
		want     int64
	}{
		{"normal account disabled", 0x200, true, 0x202},
		{"disabled account enabled", 0x202, false, 0x200},
		{"already disabled stays", 0x202, true, 0x202},
		{"already enabled stays", 0x200, false, 0x200},
		{"other flags kept on disable", 0x10220, true, 0x10222}, // DONT_EXPIRE_PASSWORD, PASSWD_NOTREQD
		{"other flags kept on enable", 0x10222, false, 0x10220},
		{"workstation trust disabled", 0x1000, true, 0x1002},
		{"workstation trust enabled", 0x1002, false, 0x1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uacDisabled(tc.uac, tc.disabled); got != tc.want {
				t.Errorf("uacDisabled(%#x, %v) = %#x, want %#x", tc.uac, tc.disabled, got, tc.want)
			}
		})
	}
}

func TestFileTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		ft   int64
	}{
		{"unix epoch", time.Unix(0, 0).UTC(), 116444736000000000},
		{"year 2000", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 125911584000000000},
		{"a leave day", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), 134407296000000000},
		{"a leave time", time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC), 134407926000000000},
		{"100 ns precision", time.Date(2026, 12, 3, 17, 30, 0, 700, time.UTC), 134407926000000007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := toFileTime(tc.t); got != tc.ft {
				t.Errorf("toFileTime(%s) = %d, want %d", tc.t, got, tc.ft)
			}
			if got := fromFileTime(tc.ft); !got.Equal(tc.t) {
				t.Errorf("fromFileTime(%d) = %s, want %s", tc.ft, got, tc.t)
			}
		})
	}
	// A time in another zone is the same instant.
	berlin := time.FixedZone("CET", 3600)
	if got := toFileTime(time.Date(2026, 12, 3, 18, 30, 0, 0, berlin)); got != 134407926000000000 {
		t.Errorf("toFileTime of 18:30 CET = %d", got)
	}
	for _, never := range []int64{0, adNever, -1} {
		if got := fromFileTime(never); !got.IsZero() {
			t.Errorf("fromFileTime(%d) = %s, want the zero time (never)", never, got)
		}
	}
}

func TestShadowDays(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		days int64
		back time.Time // fromShadowDays(days)
	}{
		{"epoch", time.Unix(0, 0), 0, time.Unix(0, 0).UTC()},
		{"midnight is that day", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), 20790, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
		{"during a day is the next midnight", time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC), 20791, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)},
		{"one second past midnight", time.Date(2026, 12, 3, 0, 0, 1, 0, time.UTC), 20791, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)},
		{"last second of a day", time.Date(2026, 12, 2, 23, 59, 59, 0, time.UTC), 20790, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
		{"another zone: the UTC day", time.Date(2026, 12, 3, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 20790, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := shadowDays(tc.t)
			if d != tc.days {
				t.Errorf("shadowDays(%s) = %d, want %d", tc.t, d, tc.days)
			}
			if back := fromShadowDays(d); !back.Equal(tc.back) || back.Before(tc.t) {
				t.Errorf("fromShadowDays(%d) = %s, want %s, never before %s", d, back, tc.back, tc.t)
			}
		})
	}
	if got := fromShadowDays(-1); !got.IsZero() {
		t.Errorf("fromShadowDays(-1) = %s, want never", got)
	}
}

func TestParseGeneralizedTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20261203173000Z", time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC), true},
		{"20261203173000.123456Z", time.Date(2026, 12, 3, 17, 30, 0, 123456000, time.UTC), true},
		{"000001010000Z", time.Time{}, false}, // the ppolicy lock is no time
		{"2026-12-03", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := parseGeneralizedTime(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseGeneralizedTime(%q) = %s, %v; want %s, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParentDN(t *testing.T) {
	for _, tc := range []struct {
		name, dn, first, parent string
		ok                      bool
	}{
		{"openldap", "uid=ada,ou=People,dc=corp,dc=test", "uid=ada", "ou=People,dc=corp,dc=test", true},
		{"escaped comma and plus", `CN=O'Brien\, José \+ Co,OU=Staff,DC=corp`, `CN=O'Brien\, José \+ Co`, "OU=Staff,DC=corp", true},
		{"hex escapes are read, then escaped again", `CN=A\2CB,OU=Staff`, `CN=A\,B`, "OU=Staff", true},
		{"an equals sign is escaped for Samba", `CN=a\=b,OU=Staff`, `CN=a\=b`, "OU=Staff", true},
		{"multi-valued RDN", "cn=Ada+uid=ada,ou=People", "cn=Ada+uid=ada", "ou=People", true},
		{"not a DN", "ada", "", "", false},
		{"empty", "", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, parent, err := parentDN(tc.dn)
			if (err == nil) != tc.ok {
				t.Fatalf("parentDN(%q): %v", tc.dn, err)
			}
			if !tc.ok {
				return
			}
			want, _ := ldap.ParseDN(tc.parent)
			if first != tc.first || !parent.EqualFold(want) {
				t.Errorf("parentDN(%q) = %q, %q; want %q, %q", tc.dn, first, parent.String(), tc.first, tc.parent)
			}
		})
	}
}

func TestExpiryAsSet(t *testing.T) {
	at := time.Date(2026, 12, 3, 17, 30, 0, 123456789, time.FixedZone("CET", 3600))
	if got, want := ExpiryAsSet(ActiveDirectory, at), time.Date(2026, 12, 3, 16, 30, 0, 123456700, time.UTC); !got.Equal(want) {
		t.Errorf("Active Directory: %s, want %s", got, want)
	}
	if got, want := ExpiryAsSet(OpenLDAP, at), time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("OpenLDAP: %s, want %s", got, want)
	}
}
