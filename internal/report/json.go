package report

import (
	"bytes"
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(scrubRun(r)); err != nil {
		return err
	}
	_, err := w.Write(jsonControls(b.Bytes()))
	return err
}
