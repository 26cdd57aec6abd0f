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

// labCA is the component that makes the lab's certificate authority (the
// intranet site needs it in every lab).
type labCA struct{}

func (labCA) name() string { return "certificate authority" }

func (labCA) start(ctx context.Context, l *Lab) error {
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

// caTrust is what update-ca-certificates would make of the lab CA as a local
// certificate on a workstation: the certificate in
// /usr/local/share/ca-certificates, a link to it and a hash link in
// /etc/ssl/certs, and the system bundle with it appended. Writing these
// into each workstation's upper layer is the same as running the tool there
// (TestNetworkServices proves it) without its second per workstation.
type caTrust struct {
	pem    []byte
	hash   string // OpenSSL subject hash: the name of the link HASH.0
	bundle []byte // the image's bundle and the lab CA
}

const (
	caLocalName  = "onboard-lab-ca"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// caTrust reads the lab CA and the image's bundle.
func (l *Lab) caTrust(ctx context.Context) (caTrust, error) {
	var t caTrust
	var err error
	if t.pem, err = os.ReadFile(l.CACertFile()); err != nil {
		return t, err
	}
	c := command(ctx, "openssl", "x509", "-subject_hash", "-noout", "-in", l.CACertFile())
	out, err := c.Output()
	if err != nil {
		return t, fmt.Errorf("openssl x509 -subject_hash %s: %w", l.CACertFile(), err)
	}
	t.hash = strings.TrimSpace(string(out))
	base, err := os.ReadFile(filepath.Join(l.baseRoot, caBundlePath))
	if err != nil {
		return t, fmt.Errorf("base image: %w", err)
	}
	t.bundle = append(append([]byte{}, base...), t.pem...)
	return t, nil
}

func (t caTrust) write(u *upperWriter) {
	local := "/usr/local/share/ca-certificates/" + caLocalName + ".crt"
	u.file(strings.TrimPrefix(local, "/"), string(t.pem), 0o644, 0, 0)
	u.link("etc/ssl/certs/"+caLocalName+".pem", local)
	u.link("etc/ssl/certs/"+t.hash+".0", caLocalName+".pem")
	u.file(caBundlePath, string(t.bundle), 0o644, 0, 0)
}
