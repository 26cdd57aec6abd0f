package winrm

import (
	"bytes"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"onboard/internal/ntlm"
	"strings"
	"time"
)

// The client side of NTLM (MS-NLMP), NTLMv2 with extended session security
// and key exchange: the handshake that gives a connection its session keys
// for message encryption (seal.go).

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	ntlmUnicode       uint32 = 0x00000001
	ntlmRequestTarget uint32 = 0x00000004
	ntlmSign          uint32 = 0x00000010
	ntlmSeal          uint32 = 0x00000020
	ntlmNTLM          uint32 = 0x00000200
	ntlmAlwaysSign    uint32 = 0x00008000
	ntlmESS           uint32 = 0x00080000
	ntlmTargetInfo    uint32 = 0x00800000
	ntlmVersion       uint32 = 0x02000000
	ntlm128           uint32 = 0x20000000
	ntlmKeyExch       uint32 = 0x40000000
	ntlm56            uint32 = 0x80000000

	ntlmRequested = ntlmUnicode | ntlmRequestTarget | ntlmSign | ntlmSeal | ntlmNTLM |
		ntlmAlwaysSign | ntlmESS | ntlmVersion | ntlm128 | ntlmKeyExch | ntlm56
	// ntlmRequired are what message encryption cannot do without.
	ntlmRequired = ntlmUnicode | ntlmSign | ntlmSeal | ntlmESS | ntlmKeyExch
)

// AV_PAIR ids (MS-NLMP 2.2.2.1).
const (
	avEOL       = 0
	avFlags     = 6
	avTimestamp = 7
	avMICFlag   = 0x2
)

var ntlmSig = []byte("NTLMSSP\x00")

// clientVersion is the Version field we send: Windows 10.0.17763, NTLM
// revision 15.
var clientVersion = []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15}

// ntlmNegotiate is the NEGOTIATE_MESSAGE: no domain, no workstation.
func ntlmNegotiate() []byte {
	msg := make([]byte, 40)
	copy(msg, ntlmSig)
	binary.LittleEndian.PutUint32(msg[8:], 1)
	binary.LittleEndian.PutUint32(msg[12:], ntlmRequested)
	putField(msg[16:], 0, 40)
	putField(msg[24:], 0, 40)
	copy(msg[32:], clientVersion)
	return msg
}

// ntlmAuth is the result of the handshake: the AUTHENTICATE_MESSAGE and the
// keys of the session it opens.
type ntlmAuth struct {
	message     []byte
	flags       uint32
	exportedKey []byte
}

// ntlmAuthenticate answers the server's CHALLENGE_MESSAGE. user may be
// "DOMAIN\user"; any other form goes with an empty domain, as Windows does
// for local accounts and UPNs.
func ntlmAuthenticate(negotiate, challenge []byte, user, password string) (*ntlmAuth, error) {
	if len(challenge) < 48 || !bytes.Equal(challenge[:8], ntlmSig) || binary.LittleEndian.Uint32(challenge[8:]) != 2 {
		return nil, errors.New("not an NTLM CHALLENGE message")
	}
	flags := binary.LittleEndian.Uint32(challenge[20:])
	if flags&ntlmRequired != ntlmRequired {
		return nil, fmt.Errorf("the server's NTLM does not offer message encryption (flags %#08x)", flags)
	}
	flags &= ntlmRequested
	var serverChallenge [8]byte
	copy(serverChallenge[:], challenge[24:32])
	n, off := int(binary.LittleEndian.Uint16(challenge[40:])), int(binary.LittleEndian.Uint32(challenge[44:]))
	if off+n > len(challenge) || (n > 0 && off < 48) {
		return nil, errors.New("NTLM CHALLENGE target info out of bounds")
	}
	targetInfo := challenge[off : off+n]

	// The server's AV pairs, with MsvAvFlags saying a MIC follows; its
	// timestamp if it sent one (then the LMv2 response is zeros).
	var av bytes.Buffer
	var timestamp []byte
	for rest := targetInfo; len(rest) >= 4; {
		id, l := binary.LittleEndian.Uint16(rest), int(binary.LittleEndian.Uint16(rest[2:]))
		if id == avEOL || 4+l > len(rest) {
			break
		}
		if id == avTimestamp && l == 8 {
			timestamp = rest[4:12]
		}
		if id != avFlags {
			av.Write(rest[:4+l])
		}
		rest = rest[4+l:]
	}
	putAV := func(id uint16, v []byte) {
		_ = binary.Write(&av, binary.LittleEndian, id)
		_ = binary.Write(&av, binary.LittleEndian, uint16(len(v)))
		av.Write(v)
	}
	putAV(avFlags, binary.LittleEndian.AppendUint32(nil, avMICFlag))
	putAV(avEOL, nil)
	if timestamp == nil {
		timestamp = binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano()/100)+116444736000000000)
	}

	domain := ""
	if d, u, ok := strings.Cut(user, `\`); ok {
		domain, user = d, u
	}
	owf := hmacMD5(ntHash(password), utf16le(strings.ToUpper(user)+domain))
	var clientChallenge [8]byte
	exported := make([]byte, 16)
	if _, err := rand.Read(clientChallenge[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(exported); err != nil {
		return nil, err
	}
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = append(blob, timestamp...)
	blob = append(blob, clientChallenge[:]...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, av.Bytes()...)
	blob = append(blob, 0, 0, 0, 0)
	proof := hmacMD5(owf, serverChallenge[:], blob)
	ntResponse := append(append([]byte(nil), proof...), blob...)
	// NTLMv2: KeyExchangeKey = SessionBaseKey; the random
	// ExportedSessionKey goes RC4-encrypted with it.
	baseKey := hmacMD5(owf, proof)
	encKey := make([]byte, 16)
	kc, err := rc4.NewCipher(baseKey)
	if err != nil {
		return nil, err
	}
	kc.XORKeyStream(encKey, exported)

	const headerLen = 88 // fields, flags, Version, MIC
	payload := [][]byte{
		make([]byte, 24), // LmChallengeResponse: zeros with a MIC (MS-NLMP 3.1.5.1.2)
		ntResponse,
		utf16le(domain),
		utf16le(user),
		nil, // Workstation
		encKey,
	}
	msg := make([]byte, headerLen)
	copy(msg, ntlmSig)
	binary.LittleEndian.PutUint32(msg[8:], 3)
	at := headerLen
	for i, p := range payload {
		putField(msg[12+8*i:], len(p), at)
		msg = append(msg, p...)
		at += len(p)
	}
	binary.LittleEndian.PutUint32(msg[60:], flags)
	copy(msg[64:72], clientVersion)
	copy(msg[72:88], hmacMD5(exported, negotiate, challenge, msg))
	return &ntlmAuth{message: msg, flags: flags, exportedKey: exported}, nil
}

func putField(b []byte, n, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(offset))
}

// The NT hash, HMAC-MD5 and UTF-16LE of MS-NLMP, shared with the server.
var (
	ntHash  = ntlm.NTHash
	hmacMD5 = ntlm.HMACMD5
	utf16le = ntlm.UTF16LE
)
