package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/result"
)

// sampleEvents is the event stream of sampleRun, in order.
func sampleEvents() []result.Event {
	r := sampleRun()
	ev := func(d time.Duration, typ result.EventType, s *result.Step, total int) result.Event {
		return result.Event{Time: at(d), Type: typ, RunID: r.ID, Step: s, Total: total}
	}
	step := func(i int) *result.Step { return &r.Steps[i] }
	check := func(i int) *result.Step { return &r.Handover[i] }
	events := []result.Event{ev(0, result.RunStarted, nil, len(r.Steps))}
	for i := range r.Steps {
		s := step(i)
		if s.Outcome != result.Skipped {
			events = append(events, ev(s.Started.Sub(t0), result.StepStarted, s, 0))
		}
	}
	for i := range r.Steps {
		s := step(i)
		events = append(events, ev(s.Started.Sub(t0)+s.Duration, result.StepFinished, s, 0))
	}
	events = append(events, ev(10*time.Second, result.HandoverStarted, nil, len(r.Handover)))
	for i := range r.Handover {
		events = append(events, ev(10*time.Second, result.StepStarted, check(i), 0))
		events = append(events, ev(10*time.Second+check(i).Duration, result.StepFinished, check(i), 0))
	}
	fin := ev(r.Finished.Sub(t0), result.RunFinished, nil, 0)
	fin.Run = r
	return append(events, fin)
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false)
	for _, e := range sampleEvents() {
		p.Event(e)
	}
	p.Close()
	p.Close() // closing twice is harmless
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("plain progress contains escape sequences")
	}
	if !strings.Contains(out, "ok      ws1  Create account alovelace  (0.4s)\n") {
		t.Errorf("plain progress lacks the ok line:\n%s", out)
	}
	if !strings.Contains(out, "failed  ws2  Install acme-chat 3.1.0  (3.0s)  apply: exit 100: apt-get install exited 100\n") {
		t.Errorf("plain progress lacks the failure message:\n%s", out)
	}
	checkGolden(t, "progress-plain.txt", buf.Bytes())
}

func TestProgressTerminal(t *testing.T) {
	var buf syncBuffer
	p := NewProgress(&buf, true)
	now := at(0)
	var nowMu sync.Mutex
	p.mu.Lock()
	p.now = func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	p.mu.Unlock()
	tick := func(d time.Duration) {
		nowMu.Lock()
		now = at(d)
		nowMu.Unlock()
		p.mu.Lock()
		p.draw(false)
		p.mu.Unlock()
	}
	r := sampleRun()
	p.Event(result.Event{Time: at(0), Type: result.RunStarted, RunID: r.ID, Total: 2})
	p.Event(result.Event{Time: at(1 * time.Second), Type: result.StepStarted, Step: &r.Steps[0]})
	p.Event(result.Event{Time: at(2 * time.Second), Type: result.StepStarted, Step: &r.Steps[4]})
	tick(2500 * time.Millisecond)
	first := buf.String()
	for _, want := range []string{"running ws1  Create account alovelace  (1.5s)", "running ws2  Install acme-chat 3.1.0  (0.5s)", "0/2 steps done, 2 running, 2.5s elapsed"} {
		if !strings.Contains(first, want) {
			t.Errorf("live view lacks %q:\n%q", want, first)
		}
	}
	p.Event(result.Event{Time: at(1400 * time.Millisecond), Type: result.StepFinished, Step: &r.Steps[0]})
	p.Event(result.Event{Time: at(5 * time.Second), Type: result.StepFinished, Step: &r.Steps[4]})
	tick(5 * time.Second)
	fin := result.Event{Time: at(6 * time.Second), Type: result.RunFinished, RunID: r.ID, Run: r}
	p.Event(fin)
	p.Close()
	out := buf.String()
	if !strings.Contains(out, "\x1b[3A\r\x1b[J") {
		t.Errorf("live view not redrawn in place (cursor up over 3 lines, clear):\n%q", out)
	}
	// What is left on the screen after the last clear: finished lines and
	// the final status, with nothing running.
	last := out[strings.LastIndex(out, "\x1b[J")+len("\x1b[J"):]
	if !strings.Contains(last, "2/2 steps done, 1 failed, 6.0s elapsed\n") {
		t.Errorf("final state missing:\n%q", last)
	}
	if strings.Contains(last, "running") {
		t.Errorf("final state still shows running steps:\n%q", last)
	}
	if !strings.Contains(out, "failed  ws2  Install acme-chat 3.1.0  (3.0s)  apply: exit 100") {
		t.Errorf("finished failed step not printed:\n%q", out)
	}
	// After Close, events print plain lines.
	n := len(buf.String())
	p.Event(fin)
	if after := buf.String()[n:]; strings.Contains(after, "\x1b") || !strings.HasPrefix(after, "finished run") {
		t.Errorf("event after Close: %q", after)
	}
}

func TestProgressRedrawRate(t *testing.T) {
	var buf syncBuffer
	p := NewProgress(&buf, true)
	r := sampleRun()
	p.Event(result.Event{Type: result.RunStarted, RunID: r.ID, Total: 1})
	p.Event(result.Event{Type: result.StepStarted, Step: &r.Steps[0]})
	time.Sleep(550 * time.Millisecond)
	p.Close()
	draws := strings.Count(buf.String(), "\x1b[J")
	if draws == 0 || draws > 8 {
		t.Errorf("%d redraws in 0.55s, want between 1 and 7 (10 per second at most)", draws)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	o := NewJSONLines(&buf)
	for _, e := range sampleEvents() {
		o.Event(e)
	}
	checkGolden(t, "events.jsonl", buf.Bytes())
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var e result.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
	}
	if n != len(sampleEvents()) {
		t.Errorf("%d lines, want %d", n, len(sampleEvents()))
	}
}

func TestJSONLinesConcurrent(t *testing.T) {
	var buf bytes.Buffer
	o := NewJSONLines(&buf)
	r := sampleRun()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.Steps[i%len(r.Steps)]
			o.Event(result.Event{Type: result.StepFinished, RunID: fmt.Sprint(i), Step: &s})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %q", i+1, l)
		}
	}
}

// A line written through the live view (an initial password delivered to
// the terminal) lands above the live region and is never moved over by a
// redraw: every later cursor-up is at most the region's height.
func TestProgressWriteSurvivesRedraws(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, true)
	p.Event(result.Event{Type: result.RunStarted, Total: 2})
	p.Event(result.Event{Type: result.StepStarted, Step: &result.Step{ID: "a", Title: "Install chat", Host: "ws1"}})
	fmt.Fprintln(p, "  Initial password of ada in corp (shown once): Pw-123-xyz")
	start := buf.Len()
	p.Event(result.Event{Type: result.StepFinished, Step: &result.Step{ID: "a", Title: "Install chat", Host: "ws1", Outcome: result.Changed}})
	p.Close()
	out := buf.String()
	if strings.Count(out, "Pw-123-xyz") != 1 {
		t.Fatalf("the password line was printed %d times", strings.Count(out, "Pw-123-xyz"))
	}
	// After the password, the region redrawn below it is at most a few
	// lines: no redraw moves the cursor up past the password line.
	after := out[start:]
	region := strings.Count(out[strings.Index(out, "Pw-123-xyz"):start], "\n") - 1
	for _, m := range regexp.MustCompile(`\x1b\[(\d+)A`).FindAllStringSubmatch(after, -1) {
		if n, _ := strconv.Atoi(m[1]); n > region {
			t.Errorf("a redraw moved up %d lines over the password (region %d)", n, region)
		}
	}
}
