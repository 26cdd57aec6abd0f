package lab

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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

// A cluster whose test process died before its cleanup is stopped and
// removed by the next PostgresForTest.
func TestPostgresOrphansAreReaped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	dir, err := os.MkdirTemp("", "onboard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	orphan, err := StartPostgres(context.Background(), filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	// An owner that has exited: a child that ran and was reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	PostgresForTest(t)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		orphan.Stop(context.Background())
		t.Fatalf("the orphan's folder is still there: %v", err)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", orphan.Port), time.Second); err == nil {
		c.Close()
		t.Fatal("the orphan cluster still listens")
	}
}
