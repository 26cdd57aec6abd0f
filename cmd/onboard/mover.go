package main

import (
	"context"

	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// history reads from the journal what the earlier runs of each playbook's
// hire left in place, so that the planner re-plans a moved hire (an
// edited playbook) with its removals; nil with --no-journal. A journal
// that does not verify is refused (exit code 6): it must not drive
// removals.
func (o *options) history(ctx context.Context, pbs []*playbook.Playbook) (map[string]*plan.History, error) {
	if o.noJournal || len(pbs) == 0 {
		return nil, nil
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	var ids []string
	for _, pb := range pbs {
		ids = append(ids, pb.Person.EmployeeID)
	}
	hs, err := j.Histories(ctx, ids)
	if err != nil {
		return nil, journalErr(err)
	}
	return hs, nil
}
