package directory

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCreateAccounts measures new-hire accounts per second against each
// lab server over one connection, the way onboard makes them: look the
// username up, create the entry, set a password, enable the account.
// "sequential" does one account at a time; "parallel" keeps several
// requests in flight on the same connection; "entry-only" only adds the
// entries (no lookup, password or enabling).
//
//	go test ./internal/directory -run '^$' -bench CreateAccounts -benchtime 200x
func BenchmarkCreateAccounts(b *testing.B) {
	benchEnvs(b, startLab(b))
}

func benchEnvs(b *testing.B, envs []dirEnv) {
	run := time.Now().Unix() % 100000
	for _, env := range envs {
		b.Run(string(env.cfg.Kind), func(b *testing.B) {
			ctx := context.Background()
			c, err := Dial(ctx, env.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			pol, err := c.PasswordPolicy(ctx)
			if err != nil {
				b.Fatal(err)
			}
			uid, err := c.NextUIDNumber(ctx, 20000)
			if err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			seq.Store(int64(uid))
			next := func() UserSpec {
				n := seq.Add(1)
				return UserSpec{
					Username: fmt.Sprintf("b%d-%d", run, n), GivenName: "Bench", Surname: fmt.Sprintf("User %d", n),
					Email: fmt.Sprintf("b%d@corp.example.test", n), Title: "Engineer", Department: "Engineering",
					EmployeeID: fmt.Sprintf("B%d-%d", run, n), Manager: "ghopper", UIDNumber: int(n), GIDNumber: 10000,
				}
			}
			one := func() error { return createAccount(ctx, c, pol, next()) }
			// The entry alone, as a bulk ldapadd of entries without passwords
			// would make it: the part of the cost that is the adapter's.
			b.Run("entry-only", func(b *testing.B) {
				for b.Loop() {
					if _, err := c.CreateUser(ctx, next()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
			})
			b.Run("sequential", func(b *testing.B) {
				for b.Loop() {
					if err := one(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := one(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
			})
		})
	}
}

// createAccount is the check-then-act account path of one new hire.
func createAccount(ctx context.Context, c *Client, pol PasswordPolicy, spec UserSpec) error {
	if u, err := c.FindUser(ctx, spec.Username); err != nil || u != nil {
		return fmt.Errorf("user %s exists or lookup failed: %v", spec.Username, err)
	}
	dn, err := c.CreateUser(ctx, spec)
	if err != nil {
		return err
	}
	pw, err := GeneratePassword(pol, 0, spec.Username, spec.DisplayName)
	if err != nil {
		return err
	}
	if err := c.SetPassword(ctx, dn, pw, false); err != nil {
		return err
	}
	if c.Kind() == OpenLDAP {
		return nil // enabled by having a password
	}
	return c.SetEnabled(ctx, dn, true)
}
