// Command onboard-lab starts, shows and stops the onboard test lab: Debian
// workstations, IPP printers, an apt repository and, on request, an OpenLDAP
// server and a Samba Active Directory domain controller, in network
// namespaces on this machine (see package lab). It needs root.
//
//	onboard-lab up [-name lab] [-n 2] [-subnet 0] [-dir DIR] [-cache DIR] [-ldap] [-ad] [-directories] [-windows 0]
//	onboard-lab status [-name lab] [-dir DIR]
//	onboard-lab down [-name lab] [-dir DIR]
//	onboard-lab bench [-quick] [-trivial 20,50] [-provision 20] [-runs 3] [-scale N] [-out FILE]
//	onboard-lab smtp [-dir DIR]
//
// The lab's servers keep running after "up" returns; "down" removes them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"onboard/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "onboard-lab:", err)
		os.Exit(1)
	}
}

const usage = `usage: onboard-lab up|status|down|bench|smtp [flags]
  up      start a lab (stopping any lab of the same name first)
  status  show a running lab and whether its servers answer
  down    stop a lab and remove everything it made (the base image cache stays)
  bench   onboard side by side with Ansible and a bare SSH loop, in a lab of its own
  smtp    a mail server (aiosmtpd) on 127.0.0.1 for notifications, until Ctrl-C
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	verb := args[0]
	if verb == "bench" {
		return bench(ctx, args[1:], stdout, stderr)
	}
	if verb == "smtp" {
		return smtpServe(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("onboard-lab "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg lab.Config
	fs.StringVar(&cfg.Name, "name", "lab", "lab name, [a-z0-9]{1,6}")
	fs.StringVar(&cfg.Dir, "dir", "", "state folder (default /var/tmp/onboard-lab/NAME)")
	if verb == "up" {
		fs.IntVar(&cfg.Workstations, "n", 2, "number of workstations")
		fs.IntVar(&cfg.Subnet, "subnet", 0, "third octet N of the lab network 10.213.N.0/24")
		fs.StringVar(&cfg.CacheDir, "cache", "", "base image cache (default /var/cache/onboard-lab)")
		fs.BoolVar(&cfg.OpenLDAP, "ldap", false, "also start an OpenLDAP server (corp-ldap)")
		fs.BoolVar(&cfg.ActiveDirectory, "ad", false, "also start a Samba Active Directory domain controller (corp-ad)")
		fs.IntVar(&cfg.Windows, "windows", 0, "number of simulated Windows workstations (win1..winN, WinRM over HTTPS)")
	}
	var both bool
	if verb == "up" {
		fs.BoolVar(&both, "directories", false, "both -ldap and -ad")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if both {
		cfg.OpenLDAP, cfg.ActiveDirectory = true, true
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", verb, fs.Args())
	}
	switch verb {
	case "up":
		start := time.Now()
		l, err := lab.Start(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab %s up in %s\n", l.Name(), time.Since(start).Round(10*time.Millisecond))
		describe(stdout, l, nil)
		return nil
	case "status":
		l, err := lab.Open(cfg)
		if err != nil {
			return err
		}
		describe(stdout, l, probe)
		return nil
	case "down":
		start := time.Now()
		if err := lab.Teardown(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab %s down in %s\n", cfg.Name, time.Since(start).Round(10*time.Millisecond))
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", verb)
	}
}

// probe says whether a TCP address answers.
func probe(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "down"
	}
	c.Close()
	return "up"
}

// describe prints the lab; with check, each server's state too.
func describe(w io.Writer, l *lab.Lab, check func(addr string) string) {
	state := func(addr string) string {
		if check == nil {
			return ""
		}
		return "\t" + check(addr)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "WORKSTATION\tADDRESS\tUSER%s\n", heading(check, "SSHD"))
	for _, ws := range l.Workstations {
		addr := net.JoinHostPort(ws.Addr, strconv.Itoa(ws.Port))
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", ws.Name, addr, l.User, state(addr))
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "PRINTER\tURI\tJOB LOG%s\n", heading(check, "IPP"))
	for _, p := range l.Printers {
		host := ""
		if u, err := url.Parse(p.URI); err == nil {
			host = u.Host
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", p.Name, p.URI, p.JobLog, state(host))
	}
	if len(l.Directories) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "DIRECTORY\tURL\tBIND DN\tPASSWORD FILE%s\n", heading(check, "LDAPS"))
		for _, d := range l.Directories {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", d.Name, d.URL, d.BindDN, d.BindPasswordFile, state(net.JoinHostPort(d.Addr, "636")))
		}
	}
	if len(l.WindowsHosts) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "WINDOWS\tADDRESS\tUSER\tPASSWORD FILE%s\n", heading(check, "WINRM"))
		for _, h := range l.WindowsHosts {
			addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", h.Name, addr, l.WindowsUser, l.WindowsPasswordFile, state(addr))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "apt repository:  %s\n", l.RepoURL)
	fmt.Fprintf(w, "dns:             %s (domain %s; the workstations' resolver)\n", l.DNSServer(), lab.Domain)
	fmt.Fprintf(w, "intranet:        %s\n", lab.IntranetURL(lab.IntranetPath))
	fmt.Fprintf(w, "lab CA:          %s\n", l.CACertFile())
	fmt.Fprintf(w, "inventory:       %s\n", l.InventoryFile)
	fmt.Fprintf(w, "key:             %s\n", l.KeyFile)
	fmt.Fprintf(w, "known_hosts:     %s\n", l.KnownHostsFile)
	for _, d := range l.Directories {
		if d.Kind == lab.KindActiveDirectory {
			fmt.Fprintf(w, "try:             LDAPTLS_CACERT=%s ldapsearch -x -H %s -D %s -y %s -b %s '(sAMAccountName=ghopper)'\n",
				d.CACertFile, d.URL, d.BindDN, d.BindPasswordFile, d.BaseDN)
		}
	}
	if len(l.Workstations) > 0 {
		fmt.Fprintf(w, "try:             ssh -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes %s@%s id\n",
			l.KeyFile, l.KnownHostsFile, l.User, l.Workstations[0].Addr)
	}
}

// heading is the extra column heading shown when servers are checked.
func heading(check func(string) string, name string) string {
	if check == nil {
		return ""
	}
	return "\t" + name
}
