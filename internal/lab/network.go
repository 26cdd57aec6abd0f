package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The lab's network: a bridge in the root namespace holding 10.213.N.1/24,
// and one network namespace per host joined to it by a veth pair. The
// namespaces have no default route, so lab traffic stays on the bridge.
//
// Names: bridge "obl-NAME", namespaces "obl-NAME-HOST", host-side veths
// "obl-NAME-SHORT" (at most 15 bytes, the kernel's limit). MAC addresses are
// fixed, derived from the subnet and address, so that re-created hosts do not
// meet stale ARP entries.

const (
	netPrefix  = "10.213"
	bridgeHost = 1  // 10.213.N.1: the bridge, in the root namespace
	svcHost    = 2  // 10.213.N.2: services (printers, apt repository)
	dcHost     = 3  // 10.213.N.3: the Samba AD domain controller dc1
	ldapHost   = 4  // 10.213.N.4: the OpenLDAP server
	firstWS    = 11 // 10.213.N.11: ws1
	netnsDir   = "/run/netns"
)

// nsHost is one network namespace of the lab and its link to the bridge.
type nsHost struct {
	name  string // "ws1", "svc"
	netns string // "obl-lab-ws1"
	veth  string // host-side veth in the root namespace, "obl-lab-w1"
	addr  string // "10.213.0.11"
	mac   string // MAC of the host-side veth
	peer  string // MAC of eth0 inside the namespace
}

type netPlan struct {
	lab          string
	bridge       string
	bridgeAddr   string
	bridgeMAC    string
	svc          nsHost
	dc           dirHost // started only with Config.ActiveDirectory
	ldap         dirHost // started only with Config.OpenLDAP
	workstations []nsHost
	windows      []dirHost // win1..winN, see Config.Windows
}

func newNetPlan(cfg Config) netPlan {
	p := netPlan{
		lab:        cfg.Name,
		bridge:     "obl-" + cfg.Name,
		bridgeAddr: hostAddr(cfg.Subnet, bridgeHost),
		bridgeMAC:  labMAC(cfg.Subnet, bridgeHost, 0),
	}
	p.svc = p.host(cfg.Subnet, "svc", "s", svcHost)
	p.dc = dirHost{nsHost: p.host(cfg.Subnet, "dc", "d", dcHost), hostname: adHostname, dnsName: adHostname + "." + adDomain}
	p.ldap = dirHost{nsHost: p.host(cfg.Subnet, "ldap", "l", ldapHost), hostname: "ldap", dnsName: "ldap." + adDomain}
	for i := 1; i <= cfg.Workstations; i++ {
		p.workstations = append(p.workstations,
			p.host(cfg.Subnet, fmt.Sprintf("ws%d", i), fmt.Sprintf("w%d", i), firstWS+i-1))
	}
	for i := 1; i <= cfg.Windows; i++ {
		name := fmt.Sprintf("win%d", i)
		p.windows = append(p.windows, dirHost{nsHost: p.host(cfg.Subnet, name, fmt.Sprintf("n%d", i), firstWin+i-1),
			hostname: name, dnsName: name + "." + adDomain})
	}
	return p
}

func (p netPlan) host(subnet int, name, short string, octet int) nsHost {
	return nsHost{
		name:  name,
		netns: "obl-" + p.lab + "-" + name,
		veth:  "obl-" + p.lab + "-" + short,
		addr:  hostAddr(subnet, octet),
		mac:   labMAC(subnet, octet, 0),
		peer:  labMAC(subnet, octet, 1),
	}
}

func hostAddr(subnet, octet int) string { return fmt.Sprintf("%s.%d.%d", netPrefix, subnet, octet) }

// labMAC is a locally administered unicast address: 02:6f:62 ("ob"), the
// subnet, the host's last octet and the side (0 root namespace, 1 inside).
func labMAC(subnet, octet, side int) string {
	return fmt.Sprintf("02:6f:62:%02x:%02x:%02x", subnet, octet, side)
}

// network is the component that makes the bridge.
type network struct{}

func (network) name() string { return "network" }

func (network) start(ctx context.Context, l *Lab) error {
	p := l.net
	if err := subnetFree(l.cfg.Subnet); err != nil {
		return err
	}
	return runBatch(ctx, "", []string{
		fmt.Sprintf("link add %s address %s type bridge", p.bridge, p.bridgeMAC),
		fmt.Sprintf("addr add %s/24 dev %s", p.bridgeAddr, p.bridge),
		fmt.Sprintf("link set %s up", p.bridge),
	})
}

// subnetFree fails if a link of the root namespace already has an address in
// the lab's /24: most likely another lab running on the same subnet.
func subnetFree(subnet int) error {
	_, lan, _ := net.ParseCIDR(hostAddr(subnet, 0) + "/24")
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && lan.Contains(ipn.IP) {
				return fmt.Errorf("subnet %s is already used by link %s (%s): another lab? give this one another Subnet", lan, i.Name, ipn.IP)
			}
		}
	}
	return nil
}

