package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Anchor pins the chain at one record: its position and hash. The head of
// the chain is an anchor; so is any head printed earlier and kept elsewhere.
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// String is the anchor as `onboard journal verify --expect-head` reads it.
func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseAnchor reads "SEQ:HASH".
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	hash = strings.ToLower(hash)
	if !ok || err != nil || n < 1 || !hashPattern.MatchString(hash) {
		return Anchor{}, fmt.Errorf("journal anchor %q: want SEQ:HASH, the seq of a record and its 64-digit SHA-256", s)
	}
	return Anchor{Seq: n, Hash: hash}, nil
}

// Head returns the head of the chain: the last record's position and hash.
// Print it in reports and keep it out of the journal's reach; Verify with
// it later proves the journal up to that record was not rewritten.
func (j *Journal) Head(ctx context.Context) (Anchor, error) {
	var a Anchor
	err := j.r.QueryRowContext(ctx, `SELECT last_seq, last_hash FROM chain_head WHERE id = 1`).Scan(&a.Seq, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errors.New("journal: the chain head is missing: the journal was changed outside onboard (run `onboard journal verify`)")
	}
	if err != nil {
		return a, fmt.Errorf("journal: head: %w", err)
	}
	return a, nil
}

// ProblemKind says how the chain is broken.
type ProblemKind string

const (
	// Edited: a record no longer matches its hash (its run, kind, time or
	// payload changed), or was rewritten with a recomputed hash that the
	// next record (or the head) does not link to.
	Edited ProblemKind = "edited"
	// Deleted: records are missing, in the middle or at the end.
	Deleted ProblemKind = "deleted"
	// Reordered: intact records sit at positions other than the ones they
	// were written at (swapped, moved, or renumbered around a gap).
	Reordered ProblemKind = "reordered"
	// Inserted: a record that onboard did not append: past the head, or
	// sharing its predecessor with the real next record.
	Inserted ProblemKind = "inserted"
	// Rewritten: the chain is consistent but does not hold a pinned anchor:
	// it was recomputed from that record or earlier.
	Rewritten ProblemKind = "rewritten"
	// HeadBroken: the chain head is missing or disagrees with the records
	// in a way no record explains.
	HeadBroken ProblemKind = "head"
)

// Problem is one break in the chain. Seq..Last are positions as stored
// now, except for Deleted, where they are the positions the missing records
// were written at.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	Seq  int64       `json:"seq"`
	Last int64       `json:"last,omitempty"` // a range's last position
	// WrittenAs is where the (first) reordered record was written.
	WrittenAs int64  `json:"written_as,omitempty"`
	RunID     string `json:"run_id,omitempty"`
	Detail    string `json:"detail"`
}

