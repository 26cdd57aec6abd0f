package wsman

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"onboard/internal/ntlm"
	"testing"
	"time"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// authenticateMessage builds an AUTHENTICATE_MESSAGE with a Version and
// room for a MIC, as pywinrm's ntlm-auth does.
func authenticateMessage(flags uint32, domain, user string, nt, encKey []byte) []byte {
	d, u := utf16le(domain), utf16le(user)
	const header = 88
	msg := make([]byte, header)
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 3)
	off := header
	for _, f := range []struct {
		at   int
		data []byte
	}{{28, d}, {36, u}, {44, nil}, {12, make([]byte, 24)}, {20, nt}, {52, encKey}} {
		putVarField(msg[f.at:], len(f.data), off)
		off += len(f.data)
	}
	binary.LittleEndian.PutUint32(msg[60:], flags)
	for _, p := range [][]byte{d, u, make([]byte, 24), nt, encKey} {
		msg = append(msg, p...)
	}
	return msg
}

// TestNTLMv2SpecVectors checks the NTLMv2 proof, the session key exchange
// and sealing against the worked example of MS-NLMP 4.2.4.
func TestNTLMv2SpecVectors(t *testing.T) {
	const flags = 0xe28a8233
	h := &ntlmHandshake{}
	copy(h.serverChallenge[:], unhex(t, "0123456789abcdef"))
	// temp = 0x0101, zeros, Time 0, ClientChallenge aa.., zeros, the
	// AV pairs NbDomainName "Domain" and NbComputerName "Server", zeros.
	blob := unhex(t, "0101000000000000"+"0000000000000000"+"aaaaaaaaaaaaaaaa"+"00000000"+
		"02000c0044006f006d00610069006e00"+"01000c005300650072007600650072000000000000000000")
	ntProof := unhex(t, "68cd0ab851e51c96aabc927bebef6a1c")
	encKey := unhex(t, "c5dad2544fc9799094ce1ce90bc9d03e")
	a, err := parseAuthenticate(authenticateMessage(flags, "Domain", "User", append(ntProof, blob...), encKey))
	if err != nil {
		t.Fatal(err)
	}
	if a.user != "User" || a.domain != "Domain" || a.hasMIC() {
		t.Fatalf("parsed %+v", a)
	}
	if _, err := h.verify(a, "wrong"); err == nil {
		t.Fatal("a wrong password verified")
	}
	key, err := h.verify(a, "Password")
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat([]byte{0x55}, 16); !bytes.Equal(key, want) {
		t.Fatalf("exported session key %x, want %x", key, want)
	}

	sec, err := newSessionSecurity(flags, key)
	if err != nil {
		t.Fatal(err)
	}
	// The client's sealed "Plaintext" (UTF-16LE) and its signature.
	sealed := unhex(t, "54e50165bf1936dc996020c1811b0f06fb5f")
	sig := unhex(t, "010000007fb38ec5c55d497600000000")
	plain, err := sec.Unwrap(sealed, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, utf16le("Plaintext")) {
		t.Errorf("unsealed %q", plain)
	}
}

