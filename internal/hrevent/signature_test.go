package hrevent

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The vector was computed with OpenSSL, not with this package:
//
//	printf '%s' '1795165200.{"id":"evt-1"}' | openssl dgst -sha256 -hmac 'whsec-test-key' -r
const (
	vectorKey  = "whsec-test-key"
	vectorTS   = "1795165200"
	vectorBody = `{"id":"evt-1"}`
	vectorSig  = "v1=18f8de01a03fcbe200b628f64793658e2bfe055e04744c00b8b2e9777e0d6ad0"
)

var vectorTime = time.Unix(1795165200, 0)

func TestSignVector(t *testing.T) {
	ts, sig := Sign([]byte(vectorKey), vectorTime, []byte(vectorBody))
	if ts != vectorTS || sig != vectorSig {
		t.Errorf("Sign = %s, %s; want %s, %s", ts, sig, vectorTS, vectorSig)
	}
	if err := Verify([][]byte{[]byte(vectorKey)}, vectorTS, vectorSig, []byte(vectorBody), vectorTime, 5*time.Minute); err != nil {
		t.Errorf("Verify of the OpenSSL vector: %v", err)
	}
}

// TestSignMatchesOpenSSL signs a body of awkward bytes (newlines, quotes,
// non-ASCII) and has OpenSSL compute the same MAC, as docs/hr-events.md
// tells a sender to.
func TestSignMatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	key := "k3y with spaces"
	body := []byte("{\"person\": {\"surname\": \"O'Brien\\\"; rm -rf /\", \"given_name\": \"Zoë\"}}\n")
	ts, sig := Sign([]byte(key), time.Unix(1800000000, 0), body)
	cmd := exec.Command(openssl, "dgst", "-sha256", "-hmac", key, "-r")
	cmd.Stdin = bytes.NewReader(append([]byte(ts+"."), body...))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	want := "v1=" + strings.Fields(string(out))[0]
	if sig != want {
		t.Errorf("Sign = %s, openssl says %s", sig, want)
	}
}

func TestVerify(t *testing.T) {
	key, old, other := []byte(vectorKey), []byte("old-key"), []byte("other-key")
	body := []byte(vectorBody)
	_, oldSig := Sign(old, vectorTime, body)
	for _, tc := range []struct {
		name     string
		keys     [][]byte
		ts, sig  string
		body     string
		now      time.Time
		want     error
		wantText string // the error's exact text, when it has detail
	}{
		{name: "valid", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig},
		{name: "second key matches", keys: [][]byte{other, key}, ts: vectorTS, sig: vectorSig},
		{name: "second signature matches", keys: [][]byte{key}, ts: vectorTS, sig: oldSig + ", " + vectorSig},
		{name: "rotation: old key signs", keys: [][]byte{key, old}, ts: vectorTS, sig: oldSig},
		{name: "unknown scheme skipped", keys: [][]byte{key}, ts: vectorTS, sig: "v2=abc," + vectorSig},
		{name: "at the window's edge", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig, now: vectorTime.Add(5 * time.Minute)},
		{name: "no timestamp", keys: [][]byte{key}, sig: vectorSig, want: ErrUnsigned},
		{name: "no signature", keys: [][]byte{key}, ts: vectorTS, want: ErrUnsigned},
		{name: "timestamp in milliseconds is stale", keys: [][]byte{key}, ts: vectorTS + "000", sig: vectorSig, want: ErrStale},
		{name: "timestamp not a number", keys: [][]byte{key}, ts: "yesterday", sig: vectorSig, want: ErrMalformed,
			wantText: "malformed signature headers: Onboard-Timestamp is not Unix seconds"},
		{name: "timestamp with a sign", keys: [][]byte{key}, ts: "+" + vectorTS, sig: vectorSig, want: ErrMalformed},
		{name: "signature without scheme", keys: [][]byte{key}, ts: vectorTS, sig: strings.TrimPrefix(vectorSig, "v1="), want: ErrMalformed,
			wantText: "malformed signature headers: Onboard-Signature must be a list of v1=<hex>"},
		{name: "signature not hex", keys: [][]byte{key}, ts: vectorTS, sig: "v1=zz", want: ErrMalformed,
			wantText: "malformed signature headers: a v1 signature must be 64 hex digits"},
		{name: "signature too short", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig[:40], want: ErrMalformed},
		{name: "only other schemes", keys: [][]byte{key}, ts: vectorTS, sig: "v0=abcd", want: ErrMalformed,
			wantText: "malformed signature headers: Onboard-Signature holds no v1 signature"},
		{name: "too many signatures", keys: [][]byte{key}, ts: vectorTS, sig: strings.Repeat(vectorSig+",", 8) + vectorSig, want: ErrMalformed},
		{name: "too old", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig, now: vectorTime.Add(5*time.Minute + time.Second), want: ErrStale,
			wantText: "stale: the timestamp is outside the accepted window: signed at 2026-11-20T09:00:00Z, 5m1s ago, beyond 5m0s"},
		{name: "from the future", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig, now: vectorTime.Add(-10 * time.Minute), want: ErrStale,
			wantText: "stale: the timestamp is outside the accepted window: signed at 2026-11-20T09:00:00Z, 10m0s ahead, beyond 5m0s"},
		{name: "far future does not overflow", keys: [][]byte{key}, ts: "9223372036854775807", sig: vectorSig, want: ErrStale},
		{name: "wrong key", keys: [][]byte{other}, ts: vectorTS, sig: vectorSig, want: ErrBadSignature},
		{name: "no keys", ts: vectorTS, sig: vectorSig, want: ErrBadSignature},
		{name: "body changed", keys: [][]byte{key}, ts: vectorTS, sig: vectorSig, body: `{"id":"evt-2"}`, want: ErrBadSignature},
		{name: "timestamp changed", keys: [][]byte{key}, ts: "1795165201", sig: vectorSig, want: ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, now := body, tc.now
			if tc.body != "" {
				b = []byte(tc.body)
			}
			if now.IsZero() {
				now = vectorTime
			}
			err := Verify(tc.keys, tc.ts, tc.sig, b, now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if tc.wantText != "" && err.Error() != tc.wantText {
				t.Errorf("error:\n got %s\nwant %s", err, tc.wantText)
			}
			// Whatever the failure, no key appears in what it says.
			if err != nil {
				for _, k := range append(tc.keys, key, old, other) {
					if strings.Contains(err.Error(), string(k)) {
						t.Errorf("error %q contains key material", err)
					}
				}
			}
		})
	}
}
