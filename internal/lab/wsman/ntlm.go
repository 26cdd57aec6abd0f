package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"onboard/internal/ntlm"
	"strings"
	"time"
	"unicode/utf16"
)

// The server side of NTLM (MS-NLMP), connection-oriented, NTLMv2 only: what
// Windows does when a client authenticates with "Negotiate" and a raw
// NTLMSSP token.

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	flagUnicode          uint32 = 0x00000001
	flagOEM              uint32 = 0x00000002
	flagRequestTarget    uint32 = 0x00000004
	flagSign             uint32 = 0x00000010
	flagSeal             uint32 = 0x00000020
	flagNTLM             uint32 = 0x00000200
	flagAlwaysSign       uint32 = 0x00008000
	flagTargetTypeDomain uint32 = 0x00010000
	flagESS              uint32 = 0x00080000
	flagTargetInfo       uint32 = 0x00800000
	flagVersion          uint32 = 0x02000000
	flag128              uint32 = 0x20000000
	flagKeyExch          uint32 = 0x40000000
	flag56               uint32 = 0x80000000

	// flagsEchoed are the client's requests the server grants when asked.
	// LM_KEY is never granted: NTLMv2 only.
	flagsEchoed = flagUnicode | flagSign | flagSeal | flagAlwaysSign | flagESS |
		flagVersion | flag128 | flagKeyExch | flag56
)

// AV_PAIR ids (MS-NLMP 2.2.2.1).
const (
	avEOL           = 0
	avNbComputer    = 1
	avNbDomain      = 2
	avDNSComputer   = 3
	avDNSDomain     = 4
	avFlags         = 6
	avTimestamp     = 7
	avFlagMICExists = 0x2
)

var ntlmSignature = []byte("NTLMSSP\x00")

// ntlmIdentity is what the server's CHALLENGE says about the machine.
type ntlmIdentity struct {
	nbComputer, nbDomain, dnsComputer, dnsDomain string
}

// ntlmHandshake is one connection's authentication in progress: the
// NEGOTIATE received and the CHALLENGE sent, both kept raw for the MIC.
type ntlmHandshake struct {
	negotiate       []byte
	challenge       []byte
	serverChallenge [8]byte
}

// ntlmMessageType returns the type of an NTLMSSP message, or 0 if b is not one.
func ntlmMessageType(b []byte) uint32 {
	if len(b) < 12 || !bytes.Equal(b[:8], ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[8:12])
}

// newChallenge answers a NEGOTIATE_MESSAGE with a CHALLENGE_MESSAGE.
func newChallenge(negotiate []byte, id ntlmIdentity, now time.Time) (*ntlmHandshake, error) {
	if ntlmMessageType(negotiate) != 1 || len(negotiate) < 16 {
		return nil, errors.New("not an NTLM NEGOTIATE message")
	}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:16])
	flags := flagRequestTarget | flagNTLM | flagTargetInfo | flagTargetTypeDomain | clientFlags&flagsEchoed
	unicode := clientFlags&flagUnicode != 0
	if !unicode {
		flags |= flagOEM
	}

	h := &ntlmHandshake{negotiate: append([]byte(nil), negotiate...)}
	if _, err := rand.Read(h.serverChallenge[:]); err != nil {
		return nil, err
	}

	var info bytes.Buffer
	putAV := func(id uint16, value []byte) {
		_ = binary.Write(&info, binary.LittleEndian, id)
		_ = binary.Write(&info, binary.LittleEndian, uint16(len(value)))
		info.Write(value)
	}
	putAV(avNbDomain, utf16le(id.nbDomain))
	putAV(avNbComputer, utf16le(id.nbComputer))
	putAV(avDNSDomain, utf16le(id.dnsDomain))
	putAV(avDNSComputer, utf16le(id.dnsComputer))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, fileTime(now))
	putAV(avTimestamp, ts)
	putAV(avEOL, nil)

	targetName := []byte(id.nbDomain)
	if unicode {
		targetName = utf16le(id.nbDomain)
	}
	const headerLen = 56
	msg := make([]byte, headerLen, headerLen+len(targetName)+info.Len())
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putVarField(msg[12:], len(targetName), headerLen)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:32], h.serverChallenge[:])
	putVarField(msg[40:], info.Len(), headerLen+len(targetName))
	// Version: Windows Server 2019 (10.0.17763), NTLM revision 15.
	copy(msg[48:56], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15})
	msg = append(msg, targetName...)
	msg = append(msg, info.Bytes()...)
	h.challenge = msg
	return h, nil
}

// ntlmAuthenticate is a parsed AUTHENTICATE_MESSAGE.
type ntlmAuthenticate struct {
	raw                  []byte
	ntResponse           []byte
	domain, user         string
	encryptedSessionKey  []byte
	flags                uint32
	payloadStart         int // smallest payload offset: the MIC fits below it
	ntProof, clientBlob  []byte
	clientAVFlags        uint32
	clientAVFlagsPresent bool
}

