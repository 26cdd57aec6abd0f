package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// OpenLDAP has no disabled state: an account with a password counts as
// done. A password must therefore never be in the directory unless it was
// delivered: a failed delivery leaves the account without one, and the
// re-run is not reported done but delivers a new password that binds.
func TestOpenLDAPPasswordNeverSetUndelivered(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	c := ldapAs(t, d)
	pb := e.write("dee.yaml", `person: {employee_id: E210, given_name: Dee, surname: Livery, start_date: 2026-12-01}
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/E210.pw"}
`)
	// The folder is writable (Ready passes), but the file cannot be
	// written: a folder stands where it goes.
	pwFile := filepath.Join(e.dir, "pw/E210.pw")
	if err := os.MkdirAll(filepath.Join(pwFile, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	noPassword := func(when string) {
		t.Helper()
		u := entry(t, c, d.BaseDN, "(uid=dlivery)", "userPassword")
		if v := u.GetAttributeValues("userPassword"); len(v) != 0 {
			t.Errorf("%s: the account has a password nobody received", when)
		}
	}
	for run := 1; run <= 2; run++ {
		code, r, stderr := e.jsonRun(pb)
		if code != exitFailed {
			t.Fatalf("run %d: exit %d, want a failure: %s", run, code, stderr)
		}
		if o := outcomes(r.Steps)["E210:activate:dlivery"]; o != result.Failed {
			t.Errorf("run %d: activate is %s, want failed (not done)", run, o)
		}
		noPassword("after a failed delivery")
	}

	// The delivery works again: the next run delivers a password that binds.
	if err := os.RemoveAll(pwFile); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	bindWithFile(t, d, "uid=dlivery,"+d.UsersDN, pwFile)
	code, r, _ = e.jsonRun(pb)
	if code != exitOK || result.Counts(r.Steps)[result.OK] != len(r.Steps) {
		t.Errorf("re-run: exit %d, %v", code, result.Counts(r.Steps))
	}
}

// An interruption between delivering and setting the password (the process
// stops there: here the context ends as the delivery returns): the account
// has no password, is not done, and the next activation delivers one that
// binds.
func TestOpenLDAPInterruptedActivation(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	c := ldapAs(t, d)
	// The account, without its activation: a delivery that cannot be
	// written stops the run there.
	pb := e.write("ivy.yaml", `person: {employee_id: E211, given_name: Ivy, surname: Terrupt, start_date: 2026-12-01}
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/E211.pw"}
`)
	pwFile := filepath.Join(e.dir, "pw/E211.pw")
	if err := os.MkdirAll(filepath.Join(pwFile, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.jsonRun(pb); code != exitFailed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := os.RemoveAll(pwFile); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	client, err := directory.Dial(ctx, directory.Config{
		Name: d.Name, Kind: directory.Kind(d.Kind), URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, BindDN: d.BindDN, BindPassword: secret.New(d.BindPassword), CACertFile: d.CACertFile,
		Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pd := &plan.Directory{Name: d.Name, Kind: d.Kind}
	s := &plan.Step{ID: "E211:activate:iterrupt", Kind: plan.KindActivate,
		Activate: &plan.ActivateSpec{Username: "iterrupt", Deliver: "file:" + pwFile}}

	stopped, stop := context.WithCancel(ctx)
	cut := &interrupting{next: &deliver.Channel{}, stop: stop}
	x := &step.Exec{D: &step.DirTarget{Dir: pd, Client: client, Deliver: cut}}
	if _, err := (step.Activate{}).Apply(stopped, x, s); err == nil {
		t.Fatal("the interrupted activation succeeded")
	}
	if !cut.delivered {
		t.Fatal("the delivery was not reached")
	}
	if v := entry(t, c, d.BaseDN, "(uid=iterrupt)", "userPassword").GetAttributeValues("userPassword"); len(v) != 0 {
		t.Errorf("the interrupted activation left a password in the directory")
	}
	x = &step.Exec{D: &step.DirTarget{Dir: pd, Client: client, Deliver: &deliver.Channel{}}}
	st, err := (step.Activate{}).Check(ctx, x, s)
	if err != nil || st.InPlace {
		t.Fatalf("after the interruption the check says %+v, %v; want not done", st, err)
	}
	// The interrupted run's file is still there: onboard never replaces a
	// password file, so the re-run says so and changes nothing.
	if _, err := (step.Activate{}).Apply(ctx, x, s); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("re-run over the interrupted run's file: %v, want it refused", err)
	}
	if v := entry(t, c, d.BaseDN, "(uid=iterrupt)", "userPassword").GetAttributeValues("userPassword"); len(v) != 0 {
		t.Errorf("the refused re-run set a password")
	}
	// Moved away by the technician: the re-run delivers a password that binds.
	if err := os.Rename(pwFile, pwFile+".old"); err != nil {
		t.Fatal(err)
	}
	if _, err := (step.Activate{}).Apply(ctx, x, s); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	bindWithFile(t, d, "uid=iterrupt,"+d.UsersDN, pwFile)
}

// interrupting delivers, then ends the run's context, as a process killed
// right after the delivery would.
type interrupting struct {
	next      step.Deliverer
	stop      context.CancelFunc
	delivered bool
}

func (i *interrupting) Ready(spec *plan.ActivateSpec) error { return i.next.Ready(spec) }

func (i *interrupting) Deliver(dir, username string, spec *plan.ActivateSpec, pw secret.Value) error {
	if err := i.next.Deliver(dir, username, spec, pw); err != nil {
		return err
	}
	i.delivered = true
	i.stop()
	return nil
}

func bindWithFile(t *testing.T, d lab.Directory, dn, file string) {
	t.Helper()
	pw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the password file: %v", err)
	}
	uc, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: caPool(t, d)}))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if err := uc.Bind(dn, strings.TrimSpace(string(pw))); err != nil {
		t.Errorf("bind as %s with the delivered password: %v", dn, err)
	}
}
