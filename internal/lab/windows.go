package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Simulated Windows workstations (Config.Windows): win1, win2, ... at
// 10.213.N.31 and up, each a winsim host behind a wsman server serving WinRM
// over HTTPS on 5986 (certificate of the lab CA naming its address, NTLM,
// user WindowsUser with a generated password in WindowsPasswordFile).
//
// Each runs as a daemon, the winhost helper (internal/lab/winhost), in a
// host of its own (network, mount, UTS and PID namespaces, like the
// directory servers), so that it outlives the process that started the lab
// (onboard-lab up exits) and Teardown removes it with the namespace. The
// helper is not a hidden subcommand of the caller's binary, because from a
// Go test that binary is the test binary: Start builds it with the Go
// toolchain from the module's sources (`go build ./internal/lab/winhost`)
// into Config.CacheDir/winhost-HASH, HASH covering the sources it is built
// from, so later starts reuse it. It therefore needs `go` and the module's
// source tree (found from this file's compile-time path, or the working
// directory's module).
//
// What a Windows host offers (see windowsPackages): two MSIs (Acme Office,
// whose installer exits 3010, and Acme CRM), the winget id Acme.Chat, the
// Chocolatey package acme-notes, and the printer share \\print01\Office-2F
// with the "Microsoft IPP Class Driver". With Config.ActiveDirectory its
// domain is corp.example.test, joined as the DC's Administrator; at the join's
// reboot the daemon sets the computer object's dNSHostName over LDAPS.

const (
	firstWin        = 31 // 10.213.N.31: win1
	winDir          = "windows"
	winPWFile       = "windows-admin.pw"
	winUser         = "onboard-admin"
	winPort         = 5986
	winPrinterShare = `\\print01\Office-2F`
	winPrinterDrv   = "Microsoft IPP Class Driver"
)

// WindowsHost is one running simulated Windows workstation.
type WindowsHost struct {
	Name string // "win1"
	Addr string // "10.213.N.31"
	Port int    // 5986 (HTTPS)
}

// windowsSoftware is what a Windows host can install, with the inventory's
// software entries for it.
var windowsSoftware = []struct {
	entry, manager, key, name, version, extra string
	exit                                      int
}{
	{"office-win", "msi", "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}", "Acme Office", "7.3.0", `source: '\\files\apps\AcmeOffice.msi'`, 3010},
	{"crm-win", "msi", "{11111111-2222-3333-4444-555555555555}", "Acme CRM", "5.2.0", "source: 'https://files.corp.example.test/AcmeCRM.msi'", 0},
	{"chat-win", "winget", "Acme.Chat", "Acme Chat", "3.1.0", "", 0},
	{"notes-win", "choco", "acme-notes", "acme-notes", "2.0.1", "", 0},
}

// winhostConfig is the JSON configuration of the winhost daemon (the same
// fields as its main.Config).
type winhostConfig struct {
	ComputerName     string
	Listen           string
	CertFile         string
	KeyFile          string
	User             string
	PasswordFile     string
	Packages         map[string]winPackage
	Printers         map[string]string
	Domain           string `json:",omitempty"`
	JoinUser         string `json:",omitempty"`
	JoinPasswordFile string `json:",omitempty"`
	LDAPURL          string `json:",omitempty"`
	BaseDN           string `json:",omitempty"`
	CACertFile       string `json:",omitempty"`
	DNSServer        string
	DNSSuffix        string
	RootCAFile       string
}

type winPackage struct {
	Name     string
	Version  string
	ExitCode int
}

// windowsHosts is the component that starts the Windows hosts.
type windowsHosts struct{}

func (windowsHosts) name() string { return "windows hosts" }

