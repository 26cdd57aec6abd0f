package journal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"onboard/internal/result"
)

// writeSteps records n step-finished events (n = 0: until killed), each
// preceded by its step-started, and calls done after each is on disk.
func writeSteps(ctx context.Context, j *Journal, runID string, n int, done func(step string)) error {
	for i := 0; n == 0 || i < n; i++ {
		st := &result.Step{ID: fmt.Sprintf("%s/step-%04d", runID, i), Hire: "E" + runID, Host: "ws-01", Title: "step", Started: time.Now()}
		if i%2 == 0 {
			if err := j.Record(ctx, runID, result.Event{Type: result.StepStarted, Step: st}); err != nil {
				return err
			}
		}
		st.Outcome, st.Changed, st.Duration = result.Changed, "made it", time.Millisecond
		if err := j.Record(ctx, runID, result.Event{Type: result.StepFinished, Step: st}); err != nil {
			return err
		}
		if done != nil {
			done(st.ID)
		}
	}
	return nil
}

// TestHelperWriter is a child process of the tests below, not a test: it
// opens the journal named by JOURNAL_HELPER_PATH, starts a run and records
// JOURNAL_HELPER_N steps (0: until killed), printing "done STEP" once each
// is recorded.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("JOURNAL_HELPER_PATH")
	if path == "" {
		t.Skip("a child process of TestProcesses and TestKilledWriter")
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	n, _ := strconv.Atoi(os.Getenv("JOURNAL_HELPER_N"))
	if at, _ := strconv.ParseInt(os.Getenv("JOURNAL_HELPER_AT"), 10, 64); at > 0 {
		time.Sleep(time.Until(time.Unix(0, at))) // open together with the others
	}
	j, err := Open(ctx, path)
	if err != nil {
		fail(err)
	}
	id, err := j.StartRun(ctx, RunStart{ID: os.Getenv("JOURNAL_HELPER_RUN"), Operator: "helper", Trigger: "cli"})
	if err != nil {
		fail(err)
	}
	err = writeSteps(ctx, j, id, n, func(step string) {
		// os.Stdout is unbuffered: the line is out once Record returned.
		fmt.Println("done", step)
	})
	if err != nil {
		fail(err)
	}
	if err := j.Close(); err != nil {
		fail(err)
	}
	os.Exit(0)
}

func helper(path, runID string, n int) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	c.Env = append(os.Environ(), "JOURNAL_HELPER_PATH="+path, "JOURNAL_HELPER_RUN="+runID, "JOURNAL_HELPER_N="+strconv.Itoa(n))
	return c
}

// checkAll verifies the chain and that every run holds want step-finished records.
func checkAll(t *testing.T, j *Journal, runs []string, want int, records int64) {
	t.Helper()
	ctx := context.Background()
	rep, err := j.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the chain is broken: %v", rep.Problems)
	}
	if rep.Records != records {
		t.Errorf("%d records, want %d", rep.Records, records)
	}
	for _, id := range runs {
		d, err := j.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(d.FinishedSteps()); n != want {
			t.Errorf("run %s: %d finished steps, want %d", id, n, want)
		}
	}
}

func TestConcurrentJournals(t *testing.T) {
	const writers, steps = 8, 200
	ctx := context.Background()
	_, path := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var runs []string
	for w := range writers {
		id := fmt.Sprintf("g%d", w)
		runs = append(runs, id)
		wg.Go(func() {
			j, err := Open(ctx, path) // a Journal of its own: its own connections
			if err != nil {
				errs <- err
				return
			}
			defer j.Close()
			if _, err := j.StartRun(ctx, RunStart{ID: id, Operator: "alice"}); err != nil {
				errs <- err
				return
			}
			errs <- writeSteps(ctx, j, id, steps, nil)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err) // "database is locked" would land here
		}
	}
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	checkAll(t, j, runs, steps, writers*(1+steps+steps/2))
}

