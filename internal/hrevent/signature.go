package hrevent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The reasons Verify refuses a delivery, for the server to count; none
// carries key material, and the server answers every one with 401.
var (
	// ErrUnsigned: a signature or timestamp header is missing.
	ErrUnsigned = errors.New("unsigned: the Onboard-Timestamp and Onboard-Signature headers are required")
	// ErrMalformed: a header is present but not in the expected form.
	ErrMalformed = errors.New("malformed signature headers")
	// ErrStale: the timestamp is outside the accepted window, so the
	// delivery may be a replay.
	ErrStale = errors.New("stale: the timestamp is outside the accepted window")
	// ErrBadSignature: no signature matches any key.
	ErrBadSignature = errors.New("bad signature: no signature matches a configured key")
)

// signatureScheme is the only scheme: HMAC-SHA256 over timestamp "." body.
const signatureScheme = "v1"

// maxSignatures bounds the list in one header: a rotation needs two or
// three, and each costs an HMAC per key.
const maxSignatures = 8

// mac is HMAC-SHA256(key, timestamp + "." + body).
func mac(key []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the Onboard-Timestamp and Onboard-Signature header values
// a sender with key puts on body at ts.
func Sign(key []byte, ts time.Time, body []byte) (timestampHeader, signatureHeader string) {
	timestampHeader = strconv.FormatInt(ts.Unix(), 10)
	return timestampHeader, signatureScheme + "=" + hex.EncodeToString(mac(key, timestampHeader, body))
}

// Verify checks a delivery's Onboard-Timestamp and Onboard-Signature
// header values against any of keys (several during a rotation): some
// v1 signature must be HMAC-SHA256 of timestamp "." body under some key,
// and the timestamp within window of now either way. Signatures of other
// schemes are skipped, so that a sender can add a new one before
// receivers read it. The error is one of ErrUnsigned, ErrMalformed,
// ErrStale or ErrBadSignature, possibly wrapped with detail.
func Verify(keys [][]byte, timestamp, signature string, body []byte, now time.Time, window time.Duration) error {
	if timestamp == "" || signature == "" {
		return ErrUnsigned
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || secs < 0 || strconv.FormatInt(secs, 10) != timestamp {
		// Only the canonical form is signed text a sender can reproduce.
		return fmt.Errorf("%w: %s is not Unix seconds", ErrMalformed, HeaderTimestamp)
	}
	var sigs [][]byte
	parts := strings.Split(signature, ",")
	if len(parts) > maxSignatures {
		return fmt.Errorf("%w: %s holds %d signatures, more than %d", ErrMalformed, HeaderSignature, len(parts), maxSignatures)
	}
	for _, part := range parts {
		scheme, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || scheme == "" {
			return fmt.Errorf("%w: %s must be a list of v1=<hex>", ErrMalformed, HeaderSignature)
		}
		if scheme != signatureScheme {
			continue
		}
		sig, err := hex.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			return fmt.Errorf("%w: a v1 signature must be %d hex digits", ErrMalformed, 2*sha256.Size)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: %s holds no v1 signature", ErrMalformed, HeaderSignature)
	}
	// The window is checked before the MAC so that a replay costs no
	// HMAC work, and compared in seconds so a far-off value cannot overflow.
	if d := now.Unix() - secs; d > int64(window/time.Second) || -d > int64(window/time.Second) {
		when := "ago"
		if d < 0 {
			d, when = -d, "ahead"
		}
		return fmt.Errorf("%w: signed at %s, %s %s, beyond %s", ErrStale,
			time.Unix(secs, 0).UTC().Format(time.RFC3339), time.Duration(min(d, 1<<32))*time.Second, when, window)
	}
	for _, key := range keys {
		want := mac(key, timestamp, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrBadSignature
}
