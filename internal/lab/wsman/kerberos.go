package wsman

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// KerberosConfig turns on Kerberos: "Authorization: Kerberos <token>"
// (a GSS-API KRB5 token) and "Negotiate <token>" carrying SPNEGO with a
// Kerberos mechanism token (or a bare KRB5 token), as Windows accepts.
//
// The AP-REQ is verified with Keytab: its ticket must be for
// ServicePrincipal ("HTTP/win1.corp.example.test"; empty accepts any
// principal in the keytab). The client principal user@REALM is then looked
// up in Config.Users as a domain account: a key "user@realm" (DNS name, or
// its first label, case-insensitive) or "DOMAIN\user" matches; a plain
// local "user" does not. The password of that entry is not used. No
// mutual-authentication AP-REP is sent and there is no message encryption
// (use HTTPS); a connection stays authenticated for later requests.
type KerberosConfig struct {
	Keytab           *keytab.Keytab
	ServicePrincipal string
}

// gssKRB5Token reports a GSS-API InitialContextToken (SPNEGO or KRB5), as
// opposed to raw NTLMSSP.
func gssToken(raw []byte) bool {
	return len(raw) > 0 && raw[0] == 0x60 && !bytes.HasPrefix(raw, []byte("NTLMSSP\x00"))
}

// completeKerberos verifies a Kerberos or SPNEGO token and returns the
// configured user it maps to.
func (s *Server) completeKerberos(r *http.Request, raw []byte) (string, bool) {
	user, realm, err := s.verifyKerberos(raw)
	if err != nil {
		s.log.Info("Kerberos authentication failed", "remote", r.RemoteAddr, "err", err)
		return "", false
	}
	cfgUser, _, ok := s.lookupUser(user, realm)
	if !ok || !isDomainAccount(cfgUser) {
		s.log.Info("Kerberos authentication failed: principal not in Users", "remote", r.RemoteAddr, "principal", user+"@"+realm)
		return "", false
	}
	s.log.Debug("Kerberos authenticated", "remote", r.RemoteAddr, "principal", user+"@"+realm, "user", cfgUser)
	return cfgUser, true
}

func isDomainAccount(k string) bool {
	_, d := splitAccount(k)
	return d != ""
}

func (s *Server) verifyKerberos(raw []byte) (user, realm string, err error) {
	kc := s.cfg.Kerberos
	if kc == nil || kc.Keytab == nil {
		return "", "", errors.New("no keytab configured")
	}
	mech := raw
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(raw); err == nil {
		if !st.Init || len(st.NegTokenInit.MechTokenBytes) == 0 {
			return "", "", errors.New("SPNEGO token without a Kerberos mechanism token")
		}
		mech = st.NegTokenInit.MechTokenBytes
	}
	var k5 spnego.KRB5Token
	if err := k5.Unmarshal(mech); err != nil {
		return "", "", fmt.Errorf("not a Kerberos token: %w", err)
	}
	if !k5.IsAPReq() {
		return "", "", errors.New("Kerberos token is not an AP-REQ")
	}
	opts := []func(*service.Settings){service.DecodePAC(false)}
	if kc.ServicePrincipal != "" {
		opts = append(opts, service.KeytabPrincipal(kc.ServicePrincipal))
	}
	ok, creds, err := service.VerifyAPREQ(&k5.APReq, service.NewSettings(kc.Keytab, opts...))
	if err != nil {
		return "", "", err
	}
	if !ok || creds == nil {
		return "", "", errors.New("AP-REQ not valid")
	}
	return creds.UserName(), creds.Domain(), nil
}

// gssTokenB64 reports whether a base64 Authorization token is a GSS-API
// token rather than NTLMSSP.
func gssTokenB64(token string) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	return err == nil && gssToken(raw)
}
