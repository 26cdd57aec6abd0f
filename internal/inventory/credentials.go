package inventory

import (
	"context"
	"sort"

	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

// Reference is one credential reference written in the inventory, as a
// run would resolve it (a file: reference made absolute against the
// folder of the file that wrote it).
type Reference struct {
	Ref   secret.Ref
	Field string // "hosts.ws1.credential"
	Pos   strictyaml.Pos
}

// References lists every credential reference of the inventory, in file
// and line order: hosts' and groups' credential and become_password,
// directories' bind and join passwords, and playbooks.credentials. A value
// that is not a reference at all is left out (loading refused it).
func (inv *Inventory) References() []Reference {
	var refs []Reference
	add := func(key, field, ref string) {
		if ref == "" || secret.Ref(ref).Validate() != nil {
			return
		}
		f := key + "." + field
		refs = append(refs, Reference{Ref: secret.Ref(absRef(ref, inv.dirs[key])), Field: f, Pos: inv.docs[key].Pos(f)})
	}
	for _, n := range sortedKeys(inv.Hosts) {
		h := inv.Hosts[n]
		add("hosts."+n, "credential", h.Credential)
		add("hosts."+n, "become_password", h.BecomePassword)
	}
	for _, n := range sortedKeys(inv.Groups) {
		g := inv.Groups[n].Defaults
		add("groups."+n, "defaults.credential", g.Credential)
		add("groups."+n, "defaults.become_password", g.BecomePassword)
	}
	for _, n := range sortedKeys(inv.Directories) {
		d := inv.Directories[n]
		add("directories."+n, "bind_password", d.BindPassword)
		add("directories."+n, "join.password", d.Join.Password)
	}
	for _, n := range sortedKeys(inv.credentials) {
		c := inv.credentials[n]
		f := "playbooks.credentials." + n
		if secret.Ref(c.ref).Validate() == nil {
			refs = append(refs, Reference{Ref: secret.Ref(absRef(c.ref, c.dir)), Field: f, Pos: c.doc.Pos(f)})
		}
	}
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i].Pos, refs[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return refs
}

// ResolveReferences resolves every credential reference of the inventory
// with r (env: read, file: read, cmd: run, each once) and returns an error
// at the field of each one that cannot be: what a run would meet when it
// first needs the secret. The values are not kept beyond r's cache, and
// no value appears in an error.
func (inv *Inventory) ResolveReferences(ctx context.Context, r *secret.Resolver) []error {
	var errs []error
	for _, ref := range inv.References() {
		if _, err := r.Resolve(ctx, ref.Ref); err != nil {
			errs = append(errs, strictyaml.Errorf(ref.Pos, ref.Field, "cannot be resolved: %v", err))
		}
	}
	return errs
}
