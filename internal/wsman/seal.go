package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// NTLM message encryption for WinRM over HTTP (MS-WSMV 2.2.9.1.1): each
// SOAP message is signed and sealed with the keys of the connection's NTLM
// session and framed as multipart/encrypted.

const (
	encryptedProtocol    = "application/HTTP-SPNEGO-session-encrypted"
	encryptedContentType = `multipart/encrypted;protocol="` + encryptedProtocol + `";boundary="Encrypted Boundary"`
	encryptedBoundary    = "--Encrypted Boundary"
	octetStreamHeader    = "\tContent-Type: application/octet-stream\r\n"
)

// sessionSecurity is the server's half of an NTLM session with extended
// session security: one RC4 stream and one sequence number per direction.
type sessionSecurity struct {
	mu              sync.Mutex
	flags           uint32
	inSign, outSign []byte
	inSeal, outSeal *rc4.Cipher
	inSeq, outSeq   uint32
}

func newSessionSecurity(flags uint32, exportedKey []byte) (*sessionSecurity, error) {
	if flags&flagESS == 0 {
		return nil, errors.New("NTLM signing without extended session security is not supported")
	}
	sealKey := exportedKey
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		sealKey = exportedKey[:7]
	default:
		sealKey = exportedKey[:5]
	}
	derive := func(key []byte, magic string) []byte {
		sum := md5.Sum(append(append([]byte(nil), key...), magic+"\x00"...))
		return sum[:]
	}
	in, err := rc4.NewCipher(derive(sealKey, "session key to client-to-server sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	out, err := rc4.NewCipher(derive(sealKey, "session key to server-to-client sealing key magic constant"))
	if err != nil {
		return nil, err
	}
	return &sessionSecurity{
		flags:   flags,
		inSign:  derive(exportedKey, "session key to client-to-server signing key magic constant"),
		outSign: derive(exportedKey, "session key to server-to-client signing key magic constant"),
		inSeal:  in,
		outSeal: out,
	}, nil
}

// signature computes an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 3.4.4.2) and
// advances the RC4 stream when the checksum is encrypted.
func (s *sessionSecurity) signature(signKey []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	seqBytes := binary.LittleEndian.AppendUint32(nil, seq)
	checksum := hmacMD5(signKey, seqBytes, msg)[:8]
	if s.flags&flagKeyExch != 0 {
		seal.XORKeyStream(checksum, checksum)
	}
	sig := binary.LittleEndian.AppendUint32(nil, 1)
	sig = append(sig, checksum...)
	return append(sig, seqBytes...)
}

// wrap signs and seals a message for the client.
func (s *sessionSecurity) wrap(msg []byte) (sealed, sig []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sealed = append([]byte(nil), msg...)
	if s.flags&flagSeal != 0 {
		s.outSeal.XORKeyStream(sealed, sealed)
	}
	sig = s.signature(s.outSign, s.outSeal, s.outSeq, msg)
	s.outSeq++
	return sealed, sig
}

// unwrap unseals a message from the client and checks its signature.
func (s *sessionSecurity) unwrap(sealed, sig []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(sig) != 16 {
		return nil, fmt.Errorf("NTLM signature of %d bytes, want 16", len(sig))
	}
	msg := append([]byte(nil), sealed...)
	if s.flags&flagSeal != 0 {
		s.inSeal.XORKeyStream(msg, msg)
	}
	want := s.signature(s.inSign, s.inSeal, s.inSeq, msg)
	if !hmac.Equal(want, sig) {
		return nil, fmt.Errorf("NTLM signature mismatch on client message %d", s.inSeq)
	}
	s.inSeq++
	return msg, nil
}

// decodeEncrypted opens a multipart/encrypted request body.
func decodeEncrypted(body []byte, sec *sessionSecurity) ([]byte, error) {
	const lengthKey = "Length="
	i := bytes.Index(body, []byte("OriginalContent:"))
	if i < 0 {
		return nil, errors.New("encrypted message without OriginalContent")
	}
	rest := body[i:]
	eol := bytes.Index(rest, []byte("\r\n"))
	j := bytes.Index(rest, []byte(lengthKey))
	if eol < 0 || j < 0 || j > eol {
		return nil, errors.New("encrypted message without Length")
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(rest[j+len(lengthKey) : eol])))
	if err != nil || n < 0 || n > len(body) {
		return nil, fmt.Errorf("encrypted message length: %q", rest[j+len(lengthKey):eol])
	}
	k := bytes.Index(rest, []byte(octetStreamHeader))
	if k < 0 {
		return nil, errors.New("encrypted message without an octet-stream part")
	}
	payload := rest[k+len(octetStreamHeader):]
	if len(payload) < 4 {
		return nil, errors.New("encrypted message truncated")
	}
	sigLen := int(binary.LittleEndian.Uint32(payload))
	if sigLen != 16 || len(payload) < 4+sigLen+n {
		return nil, errors.New("encrypted message truncated")
	}
	sig := payload[4 : 4+sigLen]
	return sec.unwrap(payload[4+sigLen:4+sigLen+n], sig)
}

// encodeEncrypted frames a response as Windows does.
func encodeEncrypted(msg []byte, sec *sessionSecurity) []byte {
	sealed, sig := sec.wrap(msg)
	var b bytes.Buffer
	b.WriteString(encryptedBoundary + "\r\n")
	b.WriteString("\tContent-Type: " + encryptedProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + strconv.Itoa(len(msg)) + "\r\n")
	b.WriteString(encryptedBoundary + "\r\n")
	b.WriteString(octetStreamHeader)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(encryptedBoundary + "--\r\n")
	return b.Bytes()
}
