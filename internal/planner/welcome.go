package planner

import (
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// Default first-login texts of welcome sheets, per OS, when neither the
// playbook nor its profile gives one.
var defaultFirstLogin = map[string]string{
	"linux": "Sign in at the login screen with your username and the initial password.\n" +
		"You will be asked to choose a new password: at least 12 characters, not your name.\n" +
		"Lock the screen whenever you leave the machine (Super+L).",
	"windows": "Press Ctrl+Alt+Del and sign in with your username and the initial password.\n" +
		"You will be asked to choose a new password: at least 12 characters, not your name.\n" +
		"Lock the screen whenever you leave the machine (Windows+L).",
	"": "Sign in with your username and the initial password, then choose a new password when asked.",
}

// welcome fills the welcome sheet of the hire just planned from pb: the
// sheets' paths (confined as handover reports are), the helpdesk, the
// first-login text, and the software and printers its steps set up, named
// as the catalogue names them.
func (b *builder) welcome(pb *playbook.Playbook) {
	w := pb.Handover.Welcome
	if len(w.Sheets) == 0 || len(b.plan.Hires) == 0 {
		return
	}
	h := &b.plan.Hires[len(b.plan.Hires)-1]
	if h.ID != pb.Person.EmployeeID {
		return // the hire was not planned
	}
	pw := &plan.Welcome{Password: w.Password, FirstLogin: w.FirstLogin, Helpdesk: b.inv.Helpdesk()}
	for i, s := range w.Sheets {
		if p, _, ok := b.writeTarget(pb, fmt.Sprintf("handover.welcome.sheets[%d]", i), s); ok {
			pw.Sheets = append(pw.Sheets, p)
		}
	}
	if host := b.plan.Hosts[h.Host]; host != nil {
		pw.OS = host.OS
	}
	pr := b.loadedProfile(pb)
	if pw.FirstLogin == "" {
		pw.FirstLogin = pr.FirstLogin
	}
	if pw.FirstLogin == "" {
		pw.FirstLogin = defaultFirstLogin[pw.OS]
	}
	if pw.FirstLogin == "" {
		pw.FirstLogin = defaultFirstLogin[""]
	}
	def := pb.Machine.DefaultPrinter
	if def == "" {
		def = pr.DefaultPrinter
	}
	for _, s := range b.plan.Steps {
		if s.Hire != h.ID {
			continue
		}
		name := s.ID[strings.LastIndexByte(s.ID, ':')+1:] // the catalogue name
		switch {
		case s.Package != nil || s.WinSoftware != nil:
			display := name
			if e, ok := b.inv.Software[name]; ok && e.Description != "" {
				display = e.Description
			}
			pw.Software = append(pw.Software, plan.WelcomeItem{Step: s.ID, Display: display})
		case s.Printer != nil || s.WinPrinter != nil:
			queue, where := name, ""
			if s.Printer != nil {
				queue = s.Printer.Name
			} else {
				queue = s.WinPrinter.Connection
			}
			if e, ok := b.inv.Printers[name]; ok {
				where = e.Location
			}
			switch {
			case s.Printer != nil && s.Printer.Default:
				where = strings.TrimPrefix(where+"; your default printer", "; ")
			case s.WinPrinter != nil && name == def:
				// Windows keeps the default printer per user: the hire sets it.
				where = strings.TrimPrefix(where+"; make it your default printer when you first sign in", "; ")
			}
			pw.Printers = append(pw.Printers, plan.WelcomeItem{Step: s.ID, Display: queue, Detail: where})
		}
	}
	h.Handover.Welcome = pw
}

// loadedProfile is the playbook's profile as hire loaded it, or an empty
// one: a profile that failed to load has been reported once already.
func (b *builder) loadedProfile(pb *playbook.Playbook) *playbook.Profile {
	if pb.Profile != "" {
		if path, err := playbook.FindProfile(pb.Profile, b.profileDirs(pb)); err == nil && b.profiles[path] != nil {
			return b.profiles[path]
		}
	}
	return &playbook.Profile{}
}
