package stats

import (
	"context"
	"fmt"

	"onboard/internal/journal"
)

// Load verifies the journal's whole chain (a broken one is a
// *journal.ChainError: figures are not read off a journal changed outside
// onboard), then reads every run that counts (see Counted) with its
// records.
func Load(ctx context.Context, j *journal.Journal) ([]*journal.RunDetail, error) {
	if err := j.CheckChain(ctx); err != nil {
		return nil, err
	}
	sums, err := j.Runs(ctx, journal.Filter{})
	if err != nil {
		return nil, err
	}
	var out []*journal.RunDetail
	for i := range sums {
		if !Counted(&sums[i]) {
			continue
		}
		d, err := j.Run(ctx, sums[i].ID)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		if len(d.Unverified) > 0 {
			// Changed since the check above: the check says how.
			if err := j.CheckChain(ctx); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("stats: run %s: record(s) %v do not match their hashes", d.ID, d.Unverified)
		}
		out = append(out, d)
	}
	return out, nil
}