func (p Problem) String() string {
	where := "record " + strconv.FormatInt(p.Seq, 10)
	if p.Last > p.Seq {
		where = fmt.Sprintf("records %d-%d", p.Seq, p.Last)
	}
	if p.Kind == HeadBroken {
		where = "chain head"
	}
	return fmt.Sprintf("%s: %s: %s", where, p.Kind, p.Detail)
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Records int64 `json:"records"`
	// Head is the chain head as stored; Last the last record found.
	Head     Anchor    `json:"head"`
	Last     Anchor    `json:"last"`
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether the chain is intact.
func (r VerifyReport) OK() bool { return len(r.Problems) == 0 }

// First is the earliest break, or nil.
func (r VerifyReport) First() *Problem {
	if len(r.Problems) == 0 {
		return nil
	}
	return &r.Problems[0]
}

// vrow is one record as Verify sees it.
type vrow struct {
	seq     int64
	runID   string
	kind    Kind
	ns      int64
	payload []byte // kept only while the record does not verify in place
	prev    string
	hash    string
	orig    int64 // the position it was written at; 0 when it matches no hash
}

// Verify walks the whole chain, in one read snapshot, and reports every
// break, earliest first. pins are anchors kept outside the journal (earlier
// heads); each must still be in the chain. Verify reads every record
// (about 120,000 a second) and holds their hashes in memory (about 250 MB
// per million records).
func (j *Journal) Verify(ctx context.Context, pins ...Anchor) (VerifyReport, error) {
	var rep VerifyReport
	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, fmt.Errorf("journal: verify: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var headCount int64
	headOK := true
	err = tx.QueryRowContext(ctx, `SELECT count, last_seq, last_hash FROM chain_head WHERE id = 1`).Scan(&headCount, &rep.Head.Seq, &rep.Head.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		headOK = false
	} else if err != nil {
		return rep, fmt.Errorf("journal: verify: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, run_id, kind, time_ns, payload, prev_hash, hash FROM records ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("journal: verify: %w", err)
	}
	var rs []*vrow
	for rows.Next() {
		r := &vrow{}
		var kind string
		if err := rows.Scan(&r.seq, &r.runID, &kind, &r.ns, &r.payload, &r.prev, &r.hash); err != nil {
			_ = rows.Close()
			return rep, fmt.Errorf("journal: verify: %w", err)
		}
		r.kind = Kind(kind)
		if hashRecord(r.prev, r.seq, r.runID, r.kind, r.ns, r.payload) == r.hash {
			r.orig, r.payload = r.seq, nil
		}
		rs = append(rs, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return rep, fmt.Errorf("journal: verify: %w", err)
	}
	rep.Records = int64(len(rs))
	if len(rs) > 0 {
		rep.Last = Anchor{Seq: rs[len(rs)-1].seq, Hash: rs[len(rs)-1].hash}
	}
	rep.Problems = check(rs, rep.Head, headCount, headOK, pins)
	return rep, nil
}

// check finds the breaks in rs (in seq order).
func check(rs []*vrow, head Anchor, headCount int64, headOK bool, pins []Anchor) []Problem {
	byHash := map[string]*vrow{}
	bySeq := map[int64]*vrow{}
	for _, r := range rs {
		if _, dup := byHash[r.hash]; !dup {
			byHash[r.hash] = r
		}
		bySeq[r.seq] = r
	}
	// A record that does not match its hash where it is may have been
	// moved. The hash covers the position it was written at, so a match at
	// another position proves where it belongs: right after its
	// predecessor's, right before a successor's, or at the head's. Passes
	// both ways reach a long run of renumbered records in one go.
	next := map[string][]*vrow{}
	var lost []*vrow
	for _, r := range rs {
		next[r.prev] = append(next[r.prev], r)
		if r.orig == 0 {
			lost = append(lost, r)
		}
	}
	try := func(r *vrow, at int64) bool {
		if r.orig != 0 || at < 1 || hashRecord(r.prev, at, r.runID, r.kind, r.ns, r.payload) != r.hash {
			return false
		}
		r.orig, r.payload = at, nil
		return true
	}
	if h := byHash[head.Hash]; h != nil && headOK {
		try(h, head.Seq)
	}
	for changed := len(lost) > 0; changed; {
		changed = false
		for _, r := range lost {
			if r.prev == genesis {
				changed = try(r, 1) || changed
			} else if p := byHash[r.prev]; p != nil && p.orig > 0 {
				changed = try(r, p.orig+1) || changed
			}
		}
		for i := len(lost) - 1; i >= 0; i-- {
			r := lost[i]
			for _, c := range next[r.hash] {
				if c.orig > 0 {
					changed = try(r, c.orig-1) || changed
				}
			}
		}
	}
	children := map[string]int{} // how many intact records link to a hash
	for _, r := range rs {
		if r.orig > 0 {
			children[r.prev]++
		}
	}

	var ps []Problem
	seen := map[string]bool{}
	add := func(p Problem) {
		k := fmt.Sprintf("%s %d", p.Kind, p.Seq)
		if !seen[k] {
			seen[k] = true
			ps = append(ps, p)
		}
	}
	edited := map[int64]bool{}
	headSeq := head.Seq
	if !headOK {
		headSeq = math.MaxInt64 // nothing is known past the head
	}
	var moved []*vrow
	var lastOrig, maxPos int64
	for _, r := range rs {
		switch {
		case r.orig == 0 && r.seq > headSeq:
			add(Problem{Kind: Inserted, Seq: r.seq, RunID: r.runID,
				Detail: fmt.Sprintf("past the chain head (record %d) and matching no hash: added outside onboard", headSeq)})
		case r.orig == 0:
			edited[r.seq] = true
			add(Problem{Kind: Edited, Seq: r.seq, RunID: r.runID,
				Detail: "does not match its hash: its run, kind, time or payload was changed after it was written"})
		case r.orig > headSeq:
			add(Problem{Kind: Inserted, Seq: r.seq, RunID: r.runID,
				Detail: fmt.Sprintf("chained to the records before it but past the chain head (record %d): appended by something that did not move the head", headSeq)})
		case r.orig != r.seq:
			moved = append(moved, r)
		}
		maxPos = max(maxPos, r.seq, r.orig)
		if r.orig == 0 {
			continue
		}
		switch {
		case r.orig == 1 && r.prev != genesis:
			add(Problem{Kind: Edited, Seq: r.seq, RunID: r.runID, Detail: "claims to be the first record but does not start the chain"})
		case r.orig > 1 && byHash[r.prev] == nil:
			// The record it was chained to is gone, or was rewritten.
			k := bySeq[r.orig-1]
			switch {
			case k != nil && k != r && k.orig == 0:
				// reported as edited already
			case k != nil && k != r && k.orig == k.seq:
				edited[k.seq] = true
				add(Problem{Kind: Edited, Seq: k.seq, RunID: k.runID,
					Detail: fmt.Sprintf("is not the record that record %d was chained to: it was replaced or rewritten with a recomputed hash", r.orig)})
			default:
				from := r.orig - 1
				if lastOrig > 0 && lastOrig < from {
					from = lastOrig + 1
				}
				add(Problem{Kind: Deleted, Seq: from, Last: r.orig - 1,
					Detail: fmt.Sprintf("missing: record %d (run %s) was chained to record %d, which is gone", r.orig, r.runID, r.orig-1)})
			}
		}
		if children[r.prev] > 1 && children[r.hash] == 0 && r.hash != head.Hash {
			add(Problem{Kind: Inserted, Seq: r.seq, RunID: r.runID,
				Detail: "shares its predecessor with another record and nothing is chained to it: inserted into the chain"})
		}
		lastOrig = r.orig
	}
	ps = append(ps, movedProblems(moved)...)

	// The end of the chain, against the head.
	switch h := byHash[head.Hash]; {
	case !headOK:
		add(Problem{Kind: HeadBroken, Detail: "the chain head is missing, so deleted last records cannot be detected"})
	case head.Seq == 0 && len(rs) == 0:
	case h != nil:
		if len(ps) == 0 && headCount != int64(len(rs)) {
			add(Problem{Kind: HeadBroken, Detail: fmt.Sprintf("the head counts %d records, the journal holds %d", headCount, len(rs))})
		}
	case head.Seq > maxPos:
		add(Problem{Kind: Deleted, Seq: maxPos + 1, Last: head.Seq,
			Detail: fmt.Sprintf("the last records are missing: the chain head records %d records up to record %d", headCount, head.Seq)})
	case bySeq[head.Seq] != nil && !edited[head.Seq]:
		k := bySeq[head.Seq]
		add(Problem{Kind: Edited, Seq: k.seq, RunID: k.runID,
			Detail: "is not the last record the chain head recorded: it was rewritten with a recomputed hash, or the head was edited"})
	case bySeq[head.Seq] == nil:
		add(Problem{Kind: HeadBroken, Detail: fmt.Sprintf("the head names record %d, which matches no record", head.Seq)})
	}

	for _, a := range pins {
		if byHash[a.Hash] != nil {
			continue
		}
		if a.Seq > maxPos {
			add(Problem{Kind: Deleted, Seq: maxPos + 1, Last: a.Seq,
				Detail: fmt.Sprintf("the journal ends before pinned record %d (%s): it was truncated, and its head rewritten", a.Seq, short(a.Hash))})
			continue
		}
		add(Problem{Kind: Rewritten, Seq: a.Seq,
			Detail: fmt.Sprintf("is not the pinned record (%s): the chain was rewritten from here or earlier, hashes recomputed", short(a.Hash))})
	}

	sort.SliceStable(ps, func(a, b int) bool { return ps[a].Seq < ps[b].Seq })
	return ps
}

// movedProblems groups records written elsewhere into runs that moved
// together, and names a pair that swapped places.
func movedProblems(moved []*vrow) []Problem {
	type group struct{ first, last *vrow }
	var gs []group
	for _, r := range moved {
		if n := len(gs); n > 0 {
			g := &gs[n-1]
			if r.seq == g.last.seq+1 && r.orig == g.last.orig+1 {
				g.last = r
				continue
			}
		}
		gs = append(gs, group{r, r})
	}
	var ps []Problem
	swapped := map[int]bool{}
	for i, g := range gs {
		if swapped[i] {
			continue
		}
		if g.first == g.last {
			partner := -1
			for k := i + 1; k < len(gs) && partner < 0; k++ {
				h := gs[k]
				if !swapped[k] && h.first == h.last && h.first.orig == g.first.seq && g.first.orig == h.first.seq {
					partner = k
				}
			}
			if partner >= 0 {
				swapped[partner] = true
				h := gs[partner].first
				ps = append(ps, Problem{Kind: Reordered, Seq: g.first.seq, Last: h.seq, WrittenAs: g.first.orig, RunID: g.first.runID,
					Detail: fmt.Sprintf("records %d and %d swapped places", g.first.seq, h.seq)})
				continue
			}
			ps = append(ps, Problem{Kind: Reordered, Seq: g.first.seq, WrittenAs: g.first.orig, RunID: g.first.runID,
				Detail: fmt.Sprintf("was written as record %d", g.first.orig)})
			continue
		}
		ps = append(ps, Problem{Kind: Reordered, Seq: g.first.seq, Last: g.last.seq, WrittenAs: g.first.orig, RunID: g.first.runID,
			Detail: fmt.Sprintf("were written as records %d-%d: shifted by %+d, as when records are inserted or removed before them and the rest renumbered",
				g.first.orig, g.last.orig, g.first.seq-g.first.orig)})
	}
	return ps
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ChainError says the journal's chain is broken, so nothing read from it
// can be trusted: resume and audit refuse to act on it. It carries what
// Verify found.
type ChainError struct {
	Path   string
	Report VerifyReport
}

func (e *ChainError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the journal %s was changed outside onboard, so it is not trusted", e.Path)
	for i, p := range e.Report.Problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Report.Problems)-i)
			break
		}
		fmt.Fprintf(&b, "; %s", p)
	}
	b.WriteString(" (onboard journal verify lists every break)")
	return b.String()
}

// CheckChain verifies the whole chain, against the head and pins, before
// its records are acted on (resume, audit). It streams over the records
// in one read snapshot, holding one record at a time, and returns nil when
// every record links to the one before and matches its hash and the last
// one is the head; otherwise Verify's findings, as a *ChainError.
func (j *Journal) CheckChain(ctx context.Context, pins ...Anchor) error {
	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("journal: verify: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return j.checkChain(ctx, tx, pins)
}

// checkChain is CheckChain within the read transaction tx.
func (j *Journal) checkChain(ctx context.Context, tx *sql.Tx, pins []Anchor) error {
	why, err := streamCheck(ctx, tx, pins)
	if err != nil {
		return fmt.Errorf("journal: verify: %w", err)
	}
	if why == "" {
		return nil
	}
	// Broken: say where and how, as `journal verify` does. Verify reads
	// its own snapshot; should that one be intact (the file was repaired
	// in between), the first finding stands on its own.
	rep, err := j.Verify(ctx, pins...)
	if err != nil {
		return fmt.Errorf("journal: verify: %w", err)
	}
	if rep.OK() {
		rep.Problems = []Problem{{Kind: Edited, Detail: why}}
	}
	return &ChainError{Path: j.path, Report: rep}
}

// streamCheck walks the chain in order and returns why it is broken, or ""
// when it is intact. It keeps no record once checked: a journal of any size
// verifies in constant memory.
func streamCheck(ctx context.Context, tx *sql.Tx, pins []Anchor) (string, error) {
	var head Anchor
	var count int64
	err := tx.QueryRowContext(ctx, `SELECT count, last_seq, last_hash FROM chain_head WHERE id = 1`).Scan(&count, &head.Seq, &head.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "the chain head is missing", nil
	}
	if err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, run_id, kind, time_ns, payload, prev_hash, hash FROM records ORDER BY seq`)
	if err != nil {
		return "", err
	}
	defer func() { _ = rows.Close() }()
	want := map[int64]string{}
	for _, a := range pins {
		want[a.Seq] = a.Hash
	}
	var (
		n, seq, ns int64
		prev       = genesis
		runID      string
		kind       string
		payload    sql.RawBytes
		hash, link string
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &runID, &kind, &ns, &payload, &link, &hash); err != nil {
			return "", err
		}
		n++
		switch {
		case seq != n:
			return fmt.Sprintf("record %d is at position %d", n, seq), nil
		case link != prev:
			return fmt.Sprintf("record %d is not chained to record %d", seq, seq-1), nil
		case hashRecord(link, seq, runID, Kind(kind), ns, payload) != hash:
			return fmt.Sprintf("record %d does not match its hash", seq), nil
		}
		if h, ok := want[seq]; ok && h != hash {
			return fmt.Sprintf("record %d is not the pinned record", seq), nil
		}
		prev = hash
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if n != count || n != head.Seq || prev != head.Hash {
		return fmt.Sprintf("the chain ends at record %d, the chain head says record %d of %d", n, head.Seq, count), nil
	}
	for _, a := range pins {
		if a.Seq > n {
			return fmt.Sprintf("the journal ends before pinned record %d", a.Seq), nil
		}
	}
	return "", nil
}
