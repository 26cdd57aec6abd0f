package inventory

import (
	"fmt"
	"path"
	"strings"
	"time"

	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// LegalHold keeps a leaver's directory account from deletion whatever its
// retention (docs/lifecycle.md): legal_holds is a list, merged from every
// inventory file.
type LegalHold struct {
	EmployeeID string `yaml:"employee_id" onboard:"required"`
	Reason     string `yaml:"reason" onboard:"required"`
	Since      string `yaml:"since" onboard:"required"` // YYYY-MM-DD
}

// Offboarding is what an offboarding does on the leaver's machine beyond
// ending their access; each part is explicit. Defined once, in any one
// file.
type Offboarding struct {
	// ArchiveHome: archive the leaver's home folder to this path (a
	// .tar.gz), a template of person.*, account.*, machine.host and
	// offboard.date (the leave date, YYYY-MM-DD).
	ArchiveHome string `yaml:"archive_home"`
	// Hooks are wipe or re-image commands run on the leaver's machine, in
	// order, after their access is gone.
	Hooks []OffboardHook `yaml:"hooks"`
}

// OffboardHook is one explicit offboarding command: templates in Run and Unless
// reach the host as data, never as code (codetemplate); Creates or Unless
// makes it idempotent and is required.
type OffboardHook struct {
	Name    string `yaml:"name" onboard:"required"`
	Run     string `yaml:"run" onboard:"required,text"`
	Creates string `yaml:"creates"`
	Unless  string `yaml:"unless" onboard:"text"`
	// Timeout bounds one run of the hook; default 30m.
	Timeout time.Duration `yaml:"timeout"`
}

// offboardingState is the offboarding sections as read.
type offboardingState struct {
	entry *Offboarding
	doc   *strictyaml.Doc
	holds map[string]heldAt // by employee id
}

type heldAt struct {
	hold LegalHold
	doc  *strictyaml.Doc
	path string
}

// offboardVars are the template names an offboarding's paths and hooks
// may use, with placeholder values to check them at load time.
func offboardVars() map[string]string {
	v := (&playbook.Playbook{}).TemplateVars("placeholder", "placeholder")
	v["offboard.date"] = "2006-01-02"
	return v
}

// addOffboarding takes one file's legal_holds and offboarding sections
// and validates them.
func (inv *Inventory) addOffboarding(doc *strictyaml.Doc, holds []LegalHold, o *Offboarding) []error {
	var errs []error
	if inv.offboarding.holds == nil {
		inv.offboarding.holds = map[string]heldAt{}
	}
	for i, h := range holds {
		p := fmt.Sprintf("legal_holds[%d]", i)
		if prev, dup := inv.offboarding.holds[h.EmployeeID]; dup {
			errs = append(errs, doc.Errorf(p+".employee_id", "%s is also held at %s", h.EmployeeID, prev.doc.Pos(prev.path)))
			continue
		}
		if _, err := time.Parse(time.DateOnly, h.Since); h.Since != "" && err != nil {
			errs = append(errs, doc.Errorf(p+".since", "must be a date YYYY-MM-DD, got %q", h.Since))
		}
		if h.EmployeeID != "" {
			inv.offboarding.holds[h.EmployeeID] = heldAt{hold: h, doc: doc, path: p}
		}
	}
	if o == nil {
		return errs
	}
	if inv.offboarding.doc != nil {
		return append(errs, doc.Errorf("offboarding", "is also defined at %s", inv.offboarding.doc.Pos("offboarding")))
	}
	vars := offboardVars()
	if o.ArchiveHome != "" {
		a, err := playbook.Expand(o.ArchiveHome, vars)
		switch {
		case err != nil:
			errs = append(errs, doc.Errorf("offboarding.archive_home", "%v", err))
		case !strings.HasPrefix(a, "/") || path.Clean(a) != a || !strings.HasSuffix(a, ".tar.gz"):
			errs = append(errs, doc.Errorf("offboarding.archive_home", "must be a clean absolute path ending in .tar.gz once expanded, got %q", a))
		}
	}
	names := map[string]bool{}
	for i, h := range o.Hooks {
		p := fmt.Sprintf("offboarding.hooks[%d]", i)
		if names[h.Name] {
			errs = append(errs, doc.Errorf(p+".name", "hook %q is defined twice", h.Name))
		}
		names[h.Name] = true
		if h.Name != "" && !nameRE.MatchString(h.Name) {
			errs = append(errs, doc.Errorf(p+".name", "must be letters, digits, '.', '_' or '-', got %q", h.Name))
		}
		if h.Creates == "" && h.Unless == "" {
			errs = append(errs, doc.Errorf(p, "give creates or unless: a hook runs again on every offboarding run otherwise"))
		}
		if h.Creates != "" {
			if c, err := playbook.Expand(h.Creates, vars); err != nil {
				errs = append(errs, doc.Errorf(p+".creates", "%v", err))
			} else if !strings.HasPrefix(c, "/") {
				errs = append(errs, doc.Errorf(p+".creates", "must be an absolute path once expanded, got %q", c))
			}
		}
		for _, f := range []struct{ name, v string }{{"run", h.Run}, {"unless", h.Unless}} {
			if _, err := playbook.Expand(f.v, vars); err != nil {
				errs = append(errs, doc.Errorf(p+"."+f.name, "%v", err))
			}
		}
		if h.Timeout < 0 {
			errs = append(errs, doc.Errorf(p+".timeout", "must be positive"))
		}
	}
	inv.offboarding.entry, inv.offboarding.doc = o, doc
	return errs
}

// Offboarding is the inventory's offboarding section; nil if none.
func (inv *Inventory) Offboarding() *Offboarding { return inv.offboarding.entry }

// LegalHold is the legal hold on an employee's account, with where it is
// written ("inv.yaml:12:5"); nil when none.
func (inv *Inventory) LegalHold(employeeID string) (*LegalHold, string) {
	h, ok := inv.offboarding.holds[employeeID]
	if !ok {
		return nil, ""
	}
	return &h.hold, h.doc.Pos(h.path).String()
}