func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const procs, steps = 8, 200
	// A fresh file: the processes also race to create the schema.
	path := filepath.Join(t.TempDir(), "journal.db")
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	var runs []string
	for p := range procs {
		id := fmt.Sprintf("p%d", p)
		runs = append(runs, id)
		c := helper(path, id, steps)
		var out strings.Builder
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, c), append(outs, &out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, tail(outs[i].String()))
		}
		if n := strings.Count(outs[i].String(), "done "); n != steps {
			t.Errorf("process %d recorded %d steps, want %d", i, n, steps)
		}
	}
	j, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	checkAll(t, j, runs, steps, procs*(1+steps+steps/2))
}

// An HR burst: many processes open one new journal at the same moment
// (creating the file, switching it to WAL, creating the schema) and each
// records its run. Repeated on a fresh file each round, since the race is
// in the first moments of the file.
func TestOpenBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const procs, rounds, steps = 16, 20, 2
	deadline := time.Now().Add(3 * time.Minute)
	for round := range rounds {
		if time.Now().After(deadline) {
			t.Fatalf("round %d: out of time", round)
		}
		path := filepath.Join(t.TempDir(), "journal.db")
		// Every process sleeps until the same instant before Open: their
		// start-up (hundreds of ms apart on a busy machine) does not spread
		// them out.
		at := time.Now().Add(300 * time.Millisecond).UnixNano()
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		var runs []string
		for p := range procs {
			id := fmt.Sprintf("r%d-p%d", round, p)
			runs = append(runs, id)
			c := helper(path, id, steps)
			c.Env = append(c.Env, "JOURNAL_HELPER_AT="+strconv.FormatInt(at, 10))
			var out strings.Builder
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, c), append(outs, &out)
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("round %d, process %d: %v\n%s", round, i, err, tail(outs[i].String()))
			}
		}
		if t.Failed() {
			return
		}
		j, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		checkAll(t, j, runs, steps, procs*(1+steps+steps/2))
		_ = j.Close()
	}
}

func TestKilledWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	// Another writer keeps going while the child dies, so the kill can land
	// anywhere: waiting for the lock, mid-transaction, mid-fsync.
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.StartRun(ctx, RunStart{ID: "survivor"}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			st := &result.Step{ID: fmt.Sprintf("survivor/%d", i), Hire: "E0", Outcome: result.OK}
			if err := other.Record(ctx, "survivor", result.Event{Type: result.StepFinished, Step: st}); err != nil {
				t.Error(err)
				return
			}
			// Like an engine, whose steps take a while: SQLite's busy
			// handler is not fair, and a writer in a tight loop starves
			// the others.
			time.Sleep(time.Millisecond)
		}
	})

	c := helper(path, "victim", 0)
	c.Stderr = os.Stderr
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var reported []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		step, ok := strings.CutPrefix(sc.Text(), "done ")
		if !ok {
			continue
		}
		reported = append(reported, step)
		if len(reported) == 150 {
			// Somewhere in the next record or two: waiting for the lock,
			// in the transaction, in the fsync.
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			if err := c.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = c.Wait()
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed: %v", err)
	}
	close(stop)
	bg.Wait()

	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("after the kill: %v %v", err, rep.Problems)
	}
	d, err := j.Run(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	fin := d.FinishedSteps()
	for _, s := range reported {
		if _, ok := fin[s]; !ok {
			t.Errorf("step %s was reported recorded but is not in the journal", s)
		}
	}
	// At most the one step being recorded when the kill came is beyond
	// what was reported.
	if len(fin) < len(reported) || len(fin) > len(reported)+1 {
		t.Errorf("%d steps finished in the journal, %d reported", len(fin), len(reported))
	}
	if d.Outcome != RunInterrupted || !d.Finished.IsZero() {
		t.Errorf("the killed run is %s, want interrupted", d.Outcome)
	}
	t.Logf("killed after %d reported steps; journal: %d finished, %d in progress %v; %d records in all",
		len(reported), len(fin), d.InProgress, d.InProgressSteps(), rep.Records)
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
