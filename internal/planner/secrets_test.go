package planner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/secret"
)

// The journal stores plans exactly, unscrubbed, so that resume runs what
// was planned: that is safe only because a plan never holds a resolved
// secret. No field of a plan can hold a secret.Value...
func TestPlanTypesHoldNoSecretValue(t *testing.T) {
	value := reflect.TypeOf(secret.Value{})
	seen := map[reflect.Type]bool{}
	var walk func(t0 reflect.Type, path string)
	walk = func(t0 reflect.Type, path string) {
		for t0.Kind() == reflect.Pointer || t0.Kind() == reflect.Slice || t0.Kind() == reflect.Map || t0.Kind() == reflect.Array {
			t0 = t0.Elem()
		}
		if t0 == value || t0.PkgPath() == value.PkgPath() {
			t.Errorf("%s is a %s: a plan holds references to secrets, never secrets", path, t0)
		}
		if t0.Kind() != reflect.Struct || seen[t0] {
			return
		}
		seen[t0] = true
		for i := range t0.NumField() {
			f := t0.Field(i)
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeOf(plan.Plan{}), "Plan")
	if len(seen) < 10 {
		t.Fatalf("walked %d struct types: the walk is broken", len(seen))
	}
}

// ...and every credential-bearing field of a planned host or directory is
// a reference: once apply has resolved them all, the plan's JSON holds
// none of the values.
func TestPlanHoldsReferencesOnly(t *testing.T) {
	// The test inventory, with every kind of credential: SSH key (file:),
	// sudo password, WinRM password (env:), bind passwords (file:, env:),
	// a join account's password.
	inv := filepath.Join(t.TempDir(), "inventory")
	if err := os.CopyFS(inv, os.DirFS("testdata/inventory")); err != nil {
		t.Fatal(err)
	}
	edit := func(file, after, add string) {
		b, err := os.ReadFile(filepath.Join(inv, file))
		if err != nil || !strings.Contains(string(b), after) {
			t.Fatalf("%s: no %q (%v)", file, after, err)
		}
		s := strings.Replace(string(b), after, after+add, 1)
		if err := os.WriteFile(filepath.Join(inv, file), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edit("hosts.yaml", "      become: sudo\n", "      become_password: env:ONBOARD_TEST_SUDO\n")
	edit("directories.yaml", "    ca_cert: ca.pem\n", "    join: {user: joiner, password: env:ONBOARD_TEST_JOIN}\n")
	values := map[string]string{ // distinctive, and long enough to be scrubbed
		"LDAP_ADMIN_PW": "ldap-Qv7xP2", "WINRM_PASSWORD": "winrm-Zt4kW9", "ONBOARD_TEST_SUDO": "sudo-Hm3rB8", "ONBOARD_TEST_JOIN": "join-Lc6nD1",
	}
	for k, v := range values {
		t.Setenv(k, v)
	}
	files := map[string]string{"keys/id_ed25519": "key-Fp8sJ5", "secrets/ad-admin.pw": "ad-Rw2gT7"}
	for f, v := range files {
		if err := os.MkdirAll(filepath.Join(inv, filepath.Dir(f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inv, f), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		values[f] = v
	}
	invs, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}

	filled := map[string]bool{}
	res := &secret.Resolver{BaseDir: inv, Timeout: 5 * time.Second}
	for _, name := range []string{"ada", "zoe-ad", "sam-ldap", "wendy-windows"} {
		pb, err := playbook.Load("testdata/valid/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build([]*playbook.Playbook{pb}, invs, Options{ProfileDirs: []string{"testdata/profiles"}, Write: []string{"testdata/valid/secrets"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Resolve every reference, as apply does: the values are now known
		// to this process (and to secret.Scrub).
		var refs []struct{ field, ref string }
		for _, h := range p.Hosts {
			refs = append(refs, struct{ field, ref string }{"host " + h.Name + " credential", h.Credential},
				struct{ field, ref string }{"host " + h.Name + " become_password", h.BecomePassword})
		}
		for _, d := range p.Directories {
			refs = append(refs, struct{ field, ref string }{"directory " + d.Name + " bind_password", d.BindPassword},
				struct{ field, ref string }{"directory " + d.Name + " join_password", d.JoinPassword})
		}
		for _, r := range refs {
			if r.ref == "" {
				continue
			}
			filled[strings.Fields(r.field)[0]+" "+strings.Fields(r.field)[2]] = true
			if err := secret.Ref(r.ref).Validate(); err != nil {
				t.Errorf("%s: %s: %v", name, r.field, err)
				continue
			}
			if _, err := res.Resolve(context.Background(), secret.Ref(r.ref)); err != nil {
				t.Errorf("%s: %s: %v", name, r.field, err)
			}
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		for src, v := range values {
			if strings.Contains(string(b), v) {
				t.Errorf("%s: the plan holds the value of %s", name, src)
			}
		}
	}
	for _, f := range []string{"host credential", "host become_password", "directory bind_password", "directory join_password"} {
		if !filled[f] {
			t.Errorf("no plan had a %s: the test does not cover it", f)
		}
	}
}