func parseAuthenticate(b []byte) (*ntlmAuthenticate, error) {
	if ntlmMessageType(b) != 3 || len(b) < 64 {
		return nil, errors.New("not an NTLM AUTHENTICATE message")
	}
	a := &ntlmAuthenticate{raw: b, flags: binary.LittleEndian.Uint32(b[60:64]), payloadStart: len(b)}
	field := func(at int) ([]byte, error) {
		n := int(binary.LittleEndian.Uint16(b[at:]))
		off := int(binary.LittleEndian.Uint32(b[at+4:]))
		if n == 0 {
			return nil, nil
		}
		if off < 64 || off+n > len(b) {
			return nil, fmt.Errorf("field at %d out of bounds", at)
		}
		a.payloadStart = min(a.payloadStart, off)
		return b[off : off+n], nil
	}
	var err error
	var domain, user []byte
	if _, err = field(12); err != nil { // LmChallengeResponse: unused with NTLMv2
		return nil, err
	}
	if a.ntResponse, err = field(20); err != nil {
		return nil, err
	}
	if domain, err = field(28); err != nil {
		return nil, err
	}
	if user, err = field(36); err != nil {
		return nil, err
	}
	if _, err = field(44); err != nil { // Workstation
		return nil, err
	}
	if a.encryptedSessionKey, err = field(52); err != nil {
		return nil, err
	}
	unicode := a.flags&flagUnicode != 0
	a.domain, a.user = decodeNTLMString(domain, unicode), decodeNTLMString(user, unicode)

	// NTLMv2 response: NTProofStr (16) then the client's blob, which
	// starts 0x0101, and carries the client's AV pairs from byte 28 on.
	if len(a.ntResponse) < 16+28 || a.ntResponse[16] != 1 || a.ntResponse[17] != 1 {
		return nil, errors.New("not an NTLMv2 response (NTLMv1 and LM are refused)")
	}
	a.ntProof, a.clientBlob = a.ntResponse[:16], a.ntResponse[16:]
	av := a.clientBlob[28:]
	for len(av) >= 4 {
		id, n := binary.LittleEndian.Uint16(av), int(binary.LittleEndian.Uint16(av[2:]))
		if id == avEOL || 4+n > len(av) {
			break
		}
		if id == avFlags && n == 4 {
			a.clientAVFlags, a.clientAVFlagsPresent = binary.LittleEndian.Uint32(av[4:]), true
		}
		av = av[4+n:]
	}
	return a, nil
}

// hasMIC reports whether the client says it sent a MIC (MS-NLMP 3.1.5.1.2);
// it sits at offset 72, after the Version.
func (a *ntlmAuthenticate) hasMIC() bool {
	return a.clientAVFlagsPresent && a.clientAVFlags&avFlagMICExists != 0 && a.payloadStart >= 88 && len(a.raw) >= 88
}

// verify checks the client's proof against password and returns the
// ExportedSessionKey. The NTOWFv2 salt is the user name upper-cased plus the
// domain exactly as the client sent it; an empty domain is tried as well,
// as Windows does for local accounts.
func (h *ntlmHandshake) verify(a *ntlmAuthenticate, password string) ([]byte, error) {
	nt := ntHash(password)
	domains := []string{a.domain}
	if a.domain != "" {
		domains = append(domains, "")
	}
	for _, domain := range domains {
		owf := hmacMD5(nt, utf16le(strings.ToUpper(a.user)+domain))
		if !hmac.Equal(hmacMD5(owf, h.serverChallenge[:], a.clientBlob), a.ntProof) {
			continue
		}
		// NTLMv2: KeyExchangeKey = SessionBaseKey.
		key := hmacMD5(owf, a.ntProof)
		if a.flags&flagKeyExch != 0 && len(a.encryptedSessionKey) == 16 {
			c, err := rc4.NewCipher(key)
			if err != nil {
				return nil, err
			}
			exported := make([]byte, 16)
			c.XORKeyStream(exported, a.encryptedSessionKey)
			key = exported
		}
		if a.hasMIC() {
			zeroed := append([]byte(nil), a.raw...)
			clear(zeroed[72:88])
			if !hmac.Equal(hmacMD5(key, h.negotiate, h.challenge, zeroed), a.raw[72:88]) {
				return nil, errors.New("NTLM message integrity code (MIC) mismatch")
			}
		}
		return key, nil
	}
	return nil, errors.New("wrong password")
}

// The NT hash, HMAC-MD5 and UTF-16LE of MS-NLMP, shared with the client.
var (
	ntHash  = ntlm.NTHash
	hmacMD5 = ntlm.HMACMD5
	utf16le = ntlm.UTF16LE
)

func decodeNTLMString(b []byte, unicode bool) string {
	if !unicode {
		return string(b)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func putVarField(b []byte, n, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(offset))
}

// fileTime is t in Windows FILETIME: 100 ns ticks since 1601-01-01.
func fileTime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}
