package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"onboard/internal/lab"
	"onboard/internal/serve/store"
)

// benchDatabases are the engines a benchmark measures: SQLite, and a
// private PostgreSQL cluster.
func benchDatabases(b *testing.B) []struct{ name, dsn string } {
	b.Helper()
	return []struct{ name, dsn string }{
		{"sqlite", filepath.Join(b.TempDir(), "serve.db")},
		{"postgres", lab.PostgresForTest(b).DSN},
	}
}

func openBenchService(b *testing.B, db string, mapper Mapper) (*Service, string) {
	b.Helper()
	s, err := Open(context.Background(), Config{Database: db, StateDir: b.TempDir(), Inventory: []string{b.TempDir()},
		Mapper: mapper, PollEvery: 50 * time.Millisecond, Workers: 8})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	h, err := s.Handler(HTTPConfig{HRKeys: [][]byte{hrKey}})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	ln := listen(b)
	go srv.Serve(ln)
	b.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Stop(ctx)
	})
	return s, "http://" + ln.Addr().String()
}

// BenchmarkIntake posts signed hire events from one sender (the time to
// the 202 of a lone event) and from 16 at once (a burst), and reports
// accepted events per second and the median and 99th percentile of the
// time to the 202 (the event stored with its three runs and their jobs).
func BenchmarkIntake(b *testing.B) {
	for _, db := range benchDatabases(b) {
		for _, senders := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/senders=%d", db.name, senders), func(b *testing.B) {
				benchIntake(b, db.dsn, senders)
			})
		}
	}
}

func benchIntake(b *testing.B, dsn string, senders int) {
	_, url := openBenchService(b, dsn, fixedMapper("ws1", laterSlots))
	round := time.Now().UnixNano() // b.N grows over rounds on one service: ids must not repeat
	lat := make([]time.Duration, b.N)
	jobs := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	b.ResetTimer()
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := fmt.Appendf(nil, `{"id":"bench-%d-%d","type":"hire","person":{"employee_id":"N%d-%06d","given_name":"Bench","surname":"Mark","department":"Engineering","start_date":"2027-03-01"}}`, round, i, round%1e9, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/hooks/hr", bytesReader(body))
				for k, v := range signed(body, time.Now()) {
					req.Header.Set(k, v)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("event %d: %d", i, resp.StatusCode)
				}
			}
		}()
	}
	for i := range b.N {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkPickup measures the queue's pickup latency: from an event whose
// run is due now being answered to a worker claiming that run. The runs
// fail at once (their host is not in the inventory), so only the queue is
// timed.
func BenchmarkPickup(b *testing.B) {
	for _, db := range benchDatabases(b) {
		b.Run(db.name, func(b *testing.B) {
			s, _ := openBenchService(b, db.dsn, func(p Person) (*Assignment, error) {
				return &Assignment{Rule: "r", Profile: "p", Host: "absent", Slots: []Slot{{PhaseAccount, time.Now()}}}, nil
			})
			ctx := context.Background()
			var total, worst time.Duration
			round := time.Now().UnixNano()
			b.ResetTimer()
			for i := range b.N {
				in := hireIntake(fmt.Sprintf("pick-%d-%d", round, i), fmt.Sprintf("P%d-%06d", round%1e9, i))
				acc, err := s.Accept(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				answered := time.Now()
				id := acc.Runs[0].ID
				for {
					r, err := store.GetRun(ctx, s.store.DB, id)
					if err != nil {
						b.Fatal(err)
					}
					if !r.StartedAt.IsZero() {
						d := max(r.StartedAt.Sub(answered), 0)
						total += d
						worst = max(worst, d)
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "pickup-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-pickup-ms")
		})
	}
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}
