package inventory

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"onboard/internal/playbook"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

// Notify says where notifications go (docs/notifications.md): the channels
// rules name, with their credentials as references, and the addresses the
// recipients on-duty, team:NAME and manager stand for. The section may
// appear in several files: channel and team names may be defined once,
// on_duty and manager_email once.
type Notify struct {
	// OnDuty is the technician on duty's address (the recipient "on-duty").
	OnDuty string `yaml:"on_duty"`
	// ManagerEmail makes the manager's address from the hire's
	// person.manager (a username): a template such as
	// "${person.manager}@corp.example.test". A manager written as an
	// address is used as it is.
	ManagerEmail string `yaml:"manager_email"`
	// Teams are team addresses by name (the recipient "team:NAME").
	Teams map[string]string `yaml:"teams"`
	// Channels by name, as rules' via names them.
	Channels map[string]NotifyChannel `yaml:"channels"`
	// DefaultRules are the rules of a hire whose own rules cannot be
	// read: under onboard serve, a hire whose plan cannot be built because
	// its profile is missing or does not load (docs/notifications.md).
	DefaultRules []playbook.NotifyRule `yaml:"default_rules"`
}

// NotifyChannel is one way of delivering a notification. Which fields
// apply depends on Kind.
type NotifyChannel struct {
	// Kind: email, webhook, slack, teams or ticket.
	Kind string `yaml:"kind" onboard:"required"`
	// Email over SMTP: the server, TLS (starttls, the default, which is
	// required, never skipped; or implicit), the CA that signed the
	// server's certificate (default: the system's), the login and its
	// password reference, and the sender.
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"`
	CACert   string `yaml:"ca_cert"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	// URL: where webhook and ticket requests go. For slack and teams it is
	// a reference (env:, file:, cmd:): their webhook URLs are credentials.
	URL string `yaml:"url"`
	// Key is the webhook's HMAC key reference (signed as onboard's own HR
	// intake verifies: Onboard-Timestamp and Onboard-Signature).
	Key string `yaml:"key"`
	// Token is a bearer token reference for ticket requests; or Username
	// and Password for HTTP Basic.
	Token string `yaml:"token"`
	// Method of the ticket request (default POST).
	Method string `yaml:"method"`
	// Template is the ticket's body: a Go text/template file, relative to
	// this file (docs/notifications.md has ServiceNow and Jira examples).
	Template string `yaml:"template"`
	// Timeout bounds one delivery attempt (default 15s).
	Timeout time.Duration `yaml:"timeout"`

	// Dir is the folder of the file that defined the channel: file:
	// references and paths are relative to it.
	Dir string `yaml:"-"`
}

// Channel kinds.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
	ChannelSlack   = "slack"
	ChannelTeams   = "teams"
	ChannelTicket  = "ticket"
)

var knownChannels = []string{ChannelEmail, ChannelWebhook, ChannelSlack, ChannelTeams, ChannelTicket}

// notifyState is the notify sections merged.
type notifyState struct {
	onDuty, managerEmail string
	teams                map[string]string
	channels             map[string]NotifyChannel
	defaultRules         []playbook.NotifyRule
	docs                 map[string]*strictyaml.Doc // "notify.channels.NAME" -> its file
}

// addNotify merges and checks one file's notify section.
func (inv *Inventory) addNotify(doc *strictyaml.Doc, dir string, n Notify) []error {
	var errs []error
	st := &inv.notify
	if st.docs == nil {
		st.teams, st.channels, st.docs = map[string]string{}, map[string]NotifyChannel{}, map[string]*strictyaml.Doc{}
	}
	once := func(key string, have *string, v string) bool {
		if v == "" {
			return false
		}
		if prev, ok := st.docs[key]; ok {
			errs = append(errs, doc.Errorf(key, "is also defined at %s", prev.Pos(key)))
			return false
		}
		st.docs[key], *have = doc, v
		return true
	}
	if once("notify.on_duty", &st.onDuty, n.OnDuty) {
		if err := checkAddress(n.OnDuty); err != nil {
			errs = append(errs, doc.Errorf("notify.on_duty", "%v", err))
		}
	}
	if once("notify.manager_email", &st.managerEmail, n.ManagerEmail) {
		probe, err := playbook.Expand(n.ManagerEmail, map[string]string{"person.manager": "manager"})
		if err == nil {
			err = checkAddress(probe)
		}
		if err != nil {
			errs = append(errs, doc.Errorf("notify.manager_email", "%v (a template of person.manager, such as ${person.manager}@corp.example.test)", err))
		}
	}
	if len(n.DefaultRules) > 0 {
		if prev, ok := st.docs["notify.default_rules"]; ok {
			errs = append(errs, doc.Errorf("notify.default_rules", "is also defined at %s", prev.Pos("notify.default_rules")))
		} else {
			st.docs["notify.default_rules"], st.defaultRules = doc, n.DefaultRules
			errs = append(errs, playbook.CheckNotify(doc, "notify.default_rules", n.DefaultRules)...)
		}
	}
	for _, name := range sortedKeys(n.Teams) {
		key := "notify.teams." + name
		var v string
		if once(key, &v, n.Teams[name]) {
			st.teams[name] = v
			if !nameRE.MatchString(name) {
				errs = append(errs, doc.Errorf(key, "team names are letters, digits, '.', '_' or '-'"))
			}
			if err := checkAddress(v); err != nil {
				errs = append(errs, doc.Errorf(key, "%v", err))
			}
		}
	}
	for _, name := range sortedKeys(n.Channels) {
		key := "notify.channels." + name
		if prev, ok := st.docs[key]; ok {
			errs = append(errs, doc.Errorf(key, "is also defined at %s", prev.Pos(key)))
			continue
		}
		c := n.Channels[name]
		c.Dir = dir
		st.docs[key], st.channels[name] = doc, c
		if !nameRE.MatchString(name) {
			errs = append(errs, doc.Errorf(key, "channel names are letters, digits, '.', '_' or '-'"))
		}
		errs = append(errs, checkChannel(doc, key, c)...)
	}
	return errs
}

// checkChannel checks one channel's fields for its kind.
func checkChannel(doc *strictyaml.Doc, key string, c NotifyChannel) []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		at := key
		if field != "" {
			at += "." + field
		}
		errs = append(errs, doc.Errorf(at, format, args...))
	}
	ref := func(field, v string, required bool) {
		if v == "" {
			if required {
				fail(field, "is required for a %s channel", c.Kind)
			}
			return
		}
		if err := secret.Ref(v).Validate(); err != nil {
			fail(field, "%v", err)
		}
	}
	// Fields that a kind does not read would be ignored silently.
	unused := func(fields map[string]bool) {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"host", c.Host != ""}, {"port", c.Port != 0}, {"tls", c.TLS != ""}, {"ca_cert", c.CACert != ""},
			{"username", c.Username != ""}, {"password", c.Password != ""}, {"from", c.From != ""},
			{"url", c.URL != ""}, {"key", c.Key != ""}, {"token", c.Token != ""}, {"method", c.Method != ""},
			{"template", c.Template != ""},
		} {
			if f.set && !fields[f.name] {
				fail(f.name, "does not apply to a %s channel", c.Kind)
			}
		}
	}
	httpURL := func(v string) {
		u, err := url.Parse(v)
		if v == "" {
			fail("url", "is required for a %s channel", c.Kind)
		} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fail("url", "must be an https:// (or http://) URL, got %q", v)
		}
	}
	if c.Timeout < 0 {
		fail("timeout", "must not be negative")
	}
	switch c.Kind {
	case ChannelEmail:
		unused(map[string]bool{"host": true, "port": true, "tls": true, "ca_cert": true, "username": true, "password": true, "from": true})
		if c.Host == "" {
			fail("host", "is required for an email channel")
		}
		if c.Port < 0 || c.Port > 65535 {
			fail("port", "must be between 1 and 65535, got %d", c.Port)
		}
		if c.TLS != "" && c.TLS != "starttls" && c.TLS != "implicit" {
			fail("tls", "must be starttls or implicit, got %q (mail is never sent unencrypted)", c.TLS)
		}
		if err := checkAddress(c.From); err != nil {
			fail("from", "%v", err)
		}
		ref("password", c.Password, false)
		if (c.Username == "") != (c.Password == "") {
			fail("username", "and password go together (AUTH), or neither")
		}
		if c.CACert != "" {
			if _, err := os.Stat(secret.ExpandPath(c.CACert, c.Dir)); err != nil {
				fail("ca_cert", "%v", err)
			}
		}
	case ChannelWebhook:
		unused(map[string]bool{"url": true, "key": true})
		httpURL(c.URL)
		ref("key", c.Key, true)
	case ChannelSlack, ChannelTeams:
		unused(map[string]bool{"url": true})
		ref("url", c.URL, true)
	case ChannelTicket:
		unused(map[string]bool{"url": true, "token": true, "username": true, "password": true, "method": true, "template": true})
		httpURL(c.URL)
		ref("token", c.Token, false)
		ref("password", c.Password, false)
		if c.Token != "" && c.Password != "" {
			fail("token", "give a token or a username and password, not both")
		}
		if (c.Username == "") != (c.Password == "") {
			fail("username", "and password go together (HTTP Basic), or neither")
		}
		if m := c.Method; m != "" && m != "POST" && m != "PUT" && m != "PATCH" {
			fail("method", "must be POST, PUT or PATCH, got %q", m)
		}
		if c.Template == "" {
			fail("template", "is required for a ticket channel: the request body, a template file")
		} else if _, err := os.Stat(secret.ExpandPath(c.Template, c.Dir)); err != nil {
			fail("template", "%v", err)
		}
	default:
		fail("kind", "must be one of %s, got %q", strings.Join(knownChannels, ", "), c.Kind)
	}
	return errs
}

// checkAddress accepts one bare email address.
func checkAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Errorf("is not an email address: %q", s)
	}
	return nil
}

// checkDefaultRules checks that notify.default_rules name channels and
// teams the inventory has (in any of its files).
func (inv *Inventory) checkDefaultRules() []error {
	st := &inv.notify
	doc := st.docs["notify.default_rules"]
	if doc == nil {
		return nil
	}
	var errs []error
	for i, r := range st.defaultRules {
		p := fmt.Sprintf("notify.default_rules[%d]", i)
		for j, v := range r.Via {
			if _, ok := st.channels[v]; !ok && !inv.incomplete("notify") {
				errs = append(errs, doc.Errorf(fmt.Sprintf("%s.via[%d]", p, j), "unknown channel %q: not in notify.channels%s", v, strictyaml.Suggest(v, sortedKeys(st.channels))))
			}
		}
		for j, w := range r.To {
			if w != "on-duty" && !strings.HasPrefix(w, "team:") {
				continue // a manager is resolved with each hire; an address is checked above
			}
			if _, err := inv.NotifyRecipient(w, ""); err != nil && !inv.incomplete("notify") {
				errs = append(errs, doc.Errorf(fmt.Sprintf("%s.to[%d]", p, j), "%v", err))
			}
		}
	}
	return errs
}

// NotifyDefaultRules are notify.default_rules: the rules of a hire whose
// own rules cannot be read.
func (inv *Inventory) NotifyDefaultRules() []playbook.NotifyRule { return inv.notify.defaultRules }

// NotifyChannel returns the channel of that name.
func (inv *Inventory) NotifyChannel(name string) (NotifyChannel, bool) {
	c, ok := inv.notify.channels[name]
	return c, ok
}

// NotifyChannels are the channels' names, sorted.
func (inv *Inventory) NotifyChannels() []string {
	out := make([]string, 0, len(inv.notify.channels))
	for n := range inv.notify.channels {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NotifyRecipient resolves a rule's recipient to an address: "manager"
// (the hire's manager, through manager_email), "on-duty", "team:NAME", or
// an address as it is.
func (inv *Inventory) NotifyRecipient(who, manager string) (string, error) {
	switch {
	case who == "manager":
		if manager == "" {
			return "", fmt.Errorf("the hire has no manager (person.manager)")
		}
		if checkAddress(manager) == nil {
			return manager, nil
		}
		if inv.notify.managerEmail == "" {
			return "", fmt.Errorf("the manager %q is not an address and the inventory has no notify.manager_email to make one", manager)
		}
		a, err := playbook.Expand(inv.notify.managerEmail, map[string]string{"person.manager": manager})
		if err == nil {
			err = checkAddress(a)
		}
		return a, err
	case who == "on-duty":
		if inv.notify.onDuty == "" {
			return "", fmt.Errorf("the inventory names no technician on duty (notify.on_duty)")
		}
		return inv.notify.onDuty, nil
	case strings.HasPrefix(who, "team:"):
		a, ok := inv.notify.teams[strings.TrimPrefix(who, "team:")]
		if !ok {
			return "", fmt.Errorf("unknown team %q: not in notify.teams%s", strings.TrimPrefix(who, "team:"),
				strictyaml.Suggest(strings.TrimPrefix(who, "team:"), sortedKeys(inv.notify.teams)))
		}
		return a, nil
	}
	if err := checkAddress(who); err != nil {
		return "", fmt.Errorf("recipient %q: manager, on-duty, team:NAME or an address", who)
	}
	return who, nil
}
