package playbook

import (
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// A playbook's and a profile's errors are all reported at once, in line
// order, each at file:line:column with its field: decoding, checks and
// every bad template name of a field.
func TestLoadErrorsAtOnce(t *testing.T) {
	dir := filepath.Join("testdata", "errors")
	tests := []struct {
		name string
		load func(string) error
	}{
		{"many.yaml", func(p string) error { _, err := Load(p); return err }},
		{"syntax.yaml", func(p string) error { _, err := Load(p); return err }},
		{"prune.yaml", func(p string) error { _, err := Load(p); return err }},
		{"profiles/many.yaml", func(p string) error { _, err := LoadProfile(p); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(filepath.Join(dir, tt.name))
			if err == nil {
				t.Fatal("accepted")
			}
			golden.Assert(t, filepath.Join(dir, strings.TrimSuffix(tt.name, ".yaml")+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

// Every unknown name and filter of one text is reported, each with the
// closest known one, or the list of them when none is close.
func TestTemplateProblems(t *testing.T) {
	vars := (&Playbook{}).TemplateVars("username", "host")
	tests := []struct {
		in   string
		want []string
	}{
		{"${person.name}", nil},
		{"${person.nmae}", []string{`template ${person.nmae}: unknown name "person.nmae" (did you mean "person.name"?)`}},
		{"${person.givenname|lower}.${person.surnme|uper}", []string{
			`template ${person.givenname|lower}: unknown name "person.givenname" (did you mean "person.given_name"?)`,
			`template ${person.surnme|uper}: unknown name "person.surnme" (did you mean "person.surname"?)`,
			`template ${person.surnme|uper}: unknown filter "uper" (did you mean "upper"?)`,
		}},
		{"${team} ${person.title|shout}", []string{
			`template ${team}: unknown name "team" (known: account.home, account.username, machine.host, person.department, person.email, person.employee_id, person.given_name, person.manager, person.name, person.preferred_name, person.start_date, person.surname, person.title)`,
			`template ${person.title|shout}: unknown filter "shout" (known: ascii, first, lower, trim, upper)`,
		}},
		{"${person.nmae} and ${person.title", []string{
			`template ${person.nmae}: unknown name "person.nmae" (did you mean "person.name"?)`,
			`template "${person.title": ${ is not closed with }`,
		}},
	}
	for _, tt := range tests {
		_, err := Expand(tt.in, vars)
		var got []string
		if err != nil {
			got = Problems(err)
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("Expand(%q):\ngot  %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
