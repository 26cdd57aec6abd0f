package inventory

import (
	"net/mail"
	"net/url"

	"onboard/internal/plan"
	"onboard/internal/strictyaml"
)

// Helpdesk is where new hires get help: printed on their welcome sheets.
// It is defined once, in any one inventory file.
type Helpdesk struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	Phone string `yaml:"phone"`
	URL   string `yaml:"url"`
	Hours string `yaml:"hours"`
}

// helpdeskState is the helpdesk section as read, with the file it came from.
type helpdeskState struct {
	entry *Helpdesk
	doc   *strictyaml.Doc
}

// addHelpdesk takes one file's helpdesk section and validates it.
func (inv *Inventory) addHelpdesk(doc *strictyaml.Doc, h *Helpdesk) []error {
	if h == nil {
		return nil
	}
	if inv.helpdesk.doc != nil {
		return []error{doc.Errorf("helpdesk", "is also defined at %s", inv.helpdesk.doc.Pos("helpdesk"))}
	}
	var errs []error
	if *h == (Helpdesk{}) {
		errs = append(errs, doc.Errorf("helpdesk", "says nothing: give at least one of name, email, phone, url"))
	}
	if h.Email != "" {
		if a, err := mail.ParseAddress(h.Email); err != nil || a.Address != h.Email {
			errs = append(errs, doc.Errorf("helpdesk.email", "is not an email address: %q", h.Email))
		}
	}
	if h.URL != "" {
		// Only web addresses: the sheet's HTML links it, and a javascript:
		// or data: URL would run in the hire's browser.
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, doc.Errorf("helpdesk.url", "must be an http:// or https:// address, got %q", h.URL))
		}
	}
	inv.helpdesk = helpdeskState{entry: h, doc: doc}
	return errs
}

// Helpdesk is the inventory's helpdesk for welcome sheets, nil if none.
func (inv *Inventory) Helpdesk() *plan.Helpdesk {
	h := inv.helpdesk.entry
	if h == nil {
		return nil
	}
	return &plan.Helpdesk{Name: h.Name, Email: h.Email, Phone: h.Phone, URL: h.URL, Hours: h.Hours}
}
