package planner

import (
	"fmt"
	"strings"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/username"
)

// defaultMaxLength is the naming policy's default: Active Directory's
// sAMAccountName limit, so that one name fits every kind.
const defaultMaxLength = 20

// DefaultUsername is the first initial and the surname, transliterated to
// ASCII, lowercased and repaired to the rules every kind shares, at most
// 20 characters: José O'Brien-Łukasiewicz → jobrien-lukasiewicz.
func DefaultUsername(p playbook.Person) string {
	return username.Repair("", defaultBase(p), defaultMaxLength)
}

// defaultBase is the text the default policy derives a username from.
func defaultBase(p playbook.Person) string {
	first := []rune(strings.TrimSpace(username.ASCII(p.GivenName)))
	u := username.ASCII(p.Surname)
	if len(first) > 0 {
		u = string(first[0]) + u
	}
	return u
}

// username decides a hire's username: the playbook's account.username,
// checked against the directory kind's rules; or else the directory's
// naming policy, repaired to those rules, its fallback when the person's
// names give nothing readable, then the collision rule. ok is false when
// it failed (the failure is recorded with its position).
func (b *builder) username(pb *playbook.Playbook, dir *plan.Directory, d inventory.Directory, vars map[string]string) (string, bool) {
	doc := pb.Doc
	kind := ""
	if dir != nil {
		kind = dir.Kind
	}
	if pb.Account.Username != "" {
		u, err := playbook.Expand(pb.Account.Username, vars)
		if err != nil {
			b.fail(doc.Errorf("account.username", "%v", err))
			return "", false
		}
		if err := username.Check(kind, u); err != nil {
			b.fail(doc.Errorf("account.username", "%v", err))
			return "", false
		}
		return u, true
	}
	if pb.Person.Surname == "" {
		return "", false // reported by the loader: person.surname is required
	}
	if dir == nil {
		// No directory: the name is only the workstation's login.
		u := DefaultUsername(pb.Person)
		if !username.Readable(u) {
			b.fail(doc.Errorf("person", "%q gives no readable username (got %q): set account.username", pb.Person.DisplayName(), u))
			return "", false
		}
		return u, true
	}
	base, ok := b.policyBase(pb, dir, d, vars)
	if !ok {
		return "", false
	}
	max := d.Naming.MaxLength
	if max == 0 {
		max = defaultMaxLength
	}
	// Names given to earlier hires of this batch are taken too: two John
	// Smiths starting the same day get jsmith and jsmith2.
	var cands []string
	for _, c := range username.Candidates(base, min(max, username.Limit(kind))) {
		if !b.batchTaken(dir.Name, c) {
			cands = append(cands, c)
		}
	}
	if b.opt.Usernames == nil {
		return cands[0], true
	}
	u, err := b.opt.Usernames(dir, pb.Person.EmployeeID, cands)
	if err != nil {
		b.fail(doc.Errorf("account.directory", "choose a username for %s in %s: %v", pb.Person.DisplayName(), dir.Name, err))
		return "", false
	}
	return u, true
}

// policyBase is the repaired name the directory's naming policy derives,
// or its fallback's when the person's names give nothing readable (a name
// in emoji, initials only).
func (b *builder) policyBase(pb *playbook.Playbook, dir *plan.Directory, d inventory.Directory, vars map[string]string) (string, bool) {
	where := func(field string) string {
		key := "directories." + dir.Name
		return fmt.Sprintf("%s: %s.naming.%s", b.inv.FieldPos(key, "naming."+field), key, field)
	}
	text := defaultBase(pb.Person)
	if t := d.Naming.Username; t != "" {
		u, err := playbook.Expand(t, vars)
		if err != nil {
			b.fail(fmt.Errorf("%s: %w", where("username"), err))
			return "", false
		}
		text = u
	}
	// The fallback is expanded for every hire, so that a broken one shows
	// at validation, not on the day a name needs it.
	var fallback string
	if d.Naming.Fallback != "" {
		f, err := playbook.Expand(d.Naming.Fallback, vars)
		if err != nil {
			b.fail(fmt.Errorf("%s: %w", where("fallback"), err))
			return "", false
		}
		fallback = f
	}
	base := username.Repair(dir.Kind, text, d.Naming.MaxLength)
	if username.Readable(base) {
		return base, true
	}
	if d.Naming.Fallback == "" {
		b.fail(pb.Doc.Errorf("person", "%q gives no readable username in %s (got %q): set account.username, or a naming.fallback on the directory (%s)",
			pb.Person.DisplayName(), dir.Name, base, b.inv.Pos("directories."+dir.Name)))
		return "", false
	}
	base = username.Repair(dir.Kind, fallback, d.Naming.MaxLength)
	if !username.Readable(base) {
		b.fail(fmt.Errorf("%s: gives no readable username for %s (employee %s) either: %q becomes %q; start it with letters, e.g. \"e${person.employee_id|lower}\"",
			where("fallback"), pb.File, pb.Person.EmployeeID, fallback, base))
		return "", false
	}
	return base, true
}
