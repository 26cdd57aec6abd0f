package serve

import (
	"errors"
	"fmt"

	"onboard/internal/inventory"
	"onboard/internal/playbook"
	"onboard/internal/schedule"
)

// inventoryMapper places hires by the inventory's hr section, read at each
// event: a technician's fix to the mapping applies to the next event, or
// to an approval of a held one.
func inventoryMapper(paths []string) Mapper {
	return func(p Person) (*Assignment, error) {
		inv, err := inventory.Load(paths...)
		if err != nil {
			return nil, fmt.Errorf("%w: the inventory does not load: %w", ErrHeld, err)
		}
		m, err := inv.MatchHR(inventory.HRPerson{EmployeeID: p.EmployeeID, GivenName: p.GivenName, Surname: p.Surname,
			Title: p.Title, Department: p.Department, Location: p.Location, CostCenter: p.CostCenter, Workstation: p.Workstation})
		if err != nil {
			if errors.Is(err, inventory.ErrNoMatch) {
				return nil, fmt.Errorf("%w: %w", ErrHeld, err)
			}
			return nil, err
		}
		start, err := schedule.ParseDate(p.StartDate)
		if err != nil {
			return nil, fmt.Errorf("%w: start_date: %w", ErrHeld, err)
		}
		a := &Assignment{Rule: m.Rule, RuleAt: m.RuleAt, Profile: m.Profile, Directory: m.Directory, JoinOU: m.JoinOU,
			Host: m.Host, Pool: m.Pool, Groups: m.Groups, PasswordDeliver: m.PasswordDeliver, HandoverContact: m.HandoverContact,
			HandoverReports: m.HandoverReports}
		for _, sl := range m.Schedule.Times(start) {
			a.Slots = append(a.Slots, Slot{Phase: string(sl.Phase), At: sl.At})
		}
		return a, nil
	}
}

// validateMapping checks the hr section against the profile folders once,
// when the service starts: a rule naming a missing profile is a setup
// error, not something to find at the first hire. It returns the
// inventory it checked.
func validateMapping(paths, profileDirs []string) (*inventory.Inventory, error) {
	inv, err := inventory.Load(paths...)
	if err != nil {
		return nil, err
	}
	dirs := append(append(append([]string{}, profileDirs...), inv.ProfileDirs()...), "playbooks/profiles")
	return inv, inv.ValidateHR(func(name string) bool {
		_, err := playbook.FindProfile(name, dirs)
		return err == nil
	})
}
