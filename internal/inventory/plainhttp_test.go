package inventory

import (
	"path/filepath"
	"testing"

	"onboard/internal/golden"
)

// Basic and Kerberos over plain HTTP are refused where they are written;
// NTLM over HTTP (sealed) and Kerberos over HTTPS are not.
func TestPlainHTTPAuthRefused(t *testing.T) {
	_, err := Load("testdata/plain-http")
	if err == nil {
		t.Fatal("Kerberos and Basic over plain HTTP accepted")
	}
	golden.Assert(t, filepath.Join("testdata", "plain-http.golden"), []byte(err.Error()+"\n"))
}
