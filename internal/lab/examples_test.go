package lab

import (
	"os"
	"path/filepath"
	"testing"

	"onboard/internal/folder"
	"onboard/internal/inventory"
	"onboard/internal/planner"
	"onboard/internal/playbook"
)

// The shipped examples plan as `make demo` runs them: from the repository,
// against its inventory/ and the lab's generated inventory, with the
// default policy (no inline machines; reports and passwords in out/).
func TestExamplesPlanAgainstTheDemoInventory(t *testing.T) {
	c, _ := Config{Workstations: 3, OpenLDAP: true, ActiveDirectory: true, Dir: t.TempDir()}.withDefaults()
	l := newLab(c)
	for _, h := range l.net.workstations {
		l.Workstations = append(l.Workstations, Workstation{Name: h.name, Addr: h.addr, Port: 22})
	}
	l.Printers = []Printer{{Name: "Office-2F", URI: "ipp://10.213.0.2:8631/ipp/print"}, {Name: "Lobby", URI: "ipp://10.213.0.2:8632/ipp/print"}}
	l.WindowsHosts = []WindowsHost{{Name: "win1", Addr: "10.213.0.31", Port: 5986}}
	l.setDirectory(Directory{Name: LDAPName, Kind: KindOpenLDAP, URL: "ldaps://10.213.0.4:636", BaseDN: ldapBaseDN,
		UsersDN: "ou=People," + ldapBaseDN, GroupsDN: "ou=Groups," + ldapBaseDN, BindDN: ldapRootDN, BindPasswordFile: "/x", CACertFile: "/x"})
	l.setDirectory(Directory{Name: ADName, Kind: KindActiveDirectory, URL: "ldaps://10.213.0.3:636", BaseDN: adBaseDN,
		UsersDN: "OU=Staff," + adBaseDN, GroupsDN: "OU=Groups," + adBaseDN, ComputersDN: "OU=Workstations," + adBaseDN,
		Domain: adDomain, BindDN: adAdminDN, BindPasswordFile: "/x", CACertFile: "/x"})
	labInv := filepath.Join(c.Dir, "inventory", "lab.yaml")
	if err := os.MkdirAll(filepath.Dir(labInv), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(labInv, []byte(l.inventory()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	inv, err := inventory.Load("inventory", filepath.Dir(labInv))
	if err != nil {
		t.Fatal(err)
	}
	var pbs []*playbook.Playbook
	for _, f := range []string{"examples/new-hire.yaml", "examples/windows-hire.yaml"} {
		pb, err := playbook.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		pbs = append(pbs, pb)
	}
	p, err := planner.Build(pbs, inv, planner.Options{})
	if err != nil {
		t.Fatalf("the examples do not plan against the demo's inventory: %v", err)
	}
	wd, _ := os.Getwd()
	out, _ := folder.Resolve(filepath.Join(wd, "out"))
	if len(p.Writable) != 1 || p.Writable[0] != out {
		t.Errorf("writable %v, want the repository's out/ (%s)", p.Writable, out)
	}
}
