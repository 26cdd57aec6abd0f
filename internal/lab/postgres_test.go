package lab

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestPostgresStartsAndServes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	pg := PostgresForTest(t)
	db, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(context.Background(), "select current_user || '@' || current_database()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "onboard@onboard" {
		t.Fatalf("connected as %q", v)
	}
}
