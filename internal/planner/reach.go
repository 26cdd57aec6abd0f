package planner

// What a playbook may reach on the technician's machine. A playbook may be
// generated from HR data, so it is not trusted: the machines it names, the
// credentials they get and the local files it reads or writes are the
// inventory's (and the command line's) to allow. See docs/playbook.md,
// "What a playbook may reach".

import (
	"fmt"
	"path/filepath"
	"strings"

	"onboard/internal/folder"
	"onboard/internal/inventory"
	"onboard/internal/playbook"
)

// folders resolves the allowed folders once per plan.
func (b *builder) folders() {
	var err error
	if b.write, err = folder.NewSet(append(append([]string(nil), b.opt.Write...), b.inv.WriteDirs()...)...); err != nil {
		b.fail(fmt.Errorf("the folders playbooks may write to: %w", err))
	}
	if b.read, err = folder.NewSet(b.inv.ReadDirs()...); err != nil {
		b.fail(fmt.Errorf("the folders playbooks may read: %w", err))
	}
	if b.private, err = folder.NewSet(b.inv.Private()...); err != nil {
		b.fail(fmt.Errorf("the inventory's folders and secret files: %w", err))
	}
	b.plan.Writable = []string(b.write)
}

// inlineMachine is a playbook's machine as the inventory judges it.
func inlineMachine(m playbook.Machine) inventory.InlineMachine {
	return inventory.InlineMachine{Name: m.Host, Address: m.Address, Port: m.Port, OS: m.OS, Transport: m.Transport, User: m.User,
		Credential: m.Credential, Auth: m.Auth, KnownHosts: m.KnownHosts, HostKey: m.HostKey, Become: m.Become,
		BecomePassword: m.BecomePassword, PackageManager: m.PackageManager}
}

// local makes a path of a playbook absolute against the playbook's folder.
func local(pb *playbook.Playbook, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	abs, _ := filepath.Abs(filepath.Join(filepath.Dir(pb.File), p))
	return abs
}

// readSource reads a files[].source: from the playbook's own folder or one
// the inventory's playbooks.read names, never from a folder playbooks may
// write to (another hire's password file would be one source: away).
func (b *builder) readSource(pb *playbook.Playbook, field, src string) string {
	own, err := folder.NewSet(filepath.Dir(pb.File))
	if err != nil {
		b.fail(pb.Doc.Errorf(field, "%v", err))
		return ""
	}
	allowed := append(own, b.read...)
	p, root, err := allowed.Check(local(pb, src))
	if err != nil {
		b.fail(pb.Doc.Errorf(field, "file sources are read from the playbook's folder or the inventory's playbooks.read: %v", err))
		return ""
	}
	if w := b.write.Root(p); w != "" {
		b.fail(pb.Doc.Errorf(field, "%s is in %s, a folder playbooks may write to (reports, passwords): file sources are never read there", p, w))
		return ""
	}
	if s := b.private.Root(p); s != "" {
		b.fail(pb.Doc.Errorf(field, "%s is the inventory's (%s): a file source never reads the inventory's folders or the secrets it names", p, s))
		return ""
	}
	data, err := folder.ReadFile(root, p)
	if err != nil {
		b.fail(pb.Doc.Errorf(field, "%v", err))
		return ""
	}
	return string(data)
}

// writeTarget confines a path the playbook writes on this machine.
func (b *builder) writeTarget(pb *playbook.Playbook, field, p string) (resolved, root string, ok bool) {
	if len(b.write) == 0 {
		b.fail(pb.Doc.Errorf(field, "playbooks may write to no folder: allow one with --allow-write DIR or the inventory's playbooks.write (%s was asked for)", local(pb, p)))
		return "", "", false
	}
	resolved, root, err := b.write.Check(local(pb, p))
	if err != nil {
		b.fail(pb.Doc.Errorf(field, "playbooks write only in the folders --allow-write and the inventory's playbooks.write name: %v", err))
		return "", "", false
	}
	return resolved, root, true
}

// reports confines a playbook's handover reports.
func (b *builder) reports(pb *playbook.Playbook) []string {
	var out []string
	for i, r := range pb.Handover.Reports {
		if p, _, ok := b.writeTarget(pb, fmt.Sprintf("handover.reports[%d]", i), r); ok {
			out = append(out, p)
		}
	}
	return out
}

// deliverTarget confines a file: delivery (after its templates are
// expanded) and returns it with the folder it is created beneath.
func (b *builder) deliverTarget(pb *playbook.Playbook, d string) (deliver, root string) {
	p, ok := strings.CutPrefix(d, "file:")
	if !ok {
		return d, ""
	}
	resolved, root, ok := b.writeTarget(pb, "account.password.deliver", p)
	if !ok {
		return d, ""
	}
	return "file:" + resolved, root
}

// checkOutputs refuses a batch whose local outputs collide: a report
// written over a password file, or two hires' reports at one path.
func (b *builder) checkOutputs() {
	owner := map[string]string{}
	for _, s := range b.plan.Steps {
		if s.Activate != nil {
			if p, ok := strings.CutPrefix(s.Activate.Deliver, "file:"); ok {
				owner[p] = b.source(s.Hire) + " (its password file)"
			}
		}
	}
	for _, h := range b.plan.Hires {
		for _, r := range h.Handover.Reports {
			if o, ok := owner[r]; ok && o != h.Source {
				b.fail(fmt.Errorf("%s: handover.reports: %s is also written by %s", h.Source, r, o))
				continue
			}
			owner[r] = h.Source
		}
		if h.Handover.Welcome == nil {
			continue
		}
		for _, r := range h.Handover.Welcome.Sheets {
			if o, ok := owner[r]; ok {
				b.fail(fmt.Errorf("%s: handover.welcome.sheets: %s is also written by %s", h.Source, r, o))
				continue
			}
			owner[r] = h.Source + " (its welcome sheet)"
		}
	}
}

// profileDirs is where a playbook's profile is looked for, in order: the
// --profiles folders, profiles/ beside the playbook, the inventory's
// folders (playbooks.profiles, then profiles/ beside each inventory path),
// then ./playbooks/profiles.
func (b *builder) profileDirs(pb *playbook.Playbook) []string {
	dirs := append([]string(nil), b.opt.ProfileDirs...)
	dirs = append(dirs, filepath.Join(filepath.Dir(pb.File), "profiles"))
	dirs = append(dirs, b.inv.ProfileDirs()...)
	dirs = append(dirs, filepath.Join("playbooks", "profiles"))
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		out = append(out, d)
	}
	return out
}