func (windowsHosts) start(ctx context.Context, l *Lab) error {
	if l.cfg.Windows == 0 {
		return nil
	}
	bin, err := winhostBinary(ctx, l.cfg.CacheDir)
	if err != nil {
		return err
	}
	pw := newPassword()
	if err := writePassword(l.WindowsPasswordFile, pw); err != nil {
		return err
	}
	for _, h := range l.net.windows {
		dir := filepath.Join(l.cfg.Dir, winDir, h.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		cert, key, err := l.issueCert(ctx, h.name, h.addr, h.dnsName)
		if err != nil {
			return err
		}
		c := winhostConfig{
			ComputerName: strings.ToUpper(h.name),
			Listen:       net.JoinHostPort(h.addr, strconv.Itoa(winPort)),
			CertFile:     cert, KeyFile: key,
			User: winUser, PasswordFile: l.WindowsPasswordFile,
			Packages: map[string]winPackage{},
			Printers: map[string]string{winPrinterShare: winPrinterDrv},
			// The lab's network as a domain member sees it: its DNS
			// server and suffix, its CA trusted.
			DNSServer: l.DNSServer(), DNSSuffix: Domain, RootCAFile: l.CACertFile(),
		}
		for _, s := range windowsSoftware {
			c.Packages[s.key] = winPackage{Name: s.name, Version: s.version, ExitCode: s.exit}
		}
		if d, ok := l.Directory(ADName); ok {
			c.Domain, c.JoinUser, c.JoinPasswordFile = d.Domain, "Administrator@"+d.Domain, d.BindPasswordFile
			c.LDAPURL, c.BaseDN, c.CACertFile = d.URL, d.BaseDN, d.CACertFile
		}
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, "winhost.json"), b, 0o600); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, "bin"), []byte(bin), 0o644); err != nil {
			return err
		}
		if err := l.startDirHost(ctx, h, dir); err != nil {
			return err
		}
		if err := l.startWinhost(ctx, h); err != nil {
			return err
		}
		l.WindowsHosts = append(l.WindowsHosts, WindowsHost{Name: h.name, Addr: h.addr, Port: winPort})
	}
	return nil
}

// startWinhost starts the daemon in h (already running) and waits for its port.
func (l *Lab) startWinhost(ctx context.Context, h dirHost) error {
	dir := filepath.Join(l.cfg.Dir, winDir, h.name)
	bin, err := os.ReadFile(filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	script := fmt.Sprintf("setsid %s %s </dev/null >>%s 2>&1 &",
		shq(string(bin)), shq(filepath.Join(dir, "winhost.json")), shq(filepath.Join(dir, "winhost.log")))
	if _, _, err := l.execIn(ctx, h.netns, script); err != nil {
		return fmt.Errorf("start %s: %w", h.name, err)
	}
	if err := waitTCP(ctx, net.JoinHostPort(h.addr, strconv.Itoa(winPort)), 15*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "winhost.log"))
		return fmt.Errorf("%s: %w: winhost.log: %s", h.name, err, tail(string(log), 1500))
	}
	return nil
}

func (l *Lab) winHost(name string) (dirHost, error) {
	for _, h := range l.net.windows {
		if h.name == name {
			return h, nil
		}
	}
	return dirHost{}, fmt.Errorf("lab %s: no Windows host %q", l.cfg.Name, name)
}

// StopWindows kills the named Windows host's daemon (the machine is off:
// connections are refused) and waits until its port refuses connections.
// Its simulated state is lost: StartWindows boots a fresh machine.
func (l *Lab) StopWindows(ctx context.Context, name string) error {
	h, err := l.winHost(name)
	if err != nil {
		return err
	}
	if err := l.killServer(ctx, h.netns); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	addr := net.JoinHostPort(h.addr, strconv.Itoa(winPort))
	if !waitUntil(ctx, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		return fmt.Errorf("stop %s: %s still accepts connections", name, addr)
	}
	return nil
}

// StartWindows starts the named Windows host's daemon again if it is not
// running, and returns once its WinRM port accepts connections.
func (l *Lab) StartWindows(ctx context.Context, name string) error {
	h, err := l.winHost(name)
	if err != nil {
		return err
	}
	pids, err := l.serverPIDs(h.netns)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if len(pids) == 0 {
		return l.startWinhost(ctx, h)
	}
	return waitTCP(ctx, net.JoinHostPort(h.addr, strconv.Itoa(winPort)), 15*time.Second)
}

