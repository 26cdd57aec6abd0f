package wsman

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Authentication as Windows' WinRM service does it: Basic on every request,
// NTLM through "Negotiate" once per TCP connection, or Kerberos ("Kerberos",
// or SPNEGO under "Negotiate") when Config.Kerberos is set (kerberos.go).

type connKey struct{}

// connState is what one TCP connection remembers: an NTLM handshake in
// progress, then the user it authenticated and its session keys.
type connState struct {
	handshake *ntlmHandshake
	user      string
	sec       *sessionSecurity
}

// ConnContext gives each connection its own NTLM state. Listen installs
// it; set it as http.Server.ConnContext when serving Handler yourself.
func (s *Server) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{})
}

// authenticate returns the user a request runs as and, for an NTLM
// connection that signs or seals, its session security. When it returns
// false it has already answered 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, *sessionSecurity, bool) {
	// An HTTP/1.1 connection serves one request at a time, so its state
	// needs no lock.
	cs, _ := r.Context().Value(connKey{}).(*connState)
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, _ := strings.Cut(header, " ")
	switch {
	case header == "":
		if cs != nil && cs.user != "" {
			return cs.user, cs.sec, true
		}
	case strings.EqualFold(scheme, "Basic"):
		if !s.basic || (r.TLS == nil && !s.cfg.AllowUnencrypted) {
			s.log.Info("basic authentication refused", "remote", r.RemoteAddr, "tls", r.TLS != nil)
			break
		}
		name, password, _ := r.BasicAuth()
		if user, want, ok := s.lookupUser(name, ""); ok && password == want {
			return user, nil, true
		}
		s.log.Info("basic authentication failed", "remote", r.RemoteAddr, "user", name)
	case strings.EqualFold(scheme, "Kerberos") || strings.EqualFold(scheme, "Negotiate") && s.cfg.Kerberos != nil && gssTokenB64(token):
		if s.cfg.Kerberos == nil {
			break
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			break
		}
		if user, ok := s.completeKerberos(r, raw); ok {
			if cs != nil {
				*cs = connState{user: user}
			}
			return user, nil, true
		}
		if cs != nil {
			*cs = connState{}
		}
	case strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM"):
		if !s.ntlm {
			break
		}
		if cs == nil {
			s.log.Error("NTLM needs per-connection state: serve through Listen or set http.Server.ConnContext to Server.ConnContext")
			break
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil {
			break
		}
		switch ntlmMessageType(raw) {
		case 1:
			hs, err := newChallenge(raw, s.identity, time.Now())
			if err != nil {
				s.log.Info("NTLM negotiate refused", "remote", r.RemoteAddr, "err", err)
				break
			}
			*cs = connState{handshake: hs}
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(hs.challenge))
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusUnauthorized)
			return "", nil, false
		case 3:
			hs := cs.handshake
			*cs = connState{}
			if user, sec, ok := s.completeNTLM(r, hs, raw); ok {
				*cs = connState{user: user, sec: sec}
				return user, sec, true
			}
		}
	}
	s.unauthorized(w)
	return "", nil, false
}

func (s *Server) completeNTLM(r *http.Request, hs *ntlmHandshake, raw []byte) (string, *sessionSecurity, bool) {
	if hs == nil {
		s.log.Info("NTLM authenticate without a challenge on this connection", "remote", r.RemoteAddr)
		return "", nil, false
	}
	a, err := parseAuthenticate(raw)
	if err != nil {
		s.log.Info("NTLM authenticate refused", "remote", r.RemoteAddr, "err", err)
		return "", nil, false
	}
	user, password, ok := s.lookupUser(a.user, a.domain)
	if !ok {
		s.log.Info("NTLM authentication failed: unknown user", "remote", r.RemoteAddr, "user", a.user, "domain", a.domain)
		return "", nil, false
	}
	key, err := hs.verify(a, password)
	if err != nil {
		s.log.Info("NTLM authentication failed", "remote", r.RemoteAddr, "user", user, "err", err)
		return "", nil, false
	}
	s.log.Debug("NTLM authenticated", "remote", r.RemoteAddr, "user", user, "domain", a.domain,
		"flags", fmt.Sprintf("%#08x", a.flags), "mic", a.hasMIC())
	var sec *sessionSecurity
	if a.flags&(flagSign|flagSeal) != 0 {
		if sec, err = newSessionSecurity(a.flags, key); err != nil {
			// Authentication stands; only message encryption is unavailable.
			s.log.Info("NTLM session security unavailable", "remote", r.RemoteAddr, "err", err)
		}
	}
	return user, sec, true
}

// unauthorized answers 401 as Windows does: one WWW-Authenticate header per
// offered scheme, an empty body and no SOAP content type.
func (s *Server) unauthorized(w http.ResponseWriter) {
	if s.ntlm || s.cfg.Kerberos != nil {
		w.Header().Add("WWW-Authenticate", "Negotiate")
	}
	if s.cfg.Kerberos != nil {
		w.Header().Add("WWW-Authenticate", "Kerberos")
	}
	if s.basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// lookupUser finds the configured account for a name as a client sends it
// ("user", "DOMAIN\user" or "user@domain", with NTLM's domain field apart)
// and returns its configured name and password. A configured plain "user"
// is a local account: it matches no domain or this machine's own names.
func (s *Server) lookupUser(name, domain string) (user, password string, ok bool) {
	inUser, inDomain := splitAccount(name)
	if domain != "" {
		inDomain = domain
	}
	keys := make([]string, 0, len(s.cfg.Users))
	for k := range s.cfg.Users {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		cfgUser, cfgDomain := splitAccount(k)
		if !strings.EqualFold(cfgUser, inUser) {
			continue
		}
		if cfgDomain == "" && (inDomain == "" || s.isLocalDomain(inDomain)) || cfgDomain != "" && sameDomain(cfgDomain, inDomain) {
			return k, s.cfg.Users[k], true
		}
	}
	return "", "", false
}

func splitAccount(name string) (user, domain string) {
	if d, u, ok := strings.Cut(name, `\`); ok {
		return u, d
	}
	if u, d, ok := strings.Cut(name, "@"); ok {
		return u, d
	}
	return name, ""
}

// sameDomain compares a NetBIOS or DNS domain name with another.
func sameDomain(a, b string) bool {
	first := func(s string) string { f, _, _ := strings.Cut(s, "."); return f }
	return b != "" && (strings.EqualFold(a, b) || strings.EqualFold(first(a), first(b)))
}

func (s *Server) isLocalDomain(d string) bool {
	id := s.identity
	return d == "." || strings.EqualFold(d, id.nbComputer) || strings.EqualFold(d, id.dnsComputer) ||
		strings.EqualFold(d, id.nbDomain) || strings.EqualFold(d, id.dnsDomain)
}
