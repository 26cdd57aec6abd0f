// Package ntlm holds the NTLM pieces both ends of WinRM share: the NT hash
// and HMAC-MD5 of MS-NLMP, the signing and sealing of a session with
// extended session security, and the multipart/encrypted framing of
// MS-WSMV 2.2.9.1.1. The handshakes themselves live with their side
// (internal/remote/winrm is the client, internal/lab/wsman the lab's server).
package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// Negotiate flags that decide how a session signs and seals.
const (
	FlagSeal    uint32 = 0x00000020
	FlagESS     uint32 = 0x00080000 // extended session security
	Flag128     uint32 = 0x20000000
	FlagKeyExch uint32 = 0x40000000
	Flag56      uint32 = 0x80000000
)

// NTHash is MD4 of the UTF-16LE password.
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(UTF16LE(password))
	return h.Sum(nil)
}

// HMACMD5 is HMAC-MD5 of the concatenated data.
func HMACMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// UTF16LE encodes s as NTLM's Unicode strings are.
func UTF16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// Session is one side of an NTLM session with extended session security:
// one RC4 stream, signing key and sequence number per direction.
type Session struct {
	mu                 sync.Mutex
	flags              uint32
	sendSign, recvSign []byte
	sendSeal, recvSeal *rc4.Cipher
	sendSeq, recvSeq   uint32
	peer               string // "client" or "server", for errors
}

// NewSession derives the keys (MS-NLMP 3.4.5) from the exported session
// key, for the client's side or the server's.
func NewSession(flags uint32, exportedKey []byte, client bool) (*Session, error) {
	if flags&FlagESS == 0 {
		return nil, errors.New("NTLM signing without extended session security is not supported")
	}
	sealKey := exportedKey
	switch {
	case flags&Flag128 != 0:
	case flags&Flag56 != 0:
		sealKey = exportedKey[:7]
	default:
		sealKey = exportedKey[:5]
	}
	derive := func(key []byte, magic string) []byte {
		sum := md5.Sum(append(append([]byte(nil), key...), magic+"\x00"...))
		return sum[:]
	}
	c2s, err := rc4.NewCipher(derive(sealKey, "session key to client-to-server sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	s2c, err := rc4.NewCipher(derive(sealKey, "session key to server-to-client sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	c2sSign := derive(exportedKey, "session key to client-to-server signing key magic constant")
	s2cSign := derive(exportedKey, "session key to server-to-client signing key magic constant")
	if client {
		return &Session{flags: flags, sendSign: c2sSign, recvSign: s2cSign, sendSeal: c2s, recvSeal: s2c, peer: "server"}, nil
	}
	return &Session{flags: flags, sendSign: s2cSign, recvSign: c2sSign, sendSeal: s2c, recvSeal: c2s, peer: "client"}, nil
}

// signature is an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 3.4.4.2); it advances
// the RC4 stream with key exchange.
func (s *Session) signature(signKey []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	seqBytes := binary.LittleEndian.AppendUint32(nil, seq)
	checksum := HMACMD5(signKey, seqBytes, msg)[:8]
	if s.flags&FlagKeyExch != 0 {
		seal.XORKeyStream(checksum, checksum)
	}
	sig := binary.LittleEndian.AppendUint32(nil, 1)
	sig = append(sig, checksum...)
	return append(sig, seqBytes...)
}

// Wrap signs and seals a message for the peer.
func (s *Session) Wrap(msg []byte) (sealed, sig []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sealed = append([]byte(nil), msg...)
	if s.flags&FlagSeal != 0 {
		s.sendSeal.XORKeyStream(sealed, sealed)
	}
	sig = s.signature(s.sendSign, s.sendSeal, s.sendSeq, msg)
	s.sendSeq++
	return sealed, sig
}

// Unwrap unseals a message from the peer and checks its signature.
func (s *Session) Unwrap(sealed, sig []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(sig) != 16 {
		return nil, fmt.Errorf("NTLM signature of %d bytes, want 16", len(sig))
	}
	msg := append([]byte(nil), sealed...)
	if s.flags&FlagSeal != 0 {
		s.recvSeal.XORKeyStream(msg, msg)
	}
	if want := s.signature(s.recvSign, s.recvSeal, s.recvSeq, msg); !hmac.Equal(want, sig) {
		return nil, fmt.Errorf("NTLM signature mismatch on %s message %d", s.peer, s.recvSeq)
	}
	s.recvSeq++
	return msg, nil
}

// The multipart/encrypted framing of WinRM message encryption.
const (
	EncryptedProtocol    = "application/HTTP-SPNEGO-session-encrypted"
	EncryptedContentType = `multipart/encrypted;protocol="` + EncryptedProtocol + `";boundary="Encrypted Boundary"`
	SOAPContentType      = "application/soap+xml;charset=UTF-8"
	boundary             = "--Encrypted Boundary"
	octetStreamHeader    = "\tContent-Type: application/octet-stream\r\n"
)

// Frame seals msg (of the given content type) and frames it as Windows
// and pywinrm do.
func (s *Session) Frame(msg []byte, contentType string) []byte {
	sealed, sig := s.Wrap(msg)
	var b bytes.Buffer
	b.Grow(len(msg) + 256)
	b.WriteString(boundary + "\r\n")
	b.WriteString("\tContent-Type: " + EncryptedProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + contentType + ";Length=" + strconv.Itoa(len(msg)) + "\r\n")
	b.WriteString(boundary + "\r\n")
	b.WriteString(octetStreamHeader)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(boundary + "--\r\n")
	return b.Bytes()
}

// Unframe opens a framed message, checks its signature, and returns it with
// its original content type.
func (s *Session) Unframe(body []byte) ([]byte, string, error) {
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
		ctype = SOAPContentType
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
	msg, err := s.Unwrap(payload[20:20+n], payload[4:20])
	return msg, ctype, err
}
