package planner

import (
	"time"

	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// checkPlanner gives a check kind (internal/playbook/check_KIND.go) the
// planner's template expansion and error reporting.
type checkPlanner struct {
	expand func(path, s string) string
	code   *codeFields
}

func (p checkPlanner) Expand(path, s string) string { return p.expand(path, s) }

func (p checkPlanner) Fail(path, format string, args ...any) { p.code.fail(path, format, args...) }

// checkTimeout is a check's time limit for one attempt: as written, or by
// default long enough for its retries and one more try.
func checkTimeout(c playbook.Check) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	if c.Retry != nil && c.Retry.Timeout > 0 {
		return c.Retry.Timeout + defaultTimeouts[plan.KindCheck]
	}
	return 0
}
