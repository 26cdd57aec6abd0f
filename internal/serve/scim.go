package serve

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"onboard/internal/scim"
	"onboard/internal/serve/store"
)

func init() {
	extraRoutes = append(extraRoutes, func(h *server, mux *http.ServeMux) error {
		if len(h.scim) == 0 {
			return nil // no identity provider configured: /scim answers 404
		}
		opts := []scim.Option{}
		if h.hc.BaseURL != "" {
			opts = append(opts, scim.WithBaseURL(strings.TrimRight(h.hc.BaseURL, "/")+"/scim/v2"))
		}
		sh, err := scim.NewHandler(&scimBackend{s: h.s}, func(tok string) bool {
			if h.scim.match(tok) != "" {
				return true
			}
			h.s.stats.refuse("scim", "unauthorized")
			return false
		}, h.s.log, opts...)
		if err != nil {
			return err
		}
		mux.Handle("/scim/v2/", sh)
		return nil
	})
}

// scimBackend keeps SCIM users in the store; each change of an active
// user is an event for its hire, in the same transaction.
type scimBackend struct{ s *Service }

var employeeIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newSCIMID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as providers expect ids to look
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// employeeOf is the hire a user is: its employeeNumber, or one derived from
// its id when the provider sends none.
func employeeOf(u scim.User) (string, error) {
	if u.EmployeeNumber == "" {
		return "scim-" + strings.ReplaceAll(u.ID, "-", "")[:12], nil
	}
	if !employeeIDRE.MatchString(u.EmployeeNumber) {
		return "", &scim.InvalidError{Attribute: scim.EnterpriseSchema + ":employeeNumber",
			Message: "must be 1 to 64 letters, digits, '.', '_' or '-' (it is the hire's employee id)"}
	}
	return u.EmployeeNumber, nil
}

func personOf(u scim.User, emp string) Person {
	return Person{EmployeeID: emp, GivenName: u.GivenName, Surname: u.FamilyName, PreferredName: u.NickName, Title: u.Title,
		Department: u.Department, Manager: u.Manager, Email: u.Email, Location: u.Location, CostCenter: u.CostCenter,
		StartDate: u.StartDate, Workstation: u.Workstation}
}

func (b *scimBackend) intake(typ string, u scim.User, emp string) Intake {
	body, _ := json.Marshal(u)
	return Intake{ID: fmt.Sprintf("scim:%s:v%s", u.ID, u.Version), Source: "scim", Type: typ, Trigger: "scim:" + u.ID,
		Person: personOf(u, emp), Body: body}
}

func (b *scimBackend) put(ctx context.Context, tx *sql.Tx, u scim.User, emp string, version int) error {
	res, _ := json.Marshal(u)
	err := store.PutSCIMUser(ctx, tx, &store.SCIMUser{ID: u.ID, UserName: u.UserName, ExternalID: u.ExternalID, EmployeeID: emp,
		Active: u.Active, Resource: res, Version: version, Created: u.Created, Updated: u.LastModified})
	if errors.Is(err, store.ErrTaken) {
		return fmt.Errorf("%w: %w", scim.ErrConflict, err)
	}
	return err
}

// claimed refuses a second SCIM user for one employee id.
func claimed(ctx context.Context, tx *sql.Tx, emp, id string) error {
	users, err := store.SCIMUsers(ctx, tx)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.EmployeeID == emp && o.ID != id {
			return fmt.Errorf("%w: employeeNumber %q belongs to user %s", scim.ErrConflict, emp, o.ID)
		}
	}
	return nil
}

func (b *scimBackend) Create(ctx context.Context, u scim.User) (scim.User, error) {
	now := b.s.now().UTC()
	u.ID, u.Created, u.LastModified, u.Version = newSCIMID(), now, now, "1"
	emp, err := employeeOf(u)
	if err != nil {
		return scim.User{}, err
	}
	var acc *Accepted
	err = b.s.store.Tx(ctx, func(tx *sql.Tx) error {
		if err := claimed(ctx, tx, emp, u.ID); err != nil {
			return err
		}
		if err := b.put(ctx, tx, u, emp, 1); err != nil {
			return err
		}
		if !u.Active {
			return nil // provisioned inactive: nothing to set up yet
		}
		acc, err = b.s.acceptTx(ctx, tx, b.intake(Hire, u, emp))
		return err
	})
	if err != nil {
		return scim.User{}, err
	}
	b.counted(acc)
	return u, nil
}

func (b *scimBackend) counted(acc *Accepted) {
	if acc != nil {
		b.s.stats.event("scim", acc.Result, acc.Duplicate)
		b.s.log.Info("scim event", "event", acc.EventID, "hire", acc.EmployeeID, "result", acc.Result, "detail", acc.Detail)
	}
}

