package winrm

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"onboard/internal/remote"
)

// Kerberos: a ticket for HTTP/<ServiceHost> from the KDC of Realm, got
// with a keytab (Config.Keytab and User), a ticket cache (Config.CCache, or
// $KRB5CCNAME) or a password, and sent as "Authorization: Kerberos <GSS
// KRB5 token>" on every request (a fresh authenticator each time), or as
// SPNEGO under "Negotiate" when the server offers only that. No
// /etc/krb5.conf is read: the configuration is built from Realm and KDC.
// Every exchange with the KDC obeys the caller's context (gokrb5's own
// network calls take none: they run behind it, each bounded to 5 s).
type krbAuth struct {
	realm, kdc, spn string
	principal       string // user@REALM, for messages
	newClient       func() (*client.Client, error)

	mu        sync.Mutex
	cl        *client.Client
	negotiate bool // the server offers only Negotiate
}

func (c *Client) newKerberos() error {
	cfg := c.cfg
	host := cfg.ServiceHost
	if host == "" {
		host = cfg.Address
	}
	realm := strings.ToUpper(cfg.Realm)
	k := &krbAuth{realm: realm, kdc: cfg.KDC, spn: "HTTP/" + strings.ToLower(host)}
	if _, _, err := net.SplitHostPort(k.kdc); err != nil {
		k.kdc = net.JoinHostPort(k.kdc, "88")
	}
	conf, err := config.NewFromString(fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 udp_preference_limit = 1
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, realm, k.kdc))
	if err != nil {
		return c.errorf("kerberos configuration: %w", err)
	}
	settings := []func(*client.Settings){client.DisablePAFXFAST(true)}
	user, _, _ := strings.Cut(cfg.User, "@")
	k.principal = user + "@" + realm
	switch {
	case cfg.Keytab != "":
		kt, err := keytab.Load(cfg.Keytab)
		if err != nil {
			return c.errorf("kerberos keytab %s: %w", cfg.Keytab, err)
		}
		k.newClient = func() (*client.Client, error) {
			return client.NewWithKeytab(user, realm, kt, conf, settings...), nil
		}
	case !cfg.Password.IsZero():
		k.newClient = func() (*client.Client, error) {
			return client.NewWithPassword(user, realm, cfg.Password.Reveal(), conf, settings...), nil
		}
	default:
		path := cfg.CCache
		if path == "" {
			path = strings.TrimPrefix(os.Getenv("KRB5CCNAME"), "FILE:")
		}
		if path == "" {
			return c.errorf("kerberos authentication needs a keytab and user, a password, or a ticket cache (CCache or $KRB5CCNAME): %w", remote.ErrAuth)
		}
		cc, err := credentials.LoadCCache(path)
		if err != nil {
			return c.errorf("kerberos ticket cache %s: %w", path, err)
		}
		k.principal = cc.GetClientPrincipalName().PrincipalNameString() + "@" + cc.GetClientRealm()
		k.newClient = func() (*client.Client, error) { return client.NewFromCCache(cc, conf, settings...) }
	}
	c.krb = k
	return nil
}

// authorize sets the Authorization header of req, logging in first if need be.
func (k *krbAuth) authorize(ctx context.Context, req *http.Request) error {
	type result struct {
		hdr string
		err error
	}
	done := make(chan result, 1)
	go func() {
		hdr, err := k.header()
		done <- result{hdr, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return r.err
		}
		req.Header.Set("Authorization", r.hdr)
		return nil
	case <-ctx.Done():
		return &netError{msg: "request cancelled", kind: errCancelled, cause: ctx.Err()}
	}
}

func (k *krbAuth) header() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cl == nil {
		cl, err := k.newClient()
		if err == nil {
			err = cl.AffirmLogin()
		}
		if err != nil {
			return "", k.failure("log in to realm "+k.realm, err)
		}
		k.cl = cl
	}
	tkt, key, err := k.cl.GetServiceTicket(k.spn)
	if err != nil {
		return "", k.failure("get a ticket for "+k.spn, err)
	}
	tok, err := spnego.NewKRB5TokenAPREQ(k.cl, tkt, key, []int{gssapi.ContextFlagInteg, gssapi.ContextFlagConf}, nil)
	if err != nil {
		return "", k.failure("build the AP-REQ", err)
	}
	b, err := tok.Marshal()
	if err != nil {
		return "", k.failure("build the AP-REQ", err)
	}
	if !k.negotiate {
		return "Kerberos " + base64.StdEncoding.EncodeToString(b), nil
	}
	st, err := spnego.SPNEGOClient(k.cl, k.spn).InitSecContext()
	if err != nil {
		return "", k.failure("build the SPNEGO token", err)
	}
	sb, err := st.Marshal()
	if err != nil {
		return "", k.failure("build the SPNEGO token", err)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(sb), nil
}

// fallback switches to SPNEGO under Negotiate when a 401 offers Negotiate
// but not Kerberos; it reports whether it switched.
func (k *krbAuth) fallback(h http.Header) bool {
	var neg, krb bool
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		neg = neg || strings.EqualFold(scheme, "Negotiate")
		krb = krb || strings.EqualFold(scheme, "Kerberos")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if neg && !krb && !k.negotiate {
		k.negotiate = true
		return true
	}
	return false
}

// failure classifies a gokrb5 error: the KDC unreachable, or the
// principal, its key or the service principal refused.
func (k *krbAuth) failure(what string, err error) error {
	msg := err.Error()
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case has("KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		return &netError{msg: fmt.Sprintf("kerberos: the KDC of %s does not know the service principal %s (register it for the host's account, e.g. setspn -S %s <account>, or set ServiceHost to the name it is registered under)", k.realm, k.spn, k.spn), kind: remote.ErrAuth, cause: err}
	case has("KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		return &netError{msg: fmt.Sprintf("kerberos: %s: the KDC does not know the principal %s", what, k.principal), kind: remote.ErrAuth, cause: err}
	case has("KDC_ERR_PREAUTH_FAILED"), has("KRB_AP_ERR_BAD_INTEGRITY"), has("Decrypting_Error"), has("KDC_ERR_CLIENT_REVOKED"), has("KDC_ERR_KEY_EXPIRED"), has("KDC_ERR_ETYPE_NOSUPP"):
		return &netError{msg: fmt.Sprintf("kerberos: %s as %s refused: wrong key or password (%s)", what, k.principal, kdcReason(msg)), kind: remote.ErrAuth, cause: err}
	case has("Networking_Error"), has("error sending to a KDC"):
		return &netError{msg: fmt.Sprintf("kerberos: %s: KDC %s unreachable: %s", what, k.kdc, kdcReason(msg)), kind: remote.ErrUnreachable, cause: err}
	default:
		return &netError{msg: fmt.Sprintf("kerberos: %s as %s failed: %s", what, k.principal, msg), kind: remote.ErrAuth, cause: err}
	}
}

// kdcReason is the innermost part of a gokrb5 error, shortened.
func kdcReason(msg string) string {
	if i := strings.LastIndex(msg, " < "); i >= 0 {
		msg = msg[i+3:]
	}
	return snippet(msg, 200)
}
