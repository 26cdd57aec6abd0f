package ntlm

import (
	"bytes"
	"fmt"
	"testing"
)

// A client's and a server's sessions of one key open each other's framed
// messages, in order, for every flag combination WinRM uses; a tampered
// message is refused. (The MS-NLMP worked example is checked in
// internal/lab/wsman's tests, against these same functions.)
func TestFrameRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	for _, flags := range []uint32{
		FlagESS | FlagSeal | Flag128 | FlagKeyExch,
		FlagESS | FlagSeal | Flag128,
		FlagESS | FlagSeal | Flag56,
	} {
		client, err := NewSession(flags, key, true)
		if err != nil {
			t.Fatal(err)
		}
		server, _ := NewSession(flags, key, false)
		for i := range 3 {
			msg := []byte(fmt.Sprintf("<s:Envelope>%d</s:Envelope>", i))
			got, ctype, err := server.Unframe(client.Frame(msg, SOAPContentType))
			if err != nil || !bytes.Equal(got, msg) || ctype != SOAPContentType {
				t.Fatalf("flags %#x, message %d: %q %q %v", flags, i, got, ctype, err)
			}
			back, _, err := client.Unframe(server.Frame(got, SOAPContentType))
			if err != nil || !bytes.Equal(back, msg) {
				t.Fatalf("flags %#x, reply %d: %q %v", flags, i, back, err)
			}
		}
		framed := client.Frame([]byte("tampered"), SOAPContentType)
		framed[len(framed)-len(boundary)-5] ^= 1
		if _, _, err := server.Unframe(framed); err == nil {
			t.Fatal("tampered message accepted")
		}
	}
	if _, err := NewSession(FlagSeal, key, true); err == nil {
		t.Error("a session without extended session security was accepted")
	}
}
