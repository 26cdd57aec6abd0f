package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"onboard/internal/lab"
)

// smtpServe runs the lab's mail server (Debian's aiosmtpd) in the
// foreground until interrupted, for trying notifications by hand: point
// an inventory's email channel at it and read the Maildir it prints.
// Stopping removes its folder, mail included.
func smtpServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("onboard-lab smtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "/var/tmp/onboard-lab/smtp", "state folder: certificates, password, Maildir (removed at the end)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("smtp: unexpected arguments %q", fs.Args())
	}
	s, err := lab.StartSMTP(ctx, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `aiosmtpd on %[1]s: STARTTLS on port %[2]d, implicit TLS on port %[3]d
CA certificate: %[4]s (the server is %[1]s and %[5]s)
AUTH as %[6]s, password in %[7]s
mail is delivered to %[8]s
an inventory channel:
  kind: email
  host: %[1]s
  port: %[2]d
  ca_cert: %[4]s
  username: %[6]s
  password: file:%[7]s
  from: onboard@corp.example.test
Ctrl-C stops it and removes %[9]s
`, s.Addr, s.Port, s.TLSPort, s.CACertFile, s.ServerName, s.User, s.PasswordFile, s.Maildir, *dir)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.Stop(sctx)
}
