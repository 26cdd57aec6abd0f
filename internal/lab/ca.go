package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The lab's certificate authority: one per lab start, made with openssl, that
// signs the directory servers' certificates. Its certificate is
// Config.Dir/ca.pem (what tests and the inventory trust); its key and the
// servers' keys stay in Config.Dir/ca/. Go refuses a server certificate
// without a subjectAltName, and Samba's self-made one has none: every
// certificate here names its server's address and DNS name.

const (
	caCertName   = "ca.pem"
	caDirName    = "ca"
	certDays     = "30"
	caKeyCurve   = "ec_paramgen_curve:P-256"
	caConfig     = "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n[dn]\nO = onboard lab\nCN = %s\n[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
	serverConfig = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nO = onboard lab\nCN = %s\n[server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\nsubjectAltName = %s\n"
)

// labCA is the component that makes the lab's certificate authority, when a
// directory server needs it.
type labCA struct{}

func (labCA) name() string { return "certificate authority" }

func (labCA) start(ctx context.Context, l *Lab) error {
	if !l.cfg.OpenLDAP && !l.cfg.ActiveDirectory && l.cfg.Windows == 0 {
		return nil
	}
	dir := filepath.Join(l.cfg.Dir, caDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cnf := filepath.Join(dir, "ca.cnf")
	if err := os.WriteFile(cnf, []byte(fmt.Sprintf(caConfig, "onboard lab "+l.cfg.Name+" CA")), 0o600); err != nil {
		return err
	}
	key := filepath.Join(dir, "ca.key")
	tmp := filepath.Join(dir, caCertName) // renamed into place once complete
	if err := run(ctx, "openssl", "req", "-x509", "-config", cnf, "-newkey", "ec", "-pkeyopt", caKeyCurve,
		"-nodes", "-keyout", key, "-out", tmp, "-days", certDays, "-set_serial", randomSerial()); err != nil {
		return fmt.Errorf("make the lab CA: %w", err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, l.CACertFile())
}

// CACertFile is the lab CA's certificate (PEM), Config.Dir/ca.pem.
func (l *Lab) CACertFile() string { return filepath.Join(l.cfg.Dir, caCertName) }

// issueCert makes a key and a certificate signed by the lab CA for a server
// with the given address and DNS name. It returns the certificate and key
// files (key mode 0600).
func (l *Lab) issueCert(ctx context.Context, name, addr, dnsName string) (certFile, keyFile string, err error) {
	dir := filepath.Join(l.cfg.Dir, caDirName)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	csr, cnf := filepath.Join(dir, name+".csr"), filepath.Join(dir, name+".cnf")
	san := "IP:" + addr + ", DNS:" + dnsName
	if err := os.WriteFile(cnf, []byte(fmt.Sprintf(serverConfig, dnsName, san)), 0o600); err != nil {
		return "", "", err
	}
	if err := run(ctx, "openssl", "req", "-new", "-config", cnf, "-newkey", "ec", "-pkeyopt", caKeyCurve,
		"-nodes", "-keyout", keyFile, "-out", csr); err != nil {
		return "", "", fmt.Errorf("certificate request for %s: %w", dnsName, err)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		return "", "", err
	}
	if err := run(ctx, "openssl", "x509", "-req", "-in", csr, "-CA", l.CACertFile(),
		"-CAkey", filepath.Join(dir, "ca.key"), "-set_serial", randomSerial(), "-days", certDays,
		"-extfile", cnf, "-extensions", "server", "-out", certFile); err != nil {
		return "", "", fmt.Errorf("sign the certificate of %s: %w", dnsName, err)
	}
	return certFile, keyFile, nil
}

// randomSerial is a positive 64-bit certificate serial number in hex.
func randomSerial() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	b[0] &= 0x7f
	b[0] |= 0x10
	return "0x" + strings.ToUpper(hex.EncodeToString(b))
}
