package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 500 signed events posted at once, 16 senders: every one is answered 202,
// stored with its runs and queued; none is lost and none runs (they are
// scheduled days ahead), and a second delivery of each adds nothing.
func TestBurstOf500Events(t *testing.T) {
	const n, senders = 500, 16
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s, srv := hookServer(t, db)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			send := func(round int) (accepted, dup, other atomic.Int32) {
				jobs := make(chan int)
				var wg sync.WaitGroup
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range jobs {
							body := fmt.Appendf(nil, `{"id":"burst-%d","type":"hire","person":{"employee_id":"B%04d","given_name":"Burst","surname":"Hire %d","department":"Engineering","start_date":"2027-03-01"}}`, i, i, i)
							req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hooks/hr", bytesReader(body))
							for k, v := range signed(body, time.Now()) {
								req.Header.Set(k, v)
							}
							resp, err := http.DefaultClient.Do(req)
							if err != nil {
								other.Add(1)
								continue
							}
							resp.Body.Close()
							switch resp.StatusCode {
							case http.StatusAccepted:
								accepted.Add(1)
							case http.StatusOK:
								dup.Add(1)
							default:
								other.Add(1)
							}
						}
					}()
				}
				for i := range n {
					jobs <- i
				}
				close(jobs)
				wg.Wait()
				return
			}
			acc, dup, other := send(1)
			if acc.Load() != n || dup.Load() != 0 || other.Load() != 0 {
				t.Fatalf("first round: %d accepted, %d duplicates, %d other", acc.Load(), dup.Load(), other.Load())
			}
			acc, dup, other = send(2)
			if acc.Load() != 0 || dup.Load() != n || other.Load() != 0 {
				t.Fatalf("redelivery: %d accepted, %d duplicates, %d other", acc.Load(), dup.Load(), other.Load())
			}
			var hires, runs, queued, jobs int
			db := s.store.DB
			must := func(err error) {
				if err != nil {
					t.Fatal(err)
				}
			}
			must(db.QueryRowContext(ctx, `SELECT COUNT(*) FROM onboard_hires WHERE state = 'scheduled'`).Scan(&hires))
			must(db.QueryRowContext(ctx, `SELECT COUNT(*) FROM onboard_runs WHERE state = 'scheduled'`).Scan(&runs))
			must(db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT job_id) FROM onboard_runs WHERE job_id <> 0`).Scan(&queued))
			must(db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'onboard_run' AND state = 'scheduled'`).Scan(&jobs))
			if hires != n || runs != 3*n || queued != 3*n || jobs != 3*n {
				t.Fatalf("stored %d hires, %d runs, %d queued runs, %d jobs; want %d, %d, %d, %d", hires, runs, queued, jobs, n, 3*n, 3*n, 3*n)
			}
			var started int
			must(db.QueryRowContext(ctx, `SELECT COUNT(*) FROM onboard_runs WHERE attempts > 0`).Scan(&started))
			if started != 0 {
				t.Fatalf("%d runs scheduled for March started", started)
			}
		})
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
