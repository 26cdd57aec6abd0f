package serve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token is a named bearer token (an API client, an operator of the status
// page, an identity provider's SCIM connection).
type Token struct {
	Name string
	// Value is the secret; compared in constant time, never logged.
	Value []byte
}

// tokenSet checks bearer tokens against a list, in constant time over all.
type tokenSet []Token

// match returns the token's name, or "" when none matches.
func (ts tokenSet) match(got string) string {
	if got == "" {
		return ""
	}
	g := sha256.Sum256([]byte(got))
	name := ""
	for _, t := range ts {
		w := sha256.Sum256(t.Value)
		if subtle.ConstantTimeCompare(g[:], w[:]) == 1 {
			name = t.Name
		}
	}
	return name
}

// bearer reads "Authorization: Bearer TOKEN".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

// sessions are signed cookies for the status page: who signed in, until
// when, and the CSRF token forms carry. The key is random per process
// unless configured, so a restart signs everyone out (several instances
// behind one address need a shared Config.SessionKey).
type sessions struct {
	key    []byte
	ttl    time.Duration
	secure bool
}

const sessionCookie = "onboard_session"

func newSessions(key []byte, secure bool) *sessions {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &sessions{key: key, ttl: 12 * time.Hour, secure: secure}
}

func (s *sessions) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// issue sets a session cookie for name.
func (s *sessions) issue(w http.ResponseWriter, name string, now time.Time) {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	exp := strconv.FormatInt(now.Add(s.ttl).Unix(), 10)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	user := base64.RawURLEncoding.EncodeToString([]byte(name))
	v := strings.Join([]string{user, exp, n, s.mac(user, exp, n)}, ".")
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.ttl.Seconds())})
}

// session is a signed-in operator.
type session struct {
	Name string
	// CSRF is the token the page's forms carry: bound to this session.
	CSRF string
}

// read verifies the request's session cookie.
func (s *sessions) read(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		return nil
	}
	if !hmac.Equal([]byte(parts[3]), []byte(s.mac(parts[0], parts[1], parts[2]))) {
		return nil
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() > exp {
		return nil
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil
	}
	return &session{Name: string(name), CSRF: s.mac("csrf", parts[2])}
}

// clear signs out.
func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// checkCSRF accepts a form post only with the session's token, and only
// from this origin when the browser says where it came from.
func checkCSRF(r *http.Request, sess *session) bool {
	if sess == nil {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if !sameOrigin(o, r) {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	return hmac.Equal([]byte(got), []byte(sess.CSRF))
}

func sameOrigin(origin string, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}
