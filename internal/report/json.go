package report

import (
	"encoding/json"
	"io"

	"onboard/internal/result"
)

// JSON is the whole run as indented JSON, with known secrets scrubbed.
type JSON struct{}

func (JSON) Write(w io.Writer, r *result.Run) error {
	if r == nil {
		return errNoRun
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(scrubRun(r))
}
