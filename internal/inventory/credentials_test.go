package inventory

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/golden"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

// Every credential reference of the inventory is listed at its field, and
// the ones that cannot be resolved are reported there, all at once,
// without any value.
func TestResolveReferences(t *testing.T) {
	t.Setenv("ONBOARD_TEST_SET", "sudo-secret-value")
	dir := filepath.Join("testdata", "credentials")
	inv, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, r := range inv.References() {
		fields = append(fields, r.Field)
	}
	want := "groups.all.defaults.credential groups.all.defaults.become_password hosts.ws1.credential hosts.ws1.become_password hosts.ws2.credential directories.corp.bind_password playbooks.credentials.laptop"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("references\n got %s\nwant %s", got, want)
	}
	errs := inv.ResolveReferences(context.Background(), &secret.Resolver{})
	me := &multierror.Error{Errors: errs, ErrorFormat: strictyaml.ListFormat}
	abs, _ := filepath.Abs(dir)
	out := strings.ReplaceAll(me.Error(), abs, "DIR")
	for _, s := range []string{"sudo-secret-value", "not-a-real-key", "from a command"} {
		if strings.Contains(out, s) {
			t.Errorf("a resolved value is in the errors: %s", s)
		}
	}
	golden.Assert(t, filepath.Join(dir, "resolve.golden"), []byte(out+"\n"))
}
