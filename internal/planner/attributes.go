package planner

import (
	"errors"
	"maps"
	"slices"

	"onboard/internal/directory"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// checkAttributes refuses the playbook's extra attributes that the
// directory's allow-list does not name: the kind's informational
// attributes, plus what the inventory allows there.
func (b *builder) checkAttributes(pb *playbook.Playbook, dir *plan.Directory, d inventory.Directory) {
	for _, k := range slices.Sorted(maps.Keys(pb.Account.Attributes)) {
		err := directory.CheckAttribute(directory.Kind(dir.Kind), k, d.AllowAttributes)
		switch {
		case err == nil:
		case directory.Managed(k) || !errors.Is(err, directory.ErrAttributeNotAllowed):
			b.fail(pb.Doc.Errorf("account.attributes."+k, "%v", err))
		default:
			b.fail(pb.Doc.Errorf("account.attributes."+k, "%v; if it is harmless here, the inventory can allow it: directories.%s.allow_attributes (%s)",
				err, dir.Name, b.inv.Pos("directories."+dir.Name)))
		}
	}
}
