package inventory

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/kb"
	"onboard/internal/strictyaml"
)

// kbState is the knowledge base as read, with the file that named it.
type kbState struct {
	base *kb.Base
	doc  *strictyaml.Doc
	dir  string // the folder, absolute
}

// addKnowledgeBase loads the knowledge base a file names (a folder of
// Markdown articles, relative to the file): its articles are validated
// with the inventory, each error at its article's line.
func (inv *Inventory) addKnowledgeBase(doc *strictyaml.Doc, dir, folder string) []error {
	if folder == "" {
		return nil
	}
	if inv.kb.doc != nil {
		return []error{doc.Errorf("knowledge_base", "is also defined at %s", inv.kb.doc.Pos("knowledge_base"))}
	}
	inv.kb.doc = doc
	if !filepath.IsAbs(folder) {
		folder = filepath.Join(dir, folder)
	}
	if st, err := os.Stat(folder); err != nil || !st.IsDir() {
		return []error{doc.Errorf("knowledge_base", "is not a folder: %s", folder)}
	}
	if abs, err := filepath.Abs(folder); err == nil {
		folder = abs
	}
	b, err := kb.Load(folder)
	inv.kb.base, inv.kb.dir = b, folder
	if me, ok := err.(*multierror.Error); ok {
		return me.Errors
	} else if err != nil {
		return []error{err}
	}
	return nil
}

// KnowledgeBase is the inventory's knowledge base of known failures, nil
// if it names none.
func (inv *Inventory) KnowledgeBase() *kb.Base { return inv.kb.base }

// KnowledgeBaseDir is the knowledge base's folder (absolute), "" if the
// inventory names none: a plan records it, so that a resumed run or a
// saved plan explains its failures too.
func (inv *Inventory) KnowledgeBaseDir() string { return inv.kb.dir }
