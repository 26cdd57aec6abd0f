package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"onboard/internal/secret"
)

// testServer is a real OpenSSH sshd on 127.0.0.1 with its own host keys and
// authorized keys, logging in as root.
type testServer struct {
	t        testing.TB
	dir      string
	port     int
	cmd      *exec.Cmd
	ed25519  xssh.Signer // host keys
	ecdsa    xssh.Signer
	userKey  secret.Value // authorized private key (OpenSSH PEM)
	userPub  xssh.PublicKey
	known    string // known_hosts file with both host keys
	logPath  string
	waitDone chan struct{}
	// pidns runs sshd in a PID namespace of its own, where PIDs are handed
	// out in order: lastPID then tells how many processes a client started.
	pidns bool
}

func newSigner(t testing.TB, priv any) (xssh.Signer, []byte) {
	t.Helper()
	block, err := xssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, pem.EncodeToMemory(block)
}

func newEd25519(t testing.TB) (xssh.Signer, []byte) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newSigner(t, priv)
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// startSSHD starts sshd; it is killed when the test ends.
func startSSHD(t testing.TB) *testServer {
	t.Helper()
	return startSSHDWith(t, false)
}

// startSSHDCounting starts sshd in a PID namespace of its own (see
// testServer.processes).
func startSSHDCounting(t testing.TB) *testServer {
	t.Helper()
	return startSSHDWith(t, true)
}

func startSSHDWith(t testing.TB, pidns bool) *testServer {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatal(err)
	}
	s := &testServer{t: t, dir: t.TempDir(), pidns: pidns}
	var pemEd, pemEC, pemUser []byte
	s.ed25519, pemEd = newEd25519(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.ecdsa, pemEC = newSigner(t, ecKey)
	var user xssh.Signer
	user, pemUser = newEd25519(t)
	s.userKey = secret.New(string(pemUser))
	s.userPub = user.PublicKey()
	writeFile(t, filepath.Join(s.dir, "host_ed25519"), pemEd, 0o600)
	writeFile(t, filepath.Join(s.dir, "host_ecdsa"), pemEC, 0o600)
	writeFile(t, filepath.Join(s.dir, "authorized_keys"), xssh.MarshalAuthorizedKey(s.userPub), 0o600)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.known = filepath.Join(s.dir, "known_hosts")
	writeFile(t, s.known, []byte(
		knownhosts.Line([]string{addr}, s.ecdsa.PublicKey())+"\n"+
			knownhosts.Line([]string{addr}, s.ed25519.PublicKey())+"\n"), 0o600)

	// SetEnv SHLVL=1: Debian's bash sources ~/.bashrc for a command run by
	// sshd only at shell level 1; root's .bashrc here is slow (see lab.md).
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_ed25519
HostKey %[2]s/host_ecdsa
PidFile %[2]s/sshd.pid
AuthorizedKeysFile %[2]s/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 10
MaxStartups 100:30:200
SetEnv SHLVL=1
LogLevel VERBOSE
`, s.port, s.dir)
	writeFile(t, filepath.Join(s.dir, "sshd_config"), []byte(cfg), 0o600)
	s.logPath = filepath.Join(s.dir, "sshd.log")
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start (re)starts sshd on the same port and waits until it accepts.
func (s *testServer) start() {
	t := s.t
	t.Helper()
	args := []string{"/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(s.dir, "sshd_config")}
	if s.pidns {
		args = append([]string{"unshare", "--pid", "--fork", "--kill-child"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	s.waitDone = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.waitDone) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.waitDone:
			log, _ := os.ReadFile(s.logPath)
			t.Fatalf("sshd exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.logPath)
			t.Fatalf("sshd not listening after 5s: %v\n%s", err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastPID is the last PID handed out in sshd's PID namespace (startSSHDCounting),
// read by a shell started there, which takes the next one.
func (s *testServer) lastPID() int {
	s.t.Helper()
	out, err := exec.Command("nsenter", fmt.Sprintf("--pid=/proc/%d/ns/pid_for_children", s.cmd.Process.Pid), "--", "sh", "-c", "echo $$").Output()
	if err != nil {
		s.t.Fatalf("last PID in sshd's namespace: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		s.t.Fatalf("last PID %q: %v", out, err)
	}
	return n
}

// processes returns how many processes f started on the host: the growth
// of the namespace's last PID, less the readings'. It reads until the host
// is idle (two readings in a row, nothing between them): sshd forks a
// connection's post-login process a moment after the client has logged in.
func (s *testServer) processes(f func()) int {
	s.t.Helper()
	settle := func() (last, readings int) {
		last, readings = s.lastPID(), 1
		for deadline := time.Now().Add(10 * time.Second); ; readings++ {
			time.Sleep(50 * time.Millisecond)
			n := s.lastPID()
			if n == last+1 {
				return n, readings + 1
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("processes keep starting on the idle host (PID %d, then %d)", last, n)
			}
			last = n
		}
	}
	before, _ := settle()
	f()
	after, readings := settle()
	return after - before - readings
}

func (s *testServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// sessionPIDs lists the processes below the listening sshd: one sshd per
// connection and the commands they run.
func (s *testServer) sessionPIDs() []int {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	return descendants(s.cmd.Process.Pid)
}

// signalSessions sends sig to every process below the listener.
func (s *testServer) signalSessions(sig syscall.Signal) {
	for _, pid := range s.sessionPIDs() {
		_ = syscall.Kill(pid, sig)
	}
}

// kill kills sshd and every process below it, as a crash would: the
// connections drop at once.
func (s *testServer) kill() {
	if s.cmd == nil {
		return
	}
	pids := s.sessionPIDs()
	_ = s.cmd.Process.Kill()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT) // in case a test stopped it
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.waitDone
	s.cmd = nil
}

func (s *testServer) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// config is a client configuration that logs in as root with the
// authorized key and knows both host keys.
func (s *testServer) config() Config {
	return Config{
		Host:       "ws1",
		Address:    "127.0.0.1",
		Port:       s.port,
		User:       "root",
		PrivateKey: s.userKey,
		KnownHosts: []string{s.known},
		KeepAlive:  time.Second,
	}
}

// descendants lists the processes whose ancestry includes pid, each after
// its parent.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: fields start after ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	children := map[int][]int{}
	for p, pp := range parent {
		children[pp] = append(children[pp], p)
	}
	// Parents before their children: kill (a crash) then takes sshd's
	// connection processes before the shells and commands under them, so
	// a command never outlives its connection even for a moment.
	var out []int
	for queue := append([]int(nil), children[pid]...); len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// processRunning reports whether a process with exactly these arguments runs.
func processRunning(args ...string) bool {
	want := strings.Join(args, "\x00") + "\x00"
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == want {
			return true
		}
	}
	return false
}