func TestNTLMChallenge(t *testing.T) {
	negotiate := make([]byte, 32)
	copy(negotiate, ntlmSignature)
	binary.LittleEndian.PutUint32(negotiate[8:], 1)
	// go-ntlmssp's flags: no KEY_EXCH, no SIGN or SEAL.
	binary.LittleEndian.PutUint32(negotiate[12:], flagTargetInfo|flag56|flag128|flagUnicode|flagESS|flagNTLM|flagAlwaysSign|0x80 /* LM_KEY */)
	id := ntlmIdentity{nbComputer: "WS1", nbDomain: "LAB", dnsComputer: "ws1.lab.test", dnsDomain: "lab.test"}
	h, err := newChallenge(negotiate, id, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	c := h.challenge
	flags := binary.LittleEndian.Uint32(c[20:])
	if flags&(flagKeyExch|0x80) != 0 {
		t.Errorf("challenge grants KEY_EXCH or LM_KEY: %#x", flags)
	}
	for _, f := range []uint32{flagUnicode, flagNTLM, flagTargetInfo, flagESS, flagRequestTarget, flag128} {
		if flags&f == 0 {
			t.Errorf("challenge lacks flag %#x: %#x", f, flags)
		}
	}
	field := func(at int) []byte {
		n, off := binary.LittleEndian.Uint16(c[at:]), binary.LittleEndian.Uint32(c[at+4:])
		return c[off : off+uint32(n)]
	}
	if got := decodeNTLMString(field(12), true); got != "LAB" {
		t.Errorf("target name %q", got)
	}
	avs := map[uint16]string{}
	for info := field(40); len(info) >= 4; {
		id, n := binary.LittleEndian.Uint16(info), binary.LittleEndian.Uint16(info[2:])
		if id == avEOL {
			break
		}
		avs[id] = string(info[4 : 4+n])
		info = info[4+n:]
	}
	for id, want := range map[uint16]string{avNbDomain: "LAB", avNbComputer: "WS1", avDNSDomain: "lab.test", avDNSComputer: "ws1.lab.test"} {
		if got := decodeNTLMString([]byte(avs[id]), true); got != want {
			t.Errorf("AV pair %d: %q, want %q", id, got, want)
		}
	}
	if ts := []byte(avs[avTimestamp]); len(ts) != 8 || binary.LittleEndian.Uint64(ts) != 116444736000000000 {
		t.Errorf("timestamp %x", ts)
	}
}

func TestSessionSecurityRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	for _, flags := range []uint32{
		flagESS | flagSign | flagSeal | flag128 | flagKeyExch,
		flagESS | flagSign | flagSeal | flag56,
		flagESS | flagSign,
	} {
		server, err := newSessionSecurity(flags, key)
		if err != nil {
			t.Fatal(err)
		}
		client, _ := ntlm.NewSession(flags, key, true)
		for i, msg := range []string{"<s:Envelope/>", "", "second message"} {
			framed := encodeEncrypted([]byte(msg), client)
			got, err := decodeEncrypted(framed, server)
			if err != nil || string(got) != msg {
				t.Fatalf("flags %#x, message %d: %q %v", flags, i, got, err)
			}
			back, err := decodeEncrypted(encodeEncrypted(got, server), client)
			if err != nil || string(back) != msg {
				t.Fatalf("flags %#x, reply %d: %q %v", flags, i, back, err)
			}
		}
		// A replayed message is out of sequence.
		framed := encodeEncrypted([]byte("once"), client)
		if _, err := decodeEncrypted(framed, server); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeEncrypted(framed, server); err == nil {
			t.Errorf("flags %#x: a replayed message was accepted", flags)
		}
	}
}

func TestLookupUser(t *testing.T) {
	s := New(Config{Users: map[string]string{"alice": "a", `LAB\bob`: "b", "carol@corp.example.test": "c"}, ComputerName: "ws1"}, nil)
	defer s.Close()
	for _, tt := range []struct {
		name, domain, want string
	}{
		{"alice", "", "alice"},
		{"ALICE", "", "alice"},
		{`WS1\alice`, "", "alice"},
		{"alice", "WS1", "alice"},
		{"alice", ".", "alice"},
		{"alice", "OTHER", ""},
		{`LAB\bob`, "", `LAB\bob`},
		{"bob", "LAB", `LAB\bob`},
		{"bob@lab.example", "", `LAB\bob`},
		{"bob", "", ""},
		{"carol@corp.example.test", "", "carol@corp.example.test"},
		{"carol", "CORP", "carol@corp.example.test"},
		{"mallory", "", ""},
	} {
		got, _, ok := s.lookupUser(tt.name, tt.domain)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("lookupUser(%q, %q) = %q, %v; want %q", tt.name, tt.domain, got, ok, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT60S":       time.Minute,
		"PT60.000S":   time.Minute,
		"PT7200.000S": 2 * time.Hour,
		"P0DT0H1M30S": 90 * time.Second,
		"P1D":         24 * time.Hour,
		"PT0.5S":      500 * time.Millisecond,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "60", "PT", "P1M", "PTXS", "PT-1S"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

// FuzzUntrustedInput feeds the parsers of what a client sends: they must
// refuse garbage without panicking.
func FuzzUntrustedInput(f *testing.F) {
	f.Add(authenticateMessage(0xe28a8233, "Domain", "User", make([]byte, 60), make([]byte, 16)))
	f.Add([]byte("--Encrypted Boundary\r\n\tOriginalContent: type=x;Length=3\r\n\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00"))
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2"))
	sec, err := newSessionSecurity(flagESS|flagSeal|flagSign|flagKeyExch, make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	h := &ntlmHandshake{}
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := parseAuthenticate(b); err == nil {
			_, _ = h.verify(a, "password")
		}
		_, _ = newChallenge(b, ntlmIdentity{}, time.Now())
		_, _ = decodeEncrypted(b, sec)
		_, _ = parseRequest(b)
	})
}
