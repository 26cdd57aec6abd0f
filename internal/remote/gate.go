package remote

import (
	"io"
	"sync"
	"sync/atomic"
)

// GatedWriter passes writes to W until Shut, then discards them: a
// transport shuts it when Run returns, so a late chunk of a command's
// output never reaches a caller's buffer that is already being read.
type GatedWriter struct {
	mu     sync.Mutex
	W      io.Writer
	closed bool
}

func (g *GatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.W == nil {
		return len(p), nil
	}
	return g.W.Write(p)
}

// Shut stops the passing on.
func (g *GatedWriter) Shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// GatedReader reads from R until Shut, then reports EOF.
type GatedReader struct {
	R      io.Reader
	closed atomic.Bool
}

func (g *GatedReader) Read(p []byte) (int, error) {
	if g.closed.Load() {
		return 0, io.EOF
	}
	return g.R.Read(p)
}

// Shut ends the stream.
func (g *GatedReader) Shut() { g.closed.Store(true) }