// winhostSources are the module folders the winhost binary is built from
// (its own and the module packages it imports), hashed with go.mod and
// go.sum to name the cached binary.
var winhostSources = []string{"internal/lab/winhost", "internal/lab/winsim", "internal/lab/wsman", "internal/powershell"}

// winhostBinary returns the path of the winhost daemon built from the
// current sources, building it into cacheDir if needed.
func winhostBinary(ctx context.Context, cacheDir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	sum, err := hashSources(root)
	if err != nil {
		return "", fmt.Errorf("winhost sources: %w", err)
	}
	bin := filepath.Join(cacheDir, "winhost-"+sum[:16])
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(cacheDir, ".winhost-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	goBin := resolve("go")
	if _, err := exec.LookPath(goBin); err != nil {
		if _, serr := os.Stat("/usr/local/go/bin/go"); serr == nil {
			goBin = "/usr/local/go/bin/go"
		}
	}
	c := exec.CommandContext(ctx, goBin, "build", "-o", tmp, "./internal/lab/winhost")
	c.Dir = root
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Windows host daemon (go build ./internal/lab/winhost in %s): %w: %s", root, err, tail(string(out), 2000))
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// moduleRoot finds the onboard module's source tree: from this file's path
// at build time, else from `go env GOMOD` in the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	isRoot := func(dir string) bool {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module onboard\n") &&
			fileExists(filepath.Join(dir, "internal", "lab", "winhost", "main.go"))
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(filepath.Dir(filepath.Dir(file))); isRoot(dir) {
			return dir, nil
		}
	}
	out, err := exec.CommandContext(ctx, resolve("go"), "env", "GOMOD").Output()
	if err == nil {
		if dir := filepath.Dir(strings.TrimSpace(string(out))); isRoot(dir) {
			return dir, nil
		}
	}
	return "", errors.New("windows hosts: the onboard module's sources (needed to build internal/lab/winhost) are not found: run from the source tree")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// hashSources hashes go.mod, go.sum and the non-test Go files of winhostSources.
func hashSources(root string) (string, error) {
	files := []string{"go.mod", "go.sum"}
	for _, d := range winhostSources {
		ents, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				files = append(files, filepath.Join(d, n))
			}
		}
	}
	sort.Strings(files)
	h := sha256.New()
	h.Write([]byte(runtime.Version() + "\n"))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// windowsInventory renders the Windows hosts, their printer and software.
func (l *Lab) windowsInventory(hosts, printers, software *strings.Builder) {
	for _, w := range l.WindowsHosts {
		fmt.Fprintf(hosts, "  %s:\n    address: %s\n    port: %d\n    os: windows\n    transport: winrm\n", w.Name, w.Addr, w.Port)
		fmt.Fprintf(hosts, "    user: %s\n    credential: %s\n    auth: ntlm\n    ca_cert: %s\n",
			yamlScalar(winUser), yamlScalar("file:"+l.WindowsPasswordFile), yamlScalar(l.CACertFile()))
	}
	uri := ""
	for _, p := range l.Printers {
		if strings.EqualFold(p.Name, "Office-2F") || uri == "" {
			uri = p.URI
		}
	}
	if uri == "" {
		uri = "ipp://print01/ipp/print"
	}
	fmt.Fprintf(printers, "  office-2f-win:\n    uri: %s\n    connection: %s\n    driver: %s\n",
		yamlScalar(uri), yamlQuoted(winPrinterShare), yamlQuoted(winPrinterDrv))
	for _, s := range windowsSoftware {
		fmt.Fprintf(software, "  %s:\n    windows:\n      manager: %s\n", s.entry, s.manager)
		if s.manager == "msi" {
			fmt.Fprintf(software, "      %s\n      product_code: %s\n", s.extra, yamlQuoted(s.key))
		} else {
			fmt.Fprintf(software, "      package: %s\n", yamlScalar(s.key))
		}
		fmt.Fprintf(software, "      version: %s\n", yamlQuoted(s.version))
	}
}
