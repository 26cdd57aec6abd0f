package winrm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"onboard/internal/lab"
	"onboard/internal/lab/wsman"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

// TestKerberosLab logs in with Kerberos tickets from the lab's Samba AD DC.
func TestKerberosLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l := lab.ForTest(t, lab.Config{Name: "krbt", Subnet: 237, Workstations: 1, ActiveDirectory: true})
	d, ok := l.Directory("corp-ad")
	if !ok {
		t.Fatal("no corp-ad directory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const (
		realm   = "CORP.EXAMPLE.TEST"
		spn     = "HTTP/win1.corp.example.test"
		svcPW   = "Svc-Winrm-Pw-1234!"
		alicePW = "Alice-Pw-5678-xyz!"
	)
	sam := func(args ...string) {
		t.Helper()
		if out, err := l.SambaTool(ctx, args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	sam("user", "create", "svc-winrm", svcPW)
	sam("spn", "add", spn, "svc-winrm")
	sam("user", "create", "alice", alicePW)
	dir := filepath.Join(l.Config().Dir, "krbtest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	svcKT, aliceKT := filepath.Join(dir, "http.keytab"), filepath.Join(dir, "alice.keytab")
	sam("domain", "exportkeytab", svcKT, "--principal="+spn)
	sam("domain", "exportkeytab", aliceKT, "--principal=alice@"+realm)
	kt, err := keytab.Load(svcKT)
	if err != nil {
		t.Fatal(err)
	}

	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{
		Users:    map[string]string{"alice@corp.example.test": ""},
		Kerberos: &wsman.KerberosConfig{Keytab: kt, ServicePrincipal: spn},
	}})
	base := s.config(AuthKerberos)
	base.User, base.Password = "alice", secret.Value{}
	base.Realm, base.KDC, base.ServiceHost = realm, d.Addr, "win1.corp.example.test"

	runOK := func(t *testing.T, cfg Config) {
		t.Helper()
		c := dial(t, cfg)
		var out strings.Builder
		code, err := c.Run(ctx, remote.Cmd{Command: "echo kerberos-ok", Stdout: &out})
		if err != nil || code != 0 || !strings.Contains(out.String(), "kerberos-ok") {
			t.Fatalf("run: code %d, err %v, out %q", code, err, out.String())
		}
		// A second command on the authenticated client.
		if code, err := c.Run(ctx, remote.Cmd{Command: "echo again"}); err != nil || code != 0 {
			t.Fatalf("second run: %d %v", code, err)
		}
	}
	t.Run("exported keytab", func(t *testing.T) {
		cfg := base
		cfg.Keytab = aliceKT
		runOK(t, cfg)
	})
	t.Run("ticket cache", func(t *testing.T) {
		// A ticket cache as a user's kinit leaves it: MIT kinit (krb5-user)
		// with a krb5.conf for the lab realm, from the exported keytab.
		conf := filepath.Join(dir, "krb5.conf")
		text := "[libdefaults]\n  default_realm = " + realm + "\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n" +
			"[realms]\n  " + realm + " = {\n    kdc = " + d.Addr + "\n  }\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		ccache := filepath.Join(dir, "alice.ccache")
		kinit := exec.CommandContext(ctx, "kinit", "-k", "-t", aliceKT, "alice@"+realm)
		kinit.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+ccache)
		if out, err := kinit.CombinedOutput(); err != nil {
			t.Fatalf("kinit: %v: %s", err, out)
		}
		cfg := base
		cfg.CCache = ccache
		runOK(t, cfg)
	})
	t.Run("password-derived keytab", func(t *testing.T) {
		pk := keytab.New()
		for _, e := range []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96} {
			// Samba gives a user created with a password key version 2.
			if err := pk.AddEntry("alice", realm, alicePW, time.Now(), 2, e); err != nil {
				t.Fatal(err)
			}
		}
		b, err := pk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "pw.keytab")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := base
		cfg.Keytab = f
		runOK(t, cfg)
	})
	dialErr := func(cfg Config) error {
		c, err := Dial(ctx, cfg)
		if err == nil {
			c.Close()
			t.Fatal("Dial succeeded")
		}
		t.Log(err)
		return err
	}
	t.Run("wrong password", func(t *testing.T) {
		cfg := base
		cfg.Password = secret.New("Not-The-Password-1!")
		err := dialErr(cfg)
		if !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "alice@"+realm) || strings.Contains(err.Error(), "Not-The-Password") {
			t.Fatalf("got %v; want ErrAuth naming alice@%s", err, realm)
		}
	})
	t.Run("unknown SPN", func(t *testing.T) {
		cfg := base
		cfg.Keytab = aliceKT
		cfg.ServiceHost = "nosuch.corp.example.test"
		err := dialErr(cfg)
		if !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "HTTP/nosuch.corp.example.test") || !strings.Contains(err.Error(), "does not know the service principal") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("KDC unreachable", func(t *testing.T) {
		cfg := base
		cfg.Keytab = aliceKT
		cfg.KDC = "127.0.0.1:1"
		if err := dialErr(cfg); !errors.Is(err, remote.ErrUnreachable) {
			t.Fatalf("got %v; want ErrUnreachable", err)
		}
	})
	t.Run("principal not a WinRM user", func(t *testing.T) {
		cfg := base
		cfg.User, cfg.Password = "svc-winrm", secret.New(svcPW)
		if err := dialErr(cfg); !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "svc-winrm@"+realm) {
			t.Fatalf("got %v; want ErrAuth", err)
		}
	})
}
