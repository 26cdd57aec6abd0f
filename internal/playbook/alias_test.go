package playbook

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// laughs is an 8 KB playbook whose anchors multiply: 1,800 checks that
// each name a list of 1,800 strings, 3.2 million values in all.
func laughs() []byte {
	var b strings.Builder
	b.WriteString("person: {employee_id: E1, given_name: A, surname: B, start_date: 2026-01-05}\n")
	b.WriteString("s: &s [")
	for i := 0; i < 1800; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("x")
	}
	b.WriteString("]\nc: &c {name: c, file: {path: /x, contains: *s}}\nchecks: [")
	for i := 0; i < 1800; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*c")
	}
	b.WriteString("]\n")
	return []byte(b.String())
}

func TestAliasExpansionIsBounded(t *testing.T) {
	data := laughs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Parse("laughs.yaml", data)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a playbook of multiplying aliases was accepted")
	}
	if !strings.Contains(err.Error(), "laughs.yaml:4:10: checks[0]: the alias *c expands to too many values") {
		t.Errorf("error does not name the alias where it is used:\n%v", err)
	}
	// Before the bound: 1.2 GB and seconds. The bound stops the walk after
	// tens of thousands of values.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("refusing %d KB of YAML allocated %d MB", len(data)>>10, alloc>>20)
	}
	if took > 2*time.Second {
		t.Errorf("refusing took %v", took)
	}
}

func TestAliasesAndMergeKeysStillWork(t *testing.T) {
	// A reused check, a list alias and a merge key: ordinary reuse.
	src := `person: {employee_id: E1, given_name: A, surname: B, start_date: 2026-01-05}
checks:
  - &c {name: motd, file: &f {path: /etc/motd, contains: &w [hello, world]}}
  - {<<: *c, name: motd-again}
  - {name: issue, file: {<<: *f, path: /etc/issue}}
  - {name: hostname, file: {path: /etc/hostname, contains: *w}}
`
	pb, err := Parse("ok.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Checks) != 4 {
		t.Fatalf("decoded %d checks", len(pb.Checks))
	}
	got := ""
	for _, c := range pb.Checks {
		got += fmt.Sprintf("%s=%s;", c.File.Path, strings.Join(c.File.Contains, ","))
	}
	if want := "/etc/motd=hello,world;/etc/motd=hello,world;/etc/issue=hello,world;/etc/hostname=hello,world;"; got != want {
		t.Errorf("decoded %s, want %s", got, want)
	}
}
