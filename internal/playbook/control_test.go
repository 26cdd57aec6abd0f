package playbook

import (
	"strings"
	"testing"
)

func TestControlCharactersRefused(t *testing.T) {
	src := "person: {employee_id: E1, given_name: Ada, surname: \"Love\\e]0;x\\alace\", title: \"Eng\\u009b\", start_date: 2026-01-05}\n" +
		"machine:\n  files:\n    - {path: \"/srv/a\\eb\", content: \"line 1\\nline 2\\n\"}\n"
	_, err := Parse("pb.yaml", []byte(src))
	if err == nil {
		t.Fatal("control characters accepted")
	}
	for _, want := range []string{
		"pb.yaml:1:53: person.surname: must not contain a control character (U+001B at character 5 of the value)",
		"person.title: must not contain a control character (U+009B",
		"pb.yaml:4:14: machine.files[0].path: must not contain a control character",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "content") {
		t.Errorf("file content may hold newlines:\n%v", err)
	}
}
