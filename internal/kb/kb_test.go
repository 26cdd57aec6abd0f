package kb

import (
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
	"onboard/internal/result"
)

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "bad"))
	if err == nil {
		t.Fatal("bad articles loaded without error")
	}
	golden.Assert(t, filepath.Join("testdata", "bad.golden"), []byte(err.Error()+"\n"))
}

func TestLoad(t *testing.T) {
	b, err := Load(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range b.Articles {
		ids = append(ids, a.ID)
	}
	if got := strings.Join(ids, " "); got != "any-package apt-locate ws-hosts" {
		t.Fatalf("articles = %s", got)
	}
	a := b.Articles[1]
	if a.Fix() != "Run `apt-get update` <b>first</b>." || a.Link != "https://kb.example.com/apt" || a.Title != "Package not found by apt" {
		t.Errorf("apt-locate = %+v, fix %q", a, a.Fix())
	}
	if !strings.HasSuffix(a.Body, "Then the rest.") {
		t.Errorf("body = %q", a.Body)
	}
}

func TestMatch(t *testing.T) {
	b, err := Load(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	apt := &result.Failure{Host: "ws1", Phase: "apply", Message: "install acme on ws1: exit code 100", Output: "E: Unable to locate package acme"}
	tests := []struct {
		name string
		f    *result.Failure
		kind string
		want string
	}{
		{"most specific first", apt, "package", "apt-locate any-package"},
		{"output matches any case", &result.Failure{Phase: "apply", Output: "UNABLE TO LOCATE PACKAGE x"}, "package", "apt-locate any-package"},
		{"phase must hold", &result.Failure{Phase: "verify", Output: "Unable to locate package"}, "package", "any-package"},
		{"kind must hold", apt, "command", ""},
		{"host glob and class", &result.Failure{Host: "ws7", Class: result.ClassCannotRun, Phase: "check"}, "check", "ws-hosts"},
		{"host glob refuses", &result.Failure{Host: "srv1", Class: result.ClassCannotRun, Phase: "check"}, "check", ""},
		{"class must hold", &result.Failure{Host: "ws7", Phase: "check"}, "check", ""},
		{"regexp over the message", &result.Failure{Host: "srv", Message: "exit code 3"}, "command", "ws-hosts"},
		{"regexp refuses", &result.Failure{Host: "srv", Message: "exit code three"}, "command", ""},
		{"nil failure", nil, "package", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, a := range b.Match(tt.f, tt.kind) {
				ids = append(ids, a.ID)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("Match = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnnotate(t *testing.T) {
	b, err := Load(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	run := &result.Run{
		Steps: []result.Step{
			{Kind: "package", Failure: &result.Failure{Phase: "apply", Output: "E: Unable to locate package x"}},
			{Kind: "command", Failure: &result.Failure{Phase: "apply", Message: "nothing known", Known: &result.Known{ID: "stale"}}},
			{Kind: "package", Outcome: result.OK},
		},
		Handover: []result.Step{{Kind: "package", Failure: &result.Failure{Phase: "check"}}},
	}
	b.Annotate(run)
	if k := run.Steps[0].Failure.Known; k == nil || k.ID != "apt-locate" || k.Fix != "Run `apt-get update` <b>first</b>." {
		t.Errorf("step 0 known = %+v", k)
	}
	if k := run.Steps[1].Failure.Known; k != nil {
		t.Errorf("step 1 keeps a stale article: %+v", k)
	}
	if k := run.Handover[0].Failure.Known; k == nil || k.ID != "any-package" {
		t.Errorf("handover known = %+v", k)
	}
}
