package journal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// History returns what the journal knows of a hire's setup, for the
// planner to re-plan a moved hire (plan.History): the hire as its latest
// applying run planned it, and every membership, package, printer, Windows
// software or printer and local group member that a step of a real run
// (not a dry run) found in place (outcome ok) or put there (changed, after
// its check found it missing), less what a later removal step took away.
// An item onboard only updated (its check found it there but different)
// counts as found in place: onboard did not put it there.
//
// Removals act on it, so the whole chain is verified first (CheckChain,
// against pins), in the snapshot the history is read from, whenever the
// hire has records: a journal changed outside onboard gives an error
// wrapping a *ChainError and no history. A hire without records has an
// empty history, unverified: nothing follows from it but keeping.
func (j *Journal) History(ctx context.Context, hireID string, pins ...Anchor) (*plan.History, error) {
	hs, err := j.Histories(ctx, []string{hireID}, pins...)
	if err != nil {
		return nil, err
	}
	return hs[hireID], nil
}

// Histories is History for several hires, verifying the chain once: one
// entry per hire, empty (no Last, no Items) for a hire the journal does
// not know.
func (j *Journal) Histories(ctx context.Context, hireIDs []string, pins ...Anchor) (map[string]*plan.History, error) {
	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("journal: history of hires: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	out := map[string]*plan.History{}
	known := false
	for _, id := range hireIDs {
		out[id] = &plan.History{}
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM records WHERE hire = ? AND kind IN ('step-finished', 'handover') LIMIT 1)`, id).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("journal: history of hire %s: %w", id, err)
		}
		known = known || n > 0
	}
	if !known {
		// New hires: nothing to remove, so no need to verify the chain
		// (a record deleted to hide a hire's history only leaves more in
		// place, never removes anything).
		return out, nil
	}
	if err := j.checkChain(ctx, tx, pins); err != nil {
		who := fmt.Sprintf("hires %s", strings.Join(hireIDs, ", "))
		if len(hireIDs) > 3 {
			who = fmt.Sprintf("%d hires", len(hireIDs))
		}
		return nil, fmt.Errorf("journal: the history of %s decides what a re-plan removes, and cannot be trusted: %w", who, err)
	}
	plans := map[string]*plan.Plan{} // by run, read once each
	for _, id := range hireIDs {
		h, err := history(ctx, tx, id, plans)
		if err != nil {
			return nil, err
		}
		out[id] = h
	}
	if err := shared(ctx, tx, out, plans); err != nil {
		return nil, err
	}
	return out, nil
}

// shared fills each history's Shared: the items that other hires' current
// setups (the steps of their latest applying run) have in place on the
// machines of the hire's items or its last setup. Hires of hs themselves
// are left to the planner, which has their new setups.
func shared(ctx context.Context, tx *sql.Tx, hs map[string]*plan.History, plans map[string]*plan.Plan) error {
	hostsOf := map[string]map[string]bool{}
	var hosts []any
	seen := map[string]bool{}
	for id, h := range hs {
		set := map[string]bool{}
		for _, it := range h.Items {
			set[it.Step.Host] = it.Step.Host != ""
		}
		if h.Last != nil {
			set[h.Last.Host] = h.Last.Host != ""
		}
		hostsOf[id] = set
		for host, ok := range set {
			if ok && !seen[host] {
				seen[host] = true
				hosts = append(hosts, host)
			}
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	// The hires of the runs whose plans reach those machines (one
	// run-started record a run, not one a step); history then keeps only
	// their items on them.
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT json_extract(h.value, '$.id') AS hire
FROM records s, json_each(s.payload, '$.hires') h
WHERE s.kind = 'run-started' AND NOT coalesce(json_extract(s.payload, '$.dry_run'), 0)
AND EXISTS (SELECT 1 FROM json_each(s.payload, '$.hosts') x WHERE x.value IN (?`+strings.Repeat(", ?", len(hosts)-1)+`))
ORDER BY hire`, hosts...)
	if err != nil {
		return fmt.Errorf("journal: hires sharing %v: %w", hosts, err)
	}
	var others []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return fmt.Errorf("journal: hires sharing %v: %w", hosts, err)
		}
		if hs[id] == nil {
			others = append(others, id)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("journal: hires sharing %v: %w", hosts, err)
	}
	for _, other := range others {
		oh, err := history(ctx, tx, other, plans)
		if err != nil {
			return err
		}
		last := plans[oh.LastRun]
		if last == nil {
			continue
		}
		for _, it := range oh.Items {
			if s := last.Step(it.Step.ID); s == nil || plan.ItemKey(s) != plan.ItemKey(it.Step) {
				continue // no longer in that hire's setup
			}
			key := plan.ItemKey(it.Step)
			for id, h := range hs {
				if !hostsOf[id][it.Step.Host] {
					continue
				}
				if h.Shared == nil {
					h.Shared = map[string]string{}
				}
				if _, dup := h.Shared[key]; !dup {
					h.Shared[key] = fmt.Sprintf("hire %s's setup has it (run %s, step %s)", other, oh.LastRun, it.Step.ID)
				}
			}
		}
	}
	return nil
}

