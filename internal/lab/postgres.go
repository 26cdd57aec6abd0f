package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a private PostgreSQL cluster (Debian's server binaries) on a
// loopback port, owned by one test or one `onboard serve` demo: initdb in
// its own folder, trust authentication for its one role, no fsync (test
// data). It is not part of a Lab: serve's tests need a database, not
// workstations.
type Postgres struct {
	// DSN connects as the cluster's superuser to the database "onboard".
	DSN  string
	Dir  string
	Port int
	bin  string
}

// postgresBin finds the newest installed server's binaries.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", fmt.Errorf("%w: PostgreSQL's server is not installed (apt-get install postgresql; make setup does it)", ErrPrerequisite)
	}
	best, bestV := "", -1
	for _, d := range dirs {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(d))))
		if v > bestV {
			best, bestV = filepath.Dir(d), v
		}
	}
	return best, nil
}

// StartPostgres initialises and starts a cluster in dir (created; it must
// not hold another cluster's files), listening on 127.0.0.1 only. The
// server refuses to run as root, so the cluster runs as the postgres user.
func StartPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: no postgres user (install the postgresql package)", ErrPrerequisite)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The postgres user must reach the folder: every parent needs search
	// permission for others (t.TempDir's are 0755).
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("postgres folder %s: %w", dir, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Dir: dir, Port: port, bin: bin,
		DSN: fmt.Sprintf("postgres://onboard@127.0.0.1:%d/onboard?sslmode=disable", port)}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
		cmd.SysProcAttr = asUser(uint32(uid), uint32(gid))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("postgres %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-A", "trust", "-U", "onboard", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir, port)
	if err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return nil, err
	}
	if err := run("createdb", "-h", dir, "-p", strconv.Itoa(port), "-U", "onboard", "onboard"); err != nil {
		pg.Stop(context.Background())
		return nil, err
	}
	return pg, nil
}

// Stop shuts the cluster down (fast: sessions are ended) and removes its
// files.
func (pg *Postgres) Stop(ctx context.Context) error {
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.Dir, "data"), "-m", "fast", "-w", "stop")
	cmd.SysProcAttr = asUser(uint32(uid), uint32(gid))
	out, err := cmd.CombinedOutput()
	var errs []error
	if err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("postgres stop: %w: %s", err, strings.TrimSpace(string(out))))
	}
	if err := os.RemoveAll(pg.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PostgresForTest starts a cluster for t and stops it when t ends.
func PostgresForTest(t testing.TB) *Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reapPostgres(ctx)
	dir, err := os.MkdirTemp("", "onboard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// Who owns the cluster: a test process killed before its cleanup ran
	// leaves it running, and the next PostgresForTest stops it.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pg.Stop(ctx); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
		os.RemoveAll(dir)
	})
	return pg
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// asUser runs a command as uid:gid in its own process group, so a test's
// interrupt does not reach the server's children.
func asUser(uid, gid uint32) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: uid, Gid: gid}}
}

// reapPostgres stops and removes the clusters of test processes that died
// without cleaning up (SIGKILL, a timeout's panic): nothing is left behind
// for long.
func reapPostgres(ctx context.Context) {
	owners, _ := filepath.Glob(filepath.Join(os.TempDir(), "onboard-pg-*", "owner.pid"))
	for _, f := range owners {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue // unreadable, or its owner still runs
		}
		bin, err := postgresBin()
		if err != nil {
			return
		}
		dir := filepath.Dir(f)
		pg := &Postgres{Dir: filepath.Join(dir, "pg"), bin: bin}
		_ = pg.Stop(ctx)
		_ = os.RemoveAll(dir)
	}
}