// join makes h's namespace and links it to the bridge with its address.
func (p netPlan) join(ctx context.Context, h nsHost) error {
	if out, err := command(ctx, "ip", "netns", "add", h.netns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", h.netns, err, strings.TrimSpace(string(out)))
	}
	if err := runBatch(ctx, "", []string{
		fmt.Sprintf("link add %s address %s type veth peer name eth0 address %s netns %s", h.veth, h.mac, h.peer, h.netns),
		fmt.Sprintf("link set %s master %s up", h.veth, p.bridge),
	}); err != nil {
		return err
	}
	return runBatch(ctx, h.netns, []string{
		fmt.Sprintf("addr add %s/24 dev eth0", h.addr),
		"link set eth0 up",
		"link set lo up",
	})
}

// runBatch runs ip commands in one ip process, inside netns if given.
func runBatch(ctx context.Context, netns string, cmds []string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	c := command(ctx, "ip", args...)
	c.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		where := "root namespace"
		if netns != "" {
			where = "namespace " + netns
		}
		return fmt.Errorf("ip in %s: %q: %w: %s", where, cmds, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func netnsExists(name string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, name))
	return err == nil
}

// labNetns lists the lab's namespaces that exist.
func labNetns(lab string) ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "obl-"+lab+"-") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// labLinks lists the lab's links in the root namespace: the bridge and the
// host-side veths.
func labLinks(lab string) ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, i := range ifs {
		if i.Name == "obl-"+lab || strings.HasPrefix(i.Name, "obl-"+lab+"-") {
			out = append(out, i.Name)
		}
	}
	return out, nil
}

// nsInode returns the inode of a named network namespace.
func nsInode(netns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(netnsDir, netns), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// proc is one process as seen from the root PID namespace.
type proc struct {
	pid   int
	netns uint64 // inode of its network namespace
	nspid []int  // its PID in each nested PID namespace, outermost first
}

// procsIn lists the processes whose network namespace is one of inodes.
// Zombies have left their namespaces and are not listed.
func procsIn(inodes map[uint64]bool) ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			continue
		}
		ino, ok := ParseNSLink(link)
		if !ok || !inodes[ino] {
			continue
		}
		out = append(out, proc{pid: pid, netns: ino, nspid: readNSpid(pid)})
	}
	return out, nil
}

// ParseNSLink reads the inode of a network namespace link,
// "net:[4026532281]" (what /proc/PID/ns/net points to).
func ParseNSLink(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "net:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func readNSpid(pid int) []int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "NSpid:")
		if !ok {
			continue
		}
		var ids []int
		for _, f := range strings.Fields(rest) {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil
			}
			ids = append(ids, n)
		}
		return ids
	}
	return nil
}

// killNetns kills every process in the given namespaces and waits until none
// is left. PID namespace inits go first: their death takes their whole PID
// namespace with them.
func killNetns(ctx context.Context, names []string) error {
	inodes := map[uint64]bool{}
	for _, n := range names {
		if ino, err := nsInode(n); err == nil {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ps, err := procsIn(inodes)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var pids []string
			for _, p := range ps {
				pids = append(pids, strconv.Itoa(p.pid))
			}
			return fmt.Errorf("processes still alive in %s: %s", strings.Join(names, ", "), strings.Join(pids, " "))
		}
		for _, p := range ps {
			if len(p.nspid) > 1 && p.nspid[len(p.nspid)-1] == 1 {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		for _, p := range ps {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// teardownNetwork follows the order that avoids "File exists" on the next
// start: kill every process of each namespace, delete the namespaces, delete
// the links, then the bridge.
func teardownNetwork(ctx context.Context, cfg Config) error {
	var errs []error
	names, err := labNetns(cfg.Name)
	if err != nil {
		errs = append(errs, err)
	}
	if err := killNetns(ctx, names); err != nil {
		errs = append(errs, err)
	}
	for _, n := range names {
		if out, err := command(ctx, "ip", "netns", "del", n).CombinedOutput(); err != nil && netnsExists(n) {
			errs = append(errs, fmt.Errorf("ip netns del %s: %w: %s", n, err, strings.TrimSpace(string(out))))
		}
	}
	links, err := labLinks(cfg.Name)
	if err != nil {
		errs = append(errs, err)
	}
	bridge := "obl-" + cfg.Name
	hasBridge := false
	for _, link := range links {
		if link == bridge {
			hasBridge = true
			continue
		}
		delLink(ctx, link, &errs)
	}
	if hasBridge {
		_ = command(ctx, "ip", "neigh", "flush", "dev", bridge).Run()
		delLink(ctx, bridge, &errs)
	}
	return errors.Join(errs...)
}

func delLink(ctx context.Context, link string, errs *[]error) {
	out, err := command(ctx, "ip", "link", "del", link).CombinedOutput()
	// A veth whose peer's namespace just died may already be gone, or be
	// going: ip says "Cannot find device" when it was gone before the call,
	// the kernel "No such device" when it went during it.
	if err != nil && !strings.Contains(string(out), "Cannot find device") && !strings.Contains(string(out), "No such device") {
		*errs = append(*errs, fmt.Errorf("ip link del %s: %w: %s", link, err, strings.TrimSpace(string(out))))
	}
}

// waitTCP waits until addr accepts TCP connections from the root namespace.
func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		dctx, dcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening after %s: %w", addr, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