// history reads one hire's history within tx; plans caches the runs' plans.
func history(ctx context.Context, tx *sql.Tx, hireID string, plans map[string]*plan.Plan) (*plan.History, error) {
	// kind IN (...) as records_hire_step's WHERE says: SQLite uses a
	// partial index only when the query repeats its condition.
	rows, err := tx.QueryContext(ctx, `SELECT r.seq, r.run_id, r.kind, r.time_ns, r.payload, r.prev_hash, r.hash
FROM records r JOIN records s ON s.kind = 'run-started' AND s.run_id = r.run_id
WHERE r.hire = ? AND r.kind IN ('step-finished', 'handover') AND r.kind = 'step-finished' AND r.outcome IN ('ok', 'changed')
AND NOT coalesce(json_extract(s.payload, '$.dry_run'), 0)
ORDER BY r.seq`, hireID)
	if err != nil {
		return nil, fmt.Errorf("journal: history of hire %s: %w", hireID, err)
	}
	var recs []Record
	for rows.Next() {
		rec, _, err := scanRecord(rows)
		if err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("journal: history of hire %s: %w", hireID, err)
		}
		recs = append(recs, rec)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("journal: history of hire %s: %w", hireID, err)
	}

	h := &plan.History{}
	var order []string // item keys, first placement first
	items := map[string]*plan.Placed{}
	for _, rec := range recs {
		p, ok := plans[rec.RunID]
		if !ok {
			if p, err = runPlan(ctx, tx, rec.RunID); err != nil {
				return nil, fmt.Errorf("journal: history of hire %s: %w", hireID, err)
			}
			plans[rec.RunID] = p
		}
		if p == nil {
			continue // a run recorded without its plan: nothing to say what the step was
		}
		for i := range p.Hires {
			if p.Hires[i].ID == hireID && h.LastRun != rec.RunID {
				last := p.Hires[i]
				h.Last, h.LastRun = &last, rec.RunID
			}
		}
		if h.SetupRun != rec.RunID && isSetup(p, hireID) {
			setup(h, p, rec.RunID, hireID)
		}
		s := p.Step(rec.Step.ID)
		if s == nil {
			continue
		}
		if s.Kind == plan.KindAccountDisable && s.Leaver != nil {
			h.LeftAt, h.LeftRun = s.Leaver.NotBefore, rec.RunID
		}
		key := plan.ItemKey(s)
		if key == "" {
			continue
		}
		if plan.RemovalOf[s.Kind] == "" {
			// A removal step: done (removed, or found absent), so the item
			// is no longer in place as far as the journal knows.
			delete(items, key)
			continue
		}
		placed := rec.Step.Outcome == result.Changed && rec.Step.Action != string(plan.ActionUpdate)
		it, seen := items[key]
		switch {
		case !seen:
			it = &plan.Placed{RunID: rec.RunID, Time: rec.Time, ByOnboard: placed}
			items[key] = it
			order = append(order, key)
		case placed && !it.ByOnboard:
			// Found in place before, gone since, and put back by onboard.
			it.RunID, it.Time, it.ByOnboard = rec.RunID, rec.Time, true
		}
		// The latest spec: what is there now, as far as onboard knows.
		it.Step, it.Host, it.Directory = s, p.Hosts[s.Host], p.Directories[s.Directory]
	}
	for _, key := range order {
		if it, ok := items[key]; ok {
			h.Items = append(h.Items, *it)
		}
	}
	return h, nil
}

// isSetup says whether p sets the hire up: it has steps for the hire, none
// of them a leaver kind (an offboarding, a restore or a purge).
func isSetup(p *plan.Plan, hireID string) bool {
	found := false
	for _, s := range p.Steps {
		if s.Hire != hireID {
			continue
		}
		if s.Leaver != nil || s.LoginRevoke != nil || s.HomeArchive != nil {
			return false
		}
		found = true
	}
	return found
}

// setup records p, run's plan, as the hire's latest setup in h.
func setup(h *plan.History, p *plan.Plan, run, id string) {
	h.SetupSteps, h.SetupHosts, h.SetupDirectories = nil, map[string]*plan.Host{}, map[string]*plan.Directory{}
	for i := range p.Hires {
		if p.Hires[i].ID == id {
			hire := p.Hires[i]
			h.Setup = &hire
		}
	}
	for _, s := range p.Steps {
		if s.Hire != id {
			continue
		}
		h.SetupSteps = append(h.SetupSteps, s)
		if s.Host != "" && p.Hosts[s.Host] != nil {
			h.SetupHosts[s.Host] = p.Hosts[s.Host]
		}
		if s.Directory != "" && p.Directories[s.Directory] != nil {
			h.SetupDirectories[s.Directory] = p.Directories[s.Directory]
		}
	}
	h.SetupRun = run
}

// runPlan reads the plan a run was made from, within tx; nil when the run
// recorded none.
func runPlan(ctx context.Context, tx *sql.Tx, runID string) (*plan.Plan, error) {
	var payload []byte
	err := tx.QueryRowContext(ctx, `SELECT payload FROM records WHERE kind = 'run-started' AND run_id = ?`, runID).Scan(&payload)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runID, err)
	}
	var sp startPayload
	if err := json.Unmarshal(payload, &sp); err != nil {
		return nil, fmt.Errorf("run %s: start record: %w", runID, err)
	}
	if !sp.PlanExact && bytes.Contains(sp.Plan, []byte(secret.Redacted)) {
		// Stored scrubbed by an older onboard: its specs may differ from
		// what ran, so its steps are not evidence of anything (what they
		// placed is kept, never removed on their word).
		return nil, nil
	}
	d := &RunDetail{Plan: sp.Plan, planExact: sp.PlanExact}
	d.ID = runID
	return d.PlanOf()
}
