package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTaken is returned when a SCIM user's userName belongs to another.
var ErrTaken = errors.New("taken")

// SCIMUser is a provisioned SCIM user: the resource as onboard keeps it,
// and the hire it is.
type SCIMUser struct {
	ID         string
	UserName   string
	ExternalID string
	EmployeeID string
	Active     bool
	Resource   json.RawMessage
	Version    int
	Created    time.Time
	Updated    time.Time
}

const scimCols = `id, user_name, external_id, employee_id, active, resource, version, created_at, updated_at`

func scanSCIM(row interface{ Scan(...any) error }) (*SCIMUser, error) {
	var u SCIMUser
	var active int
	var res string
	var created, updated int64
	if err := row.Scan(&u.ID, &u.UserName, &u.ExternalID, &u.EmployeeID, &active, &res, &u.Version, &created, &updated); err != nil {
		return nil, err
	}
	u.Active, u.Resource, u.Created, u.Updated = active == 1, json.RawMessage(res), fromMS(created), fromMS(updated)
	return &u, nil
}

// GetSCIMUser reads one user.
func GetSCIMUser(ctx context.Context, q Querier, id string) (*SCIMUser, error) {
	u, err := scanSCIM(q.QueryRowContext(ctx, `SELECT `+scimCols+` FROM onboard_scim_users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("scim user %s: %w", id, ErrNotFound)
	}
	return u, err
}

// SCIMUsers lists every user, oldest first.
func SCIMUsers(ctx context.Context, q Querier) ([]*SCIMUser, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+scimCols+` FROM onboard_scim_users ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*SCIMUser
	for rows.Next() {
		u, err := scanSCIM(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// PutSCIMUser inserts (Version 1) or updates a user; userName is unique
// in any case (SCIM's userName is not case-exact).
func PutSCIMUser(ctx context.Context, q Querier, u *SCIMUser) error {
	var other string
	err := q.QueryRowContext(ctx, `SELECT id FROM onboard_scim_users WHERE user_name = $1 AND id <> $2`,
		strings.ToLower(u.UserName), u.ID).Scan(&other)
	if err == nil {
		return fmt.Errorf("userName %q: %w", u.UserName, ErrTaken)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if u.ExternalID != "" {
		err := q.QueryRowContext(ctx, `SELECT id FROM onboard_scim_users WHERE external_id = $1 AND id <> $2`, u.ExternalID, u.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("externalId %q: %w", u.ExternalID, ErrTaken)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	active := 0
	if u.Active {
		active = 1
	}
	_, err = q.ExecContext(ctx, `INSERT INTO onboard_scim_users (`+scimCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET user_name = excluded.user_name, external_id = excluded.external_id,
			employee_id = excluded.employee_id, active = excluded.active, resource = excluded.resource,
			version = excluded.version, updated_at = excluded.updated_at`,
		u.ID, strings.ToLower(u.UserName), u.ExternalID, u.EmployeeID, active, string(u.Resource), u.Version, ms(u.Created), ms(u.Updated))
	if err != nil {
		return fmt.Errorf("store scim user %s: %w", u.ID, err)
	}
	return nil
}

// DeleteSCIMUser removes a user.
func DeleteSCIMUser(ctx context.Context, q Querier, id string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM onboard_scim_users WHERE id = $1`, id)
	return err
}
