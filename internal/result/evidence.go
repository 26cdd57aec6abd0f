package result

import (
	"time"
)

// Fact is one field of what a check saw ("addresses": "10.0.0.5"), kept
// apart so that a later audit can say which field changed.
type Fact struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// EvidenceChange compares what a check saw now with what an earlier run
// recorded of the same check: Changed lists each field that differs;
// empty, the evidence is unchanged.
type EvidenceChange struct {
	// SinceRun is the run that recorded the earlier evidence (the
	// handover, or the last audit), at Since.
	SinceRun string        `json:"since_run"`
	Since    time.Time     `json:"since"`
	Changed  []FieldChange `json:"changed,omitempty"`
	// Unchanged: no field changed.
	Unchanged bool `json:"unchanged,omitempty"`
}

// NewEvidenceChange compares now's evidence with was's, which run
// sinceRun recorded at since.
func NewEvidenceChange(was, now Step, sinceRun string, since time.Time) *EvidenceChange {
	ch := CompareEvidence(was, now)
	return &EvidenceChange{SinceRun: sinceRun, Since: since, Changed: ch, Unchanged: len(ch) == 0}
}

// FieldChange is one field of a check's evidence that changed.
type FieldChange struct {
	Field string `json:"field"`
	Was   string `json:"was"`
	Now   string `json:"now"`
}

// absent stands for a field one side did not record.
const absent = "(not recorded)"

// EvidenceText is what a step recorded in words: its failure's message,
// or its reason.
func EvidenceText(s Step) string {
	if s.Failure != nil && s.Failure.Message != "" {
		return s.Failure.Message
	}
	return s.Reason
}

// CompareEvidence says how now's evidence differs from was's, field by
// field: the fields now recorded, in its order, then those only was had.
// A record without fields (written before checks recorded them) is
// compared by its words, as one field "evidence".
func CompareEvidence(was, now Step) []FieldChange {
	if len(was.Evidence) == 0 || len(now.Evidence) == 0 {
		w, n := EvidenceText(was), EvidenceText(now)
		if w == n {
			return nil
		}
		return []FieldChange{{Field: "evidence", Was: w, Now: n}}
	}
	old := map[string]string{}
	for _, f := range was.Evidence {
		old[f.Key] = f.Value
	}
	var out []FieldChange
	seen := map[string]bool{}
	for _, f := range now.Evidence {
		seen[f.Key] = true
		w, ok := old[f.Key]
		if !ok {
			w = absent
		}
		if w != f.Value {
			out = append(out, FieldChange{Field: f.Key, Was: w, Now: f.Value})
		}
	}
	for _, f := range was.Evidence {
		if !seen[f.Key] {
			seen[f.Key] = true
			out = append(out, FieldChange{Field: f.Key, Was: f.Value, Now: absent})
		}
	}
	return out
}
