package winrm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
)

// NTLM message encryption for WinRM over plain HTTP (MS-WSMV 2.2.9.1.1), as
// pywinrm does it: the connection authenticates with two empty POSTs
// (NEGOTIATE, AUTHENTICATE), then every SOAP message in either direction is
// signed and sealed with the session's keys and framed as
// multipart/encrypted. Windows requires it over HTTP by default
// (AllowUnencrypted=false).

const (
	encryptedProtocol    = "application/HTTP-SPNEGO-session-encrypted"
	encryptedContentType = `multipart/encrypted;protocol="` + encryptedProtocol + `";boundary="Encrypted Boundary"`
	encryptedBoundary    = "--Encrypted Boundary"
	octetStreamHeader    = "\tContent-Type: application/octet-stream\r\n"
	soapContentType      = "application/soap+xml;charset=UTF-8"
)

// sealSession is the client's half of an NTLM session with extended session
// security: one RC4 stream, signing key and sequence number per direction.
// A lane uses it for one request at a time: no lock.
type sealSession struct {
	flags           uint32
	outSign, inSign []byte
	outSeal, inSeal *rc4.Cipher
	outSeq, inSeq   uint32
}

func newSealSession(flags uint32, exportedKey []byte) (*sealSession, error) {
	sealKey := exportedKey
	switch {
	case flags&ntlm128 != 0:
	case flags&ntlm56 != 0:
		sealKey = exportedKey[:7]
	default:
		sealKey = exportedKey[:5]
	}
	derive := func(key []byte, magic string) []byte {
		sum := md5.Sum(append(append([]byte(nil), key...), magic+"\x00"...))
		return sum[:]
	}
	out, err := rc4.NewCipher(derive(sealKey, "session key to client-to-server sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	in, err := rc4.NewCipher(derive(sealKey, "session key to server-to-client sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	return &sealSession{
		flags:   flags,
		outSign: derive(exportedKey, "session key to client-to-server signing key magic constant"),
		inSign:  derive(exportedKey, "session key to server-to-client signing key magic constant"),
		outSeal: out,
		inSeal:  in,
	}, nil
}

// signature is an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 3.4.4.2); it advances
// the RC4 stream with key exchange.
func (s *sealSession) signature(signKey []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	seqBytes := binary.LittleEndian.AppendUint32(nil, seq)
	checksum := hmacMD5(signKey, seqBytes, msg)[:8]
	if s.flags&ntlmKeyExch != 0 {
		seal.XORKeyStream(checksum, checksum)
	}
	sig := binary.LittleEndian.AppendUint32(nil, 1)
	sig = append(sig, checksum...)
	return append(sig, seqBytes...)
}

// wrap seals msg for the server and frames it.
func (s *sealSession) wrap(msg []byte) []byte {
	sealed := make([]byte, len(msg))
	s.outSeal.XORKeyStream(sealed, msg)
	sig := s.signature(s.outSign, s.outSeal, s.outSeq, msg)
	s.outSeq++
	var b bytes.Buffer
	b.Grow(len(msg) + 256)
	b.WriteString(encryptedBoundary + "\r\n")
	b.WriteString("\tContent-Type: " + encryptedProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + soapContentType + ";Length=" + strconv.Itoa(len(msg)) + "\r\n")
	b.WriteString(encryptedBoundary + "\r\n")
	b.WriteString(octetStreamHeader)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(encryptedBoundary + "--\r\n")
	return b.Bytes()
}

// unwrap opens a framed message from the server and checks its signature.
// It returns the message and its original content type.
func (s *sealSession) unwrap(body []byte) ([]byte, string, error) {
	i := bytes.Index(body, []byte("OriginalContent:"))
	if i < 0 {
		return nil, "", errors.New("encrypted message without OriginalContent")
	}
	rest := body[i:]
	eol := bytes.Index(rest, []byte("\r\n"))
	if eol < 0 {
		return nil, "", errors.New("encrypted message truncated")
	}
	orig := strings.TrimSpace(string(rest[len("OriginalContent:"):eol]))
	// "type=application/soap+xml;charset=UTF-8;Length=N"
	var ctypeParts []string
	n := -1
	for _, p := range strings.Split(orig, ";") {
		p = strings.TrimSpace(p)
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToLower(k) {
		case "type":
			ctypeParts = append(ctypeParts, v)
		case "length":
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				n = -1
			}
		default:
			ctypeParts = append(ctypeParts, p)
		}
	}
	ctype := strings.Join(ctypeParts, ";")
	if !strings.Contains(ctype, "/") {
		ctype = soapContentType
	}
	if n < 0 || n > len(body) {
		return nil, "", fmt.Errorf("encrypted message length: %q", orig)
	}
	k := bytes.Index(rest, []byte(octetStreamHeader))
	if k < 0 {
		return nil, "", errors.New("encrypted message without an octet-stream part")
	}
	payload := rest[k+len(octetStreamHeader):]
	if len(payload) < 4 || binary.LittleEndian.Uint32(payload) != 16 || len(payload) < 20+n {
		return nil, "", errors.New("encrypted message truncated")
	}
	sig := payload[4:20]
	msg := make([]byte, n)
	s.inSeal.XORKeyStream(msg, payload[20:20+n])
	if want := s.signature(s.inSign, s.inSeal, s.inSeq, msg); !hmac.Equal(want, sig) {
		return nil, "", fmt.Errorf("NTLM signature mismatch on server message %d", s.inSeq)
	}
	s.inSeq++
	return msg, ctype, nil
}

// lane is one connection of the NTLM lanes (transport.go) and, with
// message encryption, the session that connection authenticated.
type lane struct {
	tr   *http.Transport
	sec  *sealSession
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
		framed := ln.sec.wrap(body)
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
		msg, ctype, err := ln.sec.unwrap(data)
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
	sec, err := newSealSession(auth.flags, auth.exportedKey)
	if err != nil {
		return nil, err
	}
	ln.sec, ln.conn = sec, conn2
	return nil, nil
}
