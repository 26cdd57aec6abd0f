package ssh

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
)

// pidMarker starts the line the shell writes to stderr before the command
// on root logins; the line is removed from the output.
const pidMarker = "onboard-pid:"

// pidMarkerCommand prints the login shell's PID, which sshd made a session
// and process group leader (setsid): killing that group kills the command
// and its children.
const pidMarkerCommand = `printf '` + pidMarker + `%s\n' "$$" >&2`

// pidFilter takes the PID line off the front of stderr and passes the rest.
type pidFilter struct {
	w     io.Writer
	mu    sync.Mutex
	buf   []byte
	done  bool
	pid   int
	found chan struct{} // closed when the first line has been seen
}

func newPIDFilter(w io.Writer) *pidFilter { return &pidFilter{w: w, found: make(chan struct{})} }

func (f *pidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	i := bytes.IndexByte(f.buf, '\n')
	if i < 0 && len(f.buf) < 64 && bytes.HasPrefix([]byte(pidMarker), f.buf[:min(len(f.buf), len(pidMarker))]) {
		return len(p), nil // wait for the rest of the line
	}
	f.done = true
	close(f.found)
	rest := f.buf
	if i >= 0 && bytes.HasPrefix(f.buf, []byte(pidMarker)) {
		if n, err := strconv.Atoi(string(f.buf[len(pidMarker):i])); err == nil {
			f.pid = n
			rest = f.buf[i+1:]
		}
	}
	f.buf = nil
	if len(rest) > 0 {
		if _, err := f.w.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// wait returns the PID, waiting up to d for it; 0 if unknown.
func (f *pidFilter) wait(d time.Duration) int {
	select {
	case <-f.found:
	case <-time.After(d):
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pid
}

// flush passes on a partial first line held back at the end of the output.
func (f *pidFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done && len(f.buf) > 0 {
		_, _ = f.w.Write(f.buf)
	}
	f.buf = nil
}
