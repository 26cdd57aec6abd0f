package journal

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procIdentity returns the boot id and the start time of a process, which
// together with its pid name it uniquely on Linux; empty elsewhere.
func procIdentity(pid int) (boot string, start uint64) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", 0
	}
	return strings.TrimSpace(string(b)), procStart(pid)
}

// procStart reads field 22 of /proc/PID/stat, the start time in clock ticks
// after boot; 0 when the process does not exist.
func procStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces and parentheses: count from
	// the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // fields 3..22
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// alive reports whether the process that recorded p still runs. A run
// recorded on another machine, or before a reboot, is not alive.
func alive(p Process) bool {
	if p.PID <= 0 {
		return false
	}
	if h, _ := os.Hostname(); h != p.Machine {
		return false
	}
	if p.Boot != "" {
		boot, _ := procIdentity(p.PID)
		if boot != p.Boot {
			return false
		}
		return procStart(p.PID) == p.Start
	}
	// No /proc: a signal 0 tells whether the pid exists (maybe reused).
	proc, err := os.FindProcess(p.PID)
	if err != nil {
		return false
	}
	err = proc.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission)
}
