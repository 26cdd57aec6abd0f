package compare

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"onboard/internal/lab"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTick = 100

// HostCPU sums the CPU time of the processes in a set of network
// namespaces (the workstations): each one's own time and that of the
// children it reaped. The workstations' sshd listeners outlive a run and
// reap its sessions and shells, so a difference of two readings is what the
// hosts spent in between.
type HostCPU struct {
	inodes map[uint64]bool
}

// NewHostCPU watches the named network namespaces (names under /run/netns).
func NewHostCPU(netns []string) (*HostCPU, error) {
	h := &HostCPU{inodes: map[uint64]bool{}}
	for _, n := range netns {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join("/run/netns", n), &st); err != nil {
			return nil, fmt.Errorf("host CPU: namespace %s: %w", n, err)
		}
		h.inodes[st.Ino] = true
	}
	return h, nil
}

// Read returns the CPU time spent so far by the namespaces' processes.
func (h *HostCPU) Read() (time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("host CPU: %w", err)
	}
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		link, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net"))
		if err != nil {
			continue // gone, or a kernel thread
		}
		ino, ok := lab.ParseNSLink(link)
		if !ok || !h.inodes[ino] {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		t, err := StatTicks(string(stat))
		if err != nil {
			return 0, err
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// StatTicks returns utime+stime+cutime+cstime of a /proc/PID/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func StatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("host CPU: malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return 0, fmt.Errorf("host CPU: short stat %q", stat)
	}
	var sum int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("host CPU: stat field %q: %w", s, err)
		}
		sum += n
	}
	return sum, nil
}

// selfUsage is this process's CPU time (user+sys) so far.
func selfUsage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// GroupPSS returns the summed proportional set size, in KiB, of every
// process whose process group is pgid (from /proc/PID/smaps_rollup).
func GroupPSS(pgid int) int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var sum int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if g, err := statField(string(stat), 5); err != nil || g != int64(pgid) {
			continue
		}
		rollup, err := os.ReadFile(filepath.Join("/proc", e.Name(), "smaps_rollup"))
		if err != nil {
			continue
		}
		sum += PSSKB(string(rollup))
	}
	return sum
}

// statField returns numeric field n (1-based, n > 2) of a /proc/PID/stat line.
func statField(stat string, n int) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < n-2 {
		return 0, fmt.Errorf("short stat")
	}
	return strconv.ParseInt(f[n-3], 10, 64)
}

// PSSKB reads the "Pss:" line of a smaps_rollup file, in KiB.
func PSSKB(rollup string) int64 {
	for _, line := range strings.Split(rollup, "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
