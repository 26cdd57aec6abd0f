package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
	"onboard/internal/secret"
	"onboard/internal/serve"
)

// serveOptions are `onboard serve`'s own flags.
type serveOptions struct {
	listen         string
	database       string
	stateDir       string
	hrKeys         []string
	scimTokens     []string
	apiTokens      []string
	sessionKey     string
	tlsCert        string
	tlsKey         string
	baseURL        string
	workers        int
	globalLimit    int
	directoryLimit int
	lease          time.Duration
	retries        int
	stopTimeout    time.Duration
	hrWindow       time.Duration
	pollEvery      time.Duration
	instance       string
}

func (o *options) serveCommand() *cobra.Command {
	so := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run onboarding from HR: signed webhooks and SCIM in, runs scheduled around each start date on a queue, a status page",
		Long: `onboard serve receives HR events (signed webhooks) and identity-provider
provisioning (SCIM 2.0), turns each new hire into a playbook through the
inventory's hr mapping, schedules its runs around the start date (the account
some working days before, the machine the day before, activation on the
morning), runs them with the journal, and shows where every hire stands on a
status page, a JSON API and Prometheus metrics.

With no --database it keeps its queue in an SQLite file beside the journal
(one instance); with --database postgres://... several instances share the
work. Credentials are references: env:NAME, file:PATH or cmd:COMMAND.
See docs/serve.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.serve(cmd.Context(), so) },
	}
	f := cmd.Flags()
	f.StringVar(&so.listen, "listen", "127.0.0.1:8080", "`ADDRESS` to listen on, host:port")
	f.StringVar(&so.database, "database", "", "the queue: a postgres://... `URL` shares it between instances (default: serve.db beside the journal)")
	f.StringVar(&so.stateDir, "state-dir", "", "folder `DIR` for the generated playbooks (default: serve/ beside the journal)")
	f.StringArrayVar(&so.hrKeys, "hr-key", nil, "the HMAC key HR webhooks are signed with, a reference `REF` (env:, file:, cmd:); repeatable during a rotation")
	f.StringArrayVar(&so.scimTokens, "scim-token", nil, "`NAME=REF`: a bearer token an identity provider's SCIM connection uses (repeatable)")
	f.StringArrayVar(&so.apiTokens, "api-token", nil, "`NAME=REF`: a token for the API and the status page's sign-in (repeatable)")
	f.StringVar(&so.sessionKey, "session-key", "", "reference `REF` to the key that signs page sessions (shared by instances behind one address; default: random per process)")
	f.StringVar(&so.tlsCert, "tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM)")
	f.StringVar(&so.tlsKey, "tls-key", "", "the certificate's key, in `FILE` (PEM)")
	f.StringVar(&so.baseURL, "base-url", "", "the service's public `URL`, for links in answers (default: from each request)")
	f.IntVar(&so.workers, "workers", 4, "work on `N` runs at once in this instance")
	f.IntVar(&so.globalLimit, "global-limit", 0, "work on `N` runs at once in all instances together (0: no bound beyond --workers each)")
	f.IntVar(&so.directoryLimit, "directory-limit", 4, "work on `N` runs at once against one directory server")
	f.DurationVar(&so.lease, "lease", 30*time.Second, "how long (a `DURATION`) a run stays with an instance that stopped answering before another takes it over")
	f.IntVar(&so.retries, "retries", 5, "try a run again `N` times after a transient fault (a host or directory unreachable), with backoff")
	f.DurationVar(&so.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long (a `DURATION`) running runs may go on before they are interrupted (they resume later)")
	f.DurationVar(&so.hrWindow, "hr-window", 5*time.Minute, "how far (a `DURATION`) an HR webhook's timestamp may be from now")
	f.DurationVar(&so.pollEvery, "poll", time.Second, "how often (a `DURATION`) the queue looks for due runs (SQLite; PostgreSQL is notified)")
	f.StringVar(&so.instance, "instance", "", "this instance's `NAME` in leases and the journal (default: host:pid)")
	f.IntVar(&o.retries, "step-retries", 2, "retry a step `N` times after a transient fault")
	f.DurationVar(&o.dialTimeout, "connect-timeout", 10*time.Second, "how long to wait for a host to answer, a `DURATION` such as 10s or 1m")
	o.addLoadFlags(cmd)
	o.addJournalFlags(cmd, false)
	cmd.Flags().CountVarP(&o.verbose, "verbose", "v", "debug logging (serve logs at info level without it)``")
	return cmd
}

// named parses NAME=REF token flags.
func named(ctx context.Context, res *secret.Resolver, flag string, vals []string) ([]serve.Token, error) {
	var out []serve.Token
	for _, v := range vals {
		name, ref, ok := strings.Cut(v, "=")
		if !ok || name == "" || ref == "" {
			return nil, invalid(fmt.Errorf("--%s wants NAME=REF (env:VAR, file:PATH or cmd:COMMAND), got %q", flag, redactFlag(v)))
		}
		val, err := res.Resolve(ctx, secret.Ref(ref))
		if err != nil {
			return nil, invalid(fmt.Errorf("--%s %s: %w", flag, name, err))
		}
		if len(val.Reveal()) < 16 {
			return nil, invalid(fmt.Errorf("--%s %s: the token is shorter than 16 characters", flag, name))
		}
		out = append(out, serve.Token{Name: name, Value: []byte(val.Reveal())})
	}
	return out, nil
}

// redactFlag keeps a mistyped flag's name but not what may be a secret.
func redactFlag(v string) string {
	if i := strings.IndexAny(v, ":="); i >= 0 {
		return v[:i+1] + "…"
	}
	return "…"
}

func (o *options) serve(ctx context.Context, so *serveOptions) error {
	lvl := slog.LevelInfo
	if o.verbose > 0 {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: lvl, ReplaceAttr: secret.ReplaceAttr}))
	res := &secret.Resolver{}
	var hc serve.HTTPConfig
	for _, ref := range so.hrKeys {
		v, err := res.Resolve(ctx, secret.Ref(ref))
		if err != nil {
			return invalid(fmt.Errorf("--hr-key: %w", err))
		}
		if len(v.Reveal()) < 16 {
			return invalid(errors.New("--hr-key: the key is shorter than 16 bytes"))
		}
		hc.HRKeys = append(hc.HRKeys, []byte(v.Reveal()))
	}
	var err error
	if hc.SCIMTokens, err = named(ctx, res, "scim-token", so.scimTokens); err != nil {
		return err
	}
	if hc.APITokens, err = named(ctx, res, "api-token", so.apiTokens); err != nil {
		return err
	}
	if so.sessionKey != "" {
		v, err := res.Resolve(ctx, secret.Ref(so.sessionKey))
		if err != nil {
			return invalid(fmt.Errorf("--session-key: %w", err))
		}
		hc.SessionKey = []byte(v.Reveal())
	}
	if (so.tlsCert == "") != (so.tlsKey == "") {
		return invalid(errors.New("--tls-cert and --tls-key go together"))
	}
	hc.Secure = so.tlsCert != ""
	hc.HRWindow, hc.BaseURL = so.hrWindow, so.baseURL

	jpath := o.journalPath
	if jpath == "" {
		if jpath, err = journal.DefaultPath(); err != nil {
			return invalid(fmt.Errorf("journal: %w (give --journal PATH)", err))
		}
	}
	j, err := journal.Open(ctx, jpath)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	defer j.Close()
	if so.database == "" {
		so.database = filepath.Join(filepath.Dir(j.Path()), "serve.db")
	}
	if so.stateDir == "" {
		so.stateDir = filepath.Join(filepath.Dir(j.Path()), "serve")
	}

	svc, err := serve.Open(ctx, serve.Config{Database: so.database, Inventory: o.inventoryPaths(), Profiles: o.profiles,
		AllowWrite: o.allowWrite, StateDir: so.stateDir, Journal: j, Workers: so.workers, GlobalLimit: so.globalLimit,
		DirectoryLimit: so.directoryLimit, Lease: so.lease, Retries: so.retries, StopTimeout: so.stopTimeout,
		PollEvery: so.pollEvery, StepRetries: o.retries, DialTimeout: o.dialTimeout, Instance: so.instance, Log: log})
	if errors.Is(err, serve.ErrSetup) {
		return invalid(err)
	}
	if err != nil {
		return &exitError{exitFailed, err}
	}
	h, err := svc.Handler(hc)
	if err != nil {
		svc.Stop(ctx)
		return &exitError{exitFailed, err}
	}
	ln, err := net.Listen("tcp", so.listen)
	if err != nil {
		svc.Stop(ctx)
		return &exitError{exitFailed, fmt.Errorf("listen on %s: %w", so.listen, err)}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if hc.Secure {
		cert, err := tls.LoadX509KeyPair(so.tlsCert, so.tlsKey)
		if err != nil {
			ln.Close()
			svc.Stop(ctx)
			return invalid(fmt.Errorf("--tls-cert/--tls-key: %w", err))
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	if err := svc.Start(ctx); err != nil {
		ln.Close()
		svc.Stop(ctx)
		return &exitError{exitFailed, err}
	}
	sig, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	scheme := "http"
	if hc.Secure {
		scheme = "https"
	}
	log.Info("onboard serve listening", "url", scheme+"://"+ln.Addr().String(), "database", svc.Store().Where,
		"journal", j.Path(), "webhook", len(hc.HRKeys) > 0, "scim", len(hc.SCIMTokens) > 0)
	fmt.Fprintf(o.stdout, "onboard serve: listening on %s://%s\n", scheme, ln.Addr())
	var serr error
	select {
	case <-sig.Done():
		log.Info("stopping: no new work; running runs get " + so.stopTimeout.String())
	case serr = <-errc:
	}
	// Stop taking events first, then let the runs finish or hand them back.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), so.stopTimeout+30*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := svc.Stop(sctx); err != nil {
		log.Warn("stop", "err", err)
	}
	if serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return &exitError{exitFailed, serr}
	}
	log.Info("stopped")
	return nil
}
