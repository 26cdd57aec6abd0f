package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Printers: one CUPS ippeveprinter per queue in the services host, on ports
// 8631, 8632, ... Each runs a print command (-c) that appends one line per
// job to the printer's job log, which proves a job arrived; without -c,
// ippeveprinter is very slow to finish jobs.

const firstPrinterPort = 8631

// printCommand is the per-printer -c script. ippeveprinter passes the job's
// document as $1 and the job's attributes as IPP_* variables.
const printCommand = `#!/bin/sh
# Written by the onboard lab: log one line per job for printer %s.
printf '%%s job=%%s user=%%s format=%%s file=%%s\n' "$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)" \
	"${IPP_JOB_NAME:-}" "${IPP_JOB_ORIGINATING_USER_NAME:-}" "${CONTENT_TYPE:-}" "${1##*/}" >> %s
`

// printerFormats are the document formats the printers accept.
const printerFormats = "application/pdf,image/pwg-raster,image/urf,image/jpeg,text/plain"

// printers is the component that starts every printer.
type printers struct{}

func (printers) name() string { return "printers" }

func (printers) start(ctx context.Context, l *Lab) error {
	l.Printers = nil
	for i, q := range l.cfg.Printers {
		dir := l.printerDir(q)
		if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o755); err != nil {
			return err
		}
		p := Printer{
			Name:   q,
			URI:    fmt.Sprintf("ipp://%s:%d/ipp/print", l.net.svc.addr, firstPrinterPort+i),
			JobLog: filepath.Join(dir, "jobs.log"),
		}
		if err := os.WriteFile(p.JobLog, nil, 0o644); err != nil {
			return err
		}
		cmd := fmt.Sprintf(printCommand, q, shq(p.JobLog))
		if err := os.WriteFile(filepath.Join(dir, "print.sh"), []byte(cmd), 0o755); err != nil {
			return err
		}
		l.Printers = append(l.Printers, p)
	}
	for _, p := range l.cfg.Printers {
		if err := l.StartPrinter(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) printerDir(queue string) string {
	return filepath.Join(l.cfg.Dir, "printers", queue)
}

func (l *Lab) printerPort(name string) (int, error) {
	for i, q := range l.cfg.Printers {
		if q == name {
			return firstPrinterPort + i, nil
		}
	}
	return 0, fmt.Errorf("lab %s: no printer %q", l.cfg.Name, name)
}

// StartPrinter starts the named printer if it is not running, and waits
// until it accepts connections.
func (l *Lab) StartPrinter(ctx context.Context, name string) error {
	port, err := l.printerPort(name)
	if err != nil {
		return err
	}
	pids, err := l.printerPIDs(port)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		dir := l.printerDir(name)
		script := fmt.Sprintf("setsid ippeveprinter -p %d -d %s -k -c %s -f %s -F image/pwg-raster -M Lab -m %s -l %s %s </dev/null >>%s 2>&1 &",
			port, shq(filepath.Join(dir, "spool")), shq(filepath.Join(dir, "print.sh")), printerFormats,
			shq(strings.ReplaceAll(name, "-", " ")), shq("Lab, "+name), shq(name), shq(filepath.Join(dir, "printer.log")))
		if _, _, err := l.execIn(ctx, l.net.svc.netns, script); err != nil {
			return fmt.Errorf("start printer %s: %w", name, err)
		}
	}
	addr := fmt.Sprintf("%s:%d", l.net.svc.addr, port)
	if err := waitTCP(ctx, addr, 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(l.printerDir(name), "printer.log"))
		return fmt.Errorf("start printer %s: %w: %s", name, err, tail(string(log), 1000))
	}
	// An open port is not yet a printer: a queue made with -m everywhere
	// takes its formats from the printer's attributes, so wait until the
	// printer answers them in full (text/plain among its formats).
	if err := l.waitIPP(ctx, addr, 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(l.printerDir(name), "printer.log"))
		return fmt.Errorf("start printer %s: %w: %s", name, err, tail(string(log), 1000))
	}
	return nil
}

// waitIPP waits until the printer at addr answers Get-Printer-Attributes
// with its document formats (ipptool, from the same package as
// ippeveprinter, run in the services host).
func (l *Lab) waitIPP(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	script := "ipptool -T 2 -tv " + shq("ipp://"+addr+"/ipp/print") + " get-printer-attributes.test"
	for {
		out, _, err := l.execIn(ctx, l.net.svc.netns, script)
		if err == nil && strings.Contains(out, "document-format-supported") && strings.Contains(out, "text/plain") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no printer attributes from %s in %v: %v", addr, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StopPrinter stops the named printer; its port then refuses connections.
// Jobs sent meanwhile stay queued on the workstations.
func (l *Lab) StopPrinter(ctx context.Context, name string) error {
	port, err := l.printerPort(name)
	if err != nil {
		return err
	}
	for sig, deadline := syscall.SIGTERM, time.Now().Add(5*time.Second); ; {
		pids, err := l.printerPIDs(port)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop printer %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// printerPIDs finds the ippeveprinter processes serving port in the
// services host.
func (l *Lab) printerPIDs(port int) ([]int, error) {
	ino, err := nsInode(l.net.svc.netns)
	if err != nil {
		return nil, fmt.Errorf("services host: %w", err)
	}
	ps, err := procsIn(map[uint64]bool{ino: true})
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range ps {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "ippeveprinter" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-p" && args[i+1] == strconv.Itoa(port) {
				out = append(out, p.pid)
			}
		}
	}
	return out, nil
}

// Jobs returns the lines of the named printer's job log, one per job
// received since the lab started.
func (l *Lab) Jobs(name string) ([]string, error) {
	if _, err := l.printerPort(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(l.printerDir(name), "jobs.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out, nil
}
