package winrm

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"onboard/internal/ntlm"
	"strconv"
	"strings"
)

// NTLM message encryption for WinRM over plain HTTP (MS-WSMV 2.2.9.1.1), as
// pywinrm does it: the connection authenticates with two empty POSTs
// (NEGOTIATE, AUTHENTICATE), then every SOAP message in either direction is
// signed and sealed with the session's keys and framed as
// multipart/encrypted. Windows requires it over HTTP by default
// (AllowUnencrypted=false).

// The session crypto and the framing are package ntlm's, shared with the
// lab's server.
const (
	encryptedContentType = ntlm.EncryptedContentType
	soapContentType      = ntlm.SOAPContentType
)

// lane is one connection of the NTLM lanes (transport.go) and, with
// message encryption, the session that connection authenticated.
type lane struct {
	tr   *http.Transport
	sec  *ntlm.Session
	conn net.Conn // the connection sec belongs to
}

func (ln *lane) reset() { ln.sec, ln.conn = nil, nil }

// withConn is req with a trace that records the connection it goes out on.
func withConn(req *http.Request, conn *net.Conn) *http.Request {
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { *conn = info.Conn },
	})
	return req.WithContext(ctx)
}

// readAll reads and closes a response body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+64<<10))
}

// withBody is resp with its body replaced by data.
func withBody(resp *http.Response, data []byte) *http.Response {
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
	return resp
}

// sealedRoundTrip sends req sealed on ln, authenticating ln's connection
// first if it has no session. A message that went out on a new connection
// (the old one closed while idle) is refused with a 401 without being run:
// it is sent once more after a new handshake. The response comes back
// unsealed, its body read.
func (l *lanes) sealedRoundTrip(ln *lane, req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		if ln.sec == nil {
			resp, err := l.handshake(ln, req)
			if err != nil || resp != nil {
				return resp, err
			}
		}
		framed := ln.sec.Frame(body, soapContentType)
		var conn net.Conn
		r := withConn(req, &conn)
		r.Body = io.NopCloser(bytes.NewReader(framed))
		r.ContentLength = int64(len(framed))
		r.GetBody = nil
		r.Header = req.Header.Clone()
		r.Header.Del("Authorization")
		r.Header.Set("Content-Type", encryptedContentType)
		resp, err := ln.tr.RoundTrip(r)
		if err != nil {
			ln.reset()
			return nil, err
		}
		if conn != ln.conn {
			ln.reset()
			if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
				_, _ = readAll(resp)
				continue
			}
		}
		data, err := readAll(resp)
		if err != nil {
			ln.reset()
			return nil, err
		}
		if resp.Close {
			ln.reset()
		}
		if !strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "multipart/encrypted") {
			// A 401, or an error page: the session is no longer trusted.
			ln.reset()
			return withBody(resp, data), nil
		}
		msg, ctype, err := ln.sec.Unframe(data)
		if err != nil {
			ln.reset()
			return nil, err
		}
		resp.Header.Set("Content-Type", ctype)
		return withBody(resp, msg), nil
	}
}

// handshake authenticates ln's connection with two empty POSTs. It returns
// a response (a 401, say) when the server refuses, for the caller to see.
func (l *lanes) handshake(ln *lane, req *http.Request) (*http.Response, error) {
	step := func(token []byte) (*http.Response, net.Conn, error) {
		var conn net.Conn
		r, err := http.NewRequestWithContext(req.Context(), http.MethodPost, req.URL.String(), http.NoBody)
		if err != nil {
			return nil, nil, err
		}
		r = withConn(r, &conn)
		r.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
		r.Header.Set("Content-Type", soapContentType)
		resp, err := ln.tr.RoundTrip(r)
		return resp, conn, err
	}
	negotiate := ntlmNegotiate()
	resp, conn1, err := step(negotiate)
	if err != nil {
		return nil, err
	}
	data, err := readAll(resp)
	if err != nil {
		return nil, err
	}
	var challenge []byte
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if scheme, token, ok := strings.Cut(strings.TrimSpace(h), " "); ok &&
			(strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM")) {
			challenge, _ = base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		}
	}
	if resp.StatusCode != http.StatusUnauthorized || challenge == nil {
		// No NTLM challenge: a 401 tells the caller NTLM is refused.
		return withBody(resp, data), nil
	}
	auth, err := ntlmAuthenticate(negotiate, challenge, l.user, l.password())
	if err != nil {
		return nil, err
	}
	resp, conn2, err := step(auth.message)
	if err != nil {
		return nil, err
	}
	if data, err = readAll(resp); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return withBody(resp, data), nil
	}
	if conn2 != conn1 {
		return nil, errors.New("NTLM handshake: the server closed the connection between its steps")
	}
	sec, err := ntlm.NewSession(auth.flags, auth.exportedKey, true)
	if err != nil {
		return nil, err
	}
	ln.sec, ln.conn = sec, conn2
	return nil, nil
}