// lookup reads a stored user, answering SCIM's not-found for a missing one.
func lookup(ctx context.Context, q store.Querier, id string) (*store.SCIMUser, error) {
	su, err := store.GetSCIMUser(ctx, q, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, scim.ErrNotFound
	}
	return su, err
}

func (b *scimBackend) Get(ctx context.Context, id string) (scim.User, error) {
	su, err := lookup(ctx, b.s.store.DB, id)
	if err != nil {
		return scim.User{}, err
	}
	return userOf(su)
}

func userOf(su *store.SCIMUser) (scim.User, error) {
	var u scim.User
	if err := json.Unmarshal(su.Resource, &u); err != nil {
		return scim.User{}, fmt.Errorf("scim user %s: %w", su.ID, err)
	}
	return u, nil
}

func (b *scimBackend) List(ctx context.Context) ([]scim.User, error) {
	all, err := store.SCIMUsers(ctx, b.s.store.DB)
	if err != nil {
		return nil, err
	}
	out := make([]scim.User, 0, len(all))
	for _, su := range all {
		u, err := userOf(su)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (b *scimBackend) Replace(ctx context.Context, id string, u scim.User) (scim.User, error) {
	var acc *Accepted
	var out scim.User
	err := b.s.store.Tx(ctx, func(tx *sql.Tx) error {
		old, err := lookup(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Version != "" && u.Version != strconv.Itoa(old.Version) {
			return fmt.Errorf("%w: the user changed since it was read (version %d)", scim.ErrConflict, old.Version)
		}
		prev, err := userOf(old)
		if err != nil {
			return err
		}
		u.ID, u.Created, u.LastModified = id, prev.Created, b.s.now().UTC()
		version := old.Version + 1
		u.Version = strconv.Itoa(version)
		emp := old.EmployeeID
		if u.EmployeeNumber != "" && u.EmployeeNumber != emp {
			// Another employee number (given late, or corrected): the hire
			// so far is cancelled (what it did is reported, not undone) and
			// the one the number names is made.
			if emp, err = employeeOf(u); err != nil {
				return err
			}
			if err := claimed(ctx, tx, emp, id); err != nil {
				return err
			}
			if old.Active {
				prev.Version = u.Version + "-renumbered"
				if _, err := b.s.acceptTx(ctx, tx, b.intake(Cancel, prev, old.EmployeeID)); err != nil {
					return err
				}
				old.Active = false
			}
		}
		if err := b.put(ctx, tx, u, emp, version); err != nil {
			return err
		}
		out = u
		switch {
		case old.Active && !u.Active:
			var started bool
			if started, err = handedOver(ctx, tx, emp); err != nil {
				return err
			}
			if !started {
				// Not yet handed over: the hire is called off.
				acc, err = b.s.acceptTx(ctx, tx, b.intake(Cancel, u, emp))
				break
			}
			// Deactivation of someone at work is a leave, now: the
			// identity provider deprovisions on the day.
			in := b.intake(Leave, u, emp)
			in.Leave = &Departure{At: u.LastModified}
			acc, err = b.s.acceptTx(ctx, tx, in)
		case !old.Active && u.Active:
			acc, err = b.s.acceptTx(ctx, tx, b.intake(Hire, u, emp))
		case u.Active:
			acc, err = b.s.acceptTx(ctx, tx, b.intake(Change, u, emp))
		}
		return err
	})
	if err != nil {
		return scim.User{}, err
	}
	b.counted(acc)
	return out, nil
}

// handedOver says whether a person is at work as far as onboard serve
// knows: an activation of their hire finished, or they are no hire of its own
// (set up before it ran, or by hand).
func handedOver(ctx context.Context, tx *sql.Tx, emp string) (bool, error) {
	_, err := store.GetHire(ctx, tx, emp)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	runs, err := store.RunsOf(ctx, tx, emp)
	if err != nil {
		return false, err
	}
	for _, r := range runs {
		// Any generation's: a change re-plans a hire long at work.
		if r.Phase == PhaseActivation && r.State == store.RunOK {
			return true, nil
		}
	}
	return false, nil
}

func (b *scimBackend) Delete(ctx context.Context, id string) error {
	var acc *Accepted
	err := b.s.store.Tx(ctx, func(tx *sql.Tx) error {
		old, err := lookup(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.Active {
			u, err := userOf(old)
			if err != nil {
				return err
			}
			u.Version = strconv.Itoa(old.Version) + "-deleted"
			if acc, err = b.s.acceptTx(ctx, tx, b.intake(Cancel, u, old.EmployeeID)); err != nil {
				return err
			}
		}
		return store.DeleteSCIMUser(ctx, tx, id)
	})
	if err == nil {
		b.counted(acc)
	}
	return err
}
