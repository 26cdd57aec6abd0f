package store

import (
	"context"
	"fmt"
	"time"
)

// Acquire takes one of the slots of resource for run, held by holder until
// expires; it reports false when every slot is held by a live lease. A
// slot whose lease ran out (its holder died) is free again. A run that
// holds a slot already keeps it (a re-claim after a crash of this same
// instance's previous process finds its own lease).
func Acquire(ctx context.Context, q Querier, resource string, slots int, holder, runID string, now, expires time.Time) (bool, error) {
	if _, err := q.ExecContext(ctx, `DELETE FROM onboard_leases WHERE resource = $1 AND (expires < $2 OR run_id = $3)`,
		resource, ms(now), runID); err != nil {
		return false, fmt.Errorf("lease %s: %w", resource, err)
	}
	for slot := 0; slot < slots; slot++ {
		res, err := q.ExecContext(ctx, `INSERT INTO onboard_leases (resource, slot, holder, run_id, expires)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (resource, slot) DO NOTHING`,
			resource, slot, holder, runID, ms(expires))
		if err != nil {
			return false, fmt.Errorf("lease %s: %w", resource, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return true, nil
		}
	}
	return false, nil
}

// ReleaseAll frees every slot run holds.
func ReleaseAll(ctx context.Context, q Querier, runID string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM onboard_leases WHERE run_id = $1`, runID)
	return err
}

// Holding counts the live leases of a resource (for metrics and tests).
func Holding(ctx context.Context, q Querier, resource string, now time.Time) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM onboard_leases WHERE resource = $1 AND expires >= $2`, resource, ms(now)).Scan(&n)
	return n, err
}
