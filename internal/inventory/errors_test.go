package inventory

import (
	"path/filepath"
	"testing"

	"onboard/internal/golden"
)

// An inventory's errors are all reported in one pass, in file and line
// order, each at file:line:column with its field: what decoding refuses,
// what the checks find, and references to unknown entries, but no
// follow-on of an error already said (a misspelt address is not also a
// missing one; a group in an unreadable file is not unknown).
func TestLoadErrorsAtOnce(t *testing.T) {
	for _, name := range []string{"many", "syntax", "tab.yaml", "duplicate.yaml"} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "errors", name))
			if err == nil {
				t.Fatal("accepted")
			}
			golden.Assert(t, filepath.Join("testdata", "errors", name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}
