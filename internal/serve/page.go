package serve

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"onboard/internal/report"
	"onboard/internal/serve/store"
	"onboard/internal/stats"
)

// The status page: server-rendered HTML (html/template escapes every
// value), no script at all, a strict Content-Security-Policy, signed
// session cookies and a CSRF token in every form. See docs/serve-page.md.

//go:embed templates/*.html
var pageTemplates embed.FS

//go:embed static/page.css
var pageCSS []byte

var pageTmpl = template.Must(template.ParseFS(pageTemplates, "templates/*.html"))

// pageCSP allows the page nothing but its own stylesheet and forms posting
// back to it: an injected tag could neither run script nor load anything.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Refresh intervals of the page: quick while a run is due or running, so
// an operator sees it finish; slow otherwise, to pick up new hires.
const (
	defaultBusyRefresh = 5 * time.Second
	idleRefresh        = 60 * time.Second
)

// recentAfter: hires that started this long ago and are done are folded
// into the "recent" section.
const recentAfter = 7 * 24 * time.Hour

// Failed sign-ins per client address: a bucket of loginBurst, refilled
// one attempt per loginEvery (5 guesses a minute; a typo costs nothing).
const (
	loginBurst = 5
	loginEvery = 12 * time.Second
)

// Bounds on what the page shows.
const (
	pageEvents   = 20
	pageRecent   = 50
	maxErrorText = 16 << 10
	maxFormBody  = 16 << 10
)

func init() { extraRoutes = append(extraRoutes, pageRoutes) }

// page serves the status page of one Handler.
type page struct {
	h       *server
	limit   *loginLimiter
	loc     *time.Location
	refresh time.Duration
	fig     figuresCache
}

func pageRoutes(h *server, mux *http.ServeMux) error {
	p := &page{h: h, limit: newLoginLimiter(loginBurst, loginEvery), loc: time.Local, refresh: h.hc.PageRefresh}
	if p.refresh <= 0 {
		p.refresh = defaultBusyRefresh
	}
	mux.HandleFunc("GET /{$}", p.headers(p.status))
	mux.HandleFunc("GET /login", p.headers(p.loginForm))
	mux.HandleFunc("POST /login", p.headers(p.login))
	mux.HandleFunc("POST /logout", p.headers(p.logout))
	mux.HandleFunc("POST /runs/{id}/retry", p.headers(p.retry))
	mux.HandleFunc("POST /hires/{id}/approve", p.headers(p.approve))
	mux.HandleFunc("GET /static/page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(pageCSS)
	})
	return nil
}

// headers: the page's policy, and no caching of pages that carry a CSRF
// token or a person's data.
func (p *page) headers(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	}
}

func (p *page) render(w http.ResponseWriter, code int, name string, data any) {
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, name, data); err != nil {
		p.h.s.log.Error("render status page", "template", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

type loginData struct {
	Error string
}

func (p *page) loginForm(w http.ResponseWriter, r *http.Request) {
	if p.h.sess.read(r, p.h.s.now()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "login.html", loginData{})
}

// login takes an operator token as the password. Failed attempts are
// limited per client address (RemoteAddr: a proxy's X-Forwarded-For is
// the client's to write, so it is not trusted).
func (p *page) login(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !sameOrigin(o, r) {
		p.h.s.stats.refuse("page", "csrf")
		http.Error(w, "cross-origin sign-in refused", http.StatusForbidden)
		return
	}
	ip := clientIP(r)
	now := p.h.s.now()
	if !p.limit.allow(ip, now) {
		p.h.s.stats.refuse("page", "rate_limited")
		w.Header().Set("Retry-After", strconv.Itoa(int(loginEvery.Seconds())))
		p.render(w, http.StatusTooManyRequests, "login.html", loginData{Error: "Too many failed sign-ins from this address: wait a minute and try again."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	name := p.h.api.match(r.PostFormValue("token"))
	if name == "" {
		p.limit.fail(ip, now)
		p.h.s.stats.refuse("page", "unauthorized")
		p.h.s.log.Warn("status page: failed sign-in", "client", ip)
		p.render(w, http.StatusUnauthorized, "login.html", loginData{Error: "That token is not valid."})
		return
	}
	p.h.sess.issue(w, name, now)
	p.h.s.log.Info("status page: signed in", "who", name, "client", ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *page) logout(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.checkPost(w, r); !ok {
		return
	}
	p.h.sess.clear(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// checkPost admits a form post from a signed-in operator carrying the
// session's CSRF token: 401 without a session, 403 without the token.
func (p *page) checkPost(w http.ResponseWriter, r *http.Request) (*session, bool) {
	sess := p.h.sess.read(r, p.h.s.now())
	if sess == nil {
		p.h.s.stats.refuse("page", "unauthorized")
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if !checkCSRF(r, sess) {
		p.h.s.stats.refuse("page", "csrf")
		http.Error(w, "the form's token is missing or wrong, or it came from another site: reload the page and try again", http.StatusForbidden)
		return nil, false
	}
	return sess, true
}

// Flash messages: the redirect after a button names one of these; no
// text from the request ever reaches the page this way.
var flashes = map[string]pageFlash{
	"retried":        {Kind: "ok", Text: "The run is queued again; it starts now."},
	"retry-failed":   {Kind: "warn", Text: "That run could not be retried: it is no longer failed (another operator may have retried it)."},
	"approved":       {Kind: "ok", Text: "The hire was approved and its runs are scheduled."},
	"still-held":     {Kind: "warn", Text: "The hire is still held: its reason is shown below. Fix the inventory, then approve again."},
	"approve-failed": {Kind: "warn", Text: "That hire could not be approved: it is no longer held."},
}

func (p *page) back(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/?m="+msg, http.StatusSeeOther)
}

func (p *page) retry(w http.ResponseWriter, r *http.Request) {
	sess, ok := p.checkPost(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := p.h.s.Retry(r.Context(), id); err != nil {
		p.h.s.log.Warn("status page: retry", "run", id, "by", sess.Name, "err", err)
		p.back(w, r, "retry-failed")
		return
	}
	p.h.s.log.Info("run retried", "run", id, "by", sess.Name)
	p.back(w, r, "retried")
}

func (p *page) approve(w http.ResponseWriter, r *http.Request) {
	sess, ok := p.checkPost(w, r)
	if !ok {
		return
	}
	emp := r.PathValue("id")
	acc, err := p.h.s.Approve(r.Context(), emp, sess.Name)
	switch {
	case err == nil:
		p.back(w, r, "approved")
	case acc != nil && acc.Result == "held":
		p.back(w, r, "still-held")
	default:
		p.h.s.log.Warn("status page: approve", "hire", emp, "by", sess.Name, "err", err)
		p.back(w, r, "approve-failed")
	}
}

func (p *page) status(w http.ResponseWriter, r *http.Request) {
	sess := p.h.sess.read(r, p.h.s.now())
	if sess == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	in, err := p.load(r.Context())
	if err != nil {
		p.h.s.log.Error("status page: read the store", "err", err)
		http.Error(w, "the status could not be read from the database; see the service's log", http.StatusInternalServerError)
		return
	}
	v := makePage(in, p.h.s.now(), p.loc, p.refresh)
	v.Who, v.CSRF = report.Visible(sess.Name), sess.CSRF
	if f, ok := flashes[r.URL.Query().Get("m")]; ok {
		v.Flash = &f
	}
	p.render(w, http.StatusOK, "page.html", v)
}

// pageInput is what the page is made of, as stored.
type pageInput struct {
	Hires  []*store.Hire
	Runs   map[string][]*store.Run
	Events []*store.Event
	// Figures are the service figures (nil without a journal), or
	// FiguresErr why they could not be read.
	Figures    *stats.Report
	FiguresErr error
}

func (p *page) load(ctx context.Context) (*pageInput, error) {
	db := p.h.s.store.DB
	hires, err := store.Hires(ctx, db)
	if err != nil {
		return nil, err
	}
	runs, err := store.AllRuns(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, rs := range runs {
		sortRuns(rs)
	}
	in := &pageInput{Hires: hires, Runs: runs}
	in.Events, err = store.Events(ctx, db, "", pageEvents)
	if err != nil {
		return nil, err
	}
	in.Figures, in.FiguresErr = p.figures(ctx, p.h.s.now())
	if in.FiguresErr != nil {
		p.h.s.log.Error("status page: service figures", "err", in.FiguresErr)
	}
	return in, nil
}

// pageView is the rendered page's data: every string already made visible
// (control characters escaped), html/template escapes the rest.
type pageView struct {
	Who, CSRF string
	Flash     *pageFlash
	Refresh   int
	Generated pageTime
	Zone      string
	Hires     []pageHire
	Recent    []pageHire
	// RecentMore is how many older finished hires are left out.
	RecentMore int
	Held       []pageHire
	// Leavers are the people with a leave's runs, their latest leave.
	Leavers  []pageHire
	Failures []pageFailure
	Events   []pageEvent
	Figures  *pageFigures
}

type pageFlash struct{ Kind, Text string }

// pageTime is a time in the service's zone, and in UTC for the title.
type pageTime struct{ Local, UTC string }

type pageHire struct {
	// Key is the employee id as stored, for the form's address (escaped
	// there by html/template); ID is it shown.
	Key                                string
	ID, Name, StartDate, Profile, Host string
	// State: held, cancelled, scheduled, running, failed or done.
	State      string
	Phases     []pagePhase
	HeldReason string
	// Handover links the hire's handover report once activation is done.
	Handover string
}

type pagePhase struct {
	// Key is the run id as stored (see pageHire.Key).
	Key                 string
	Phase, RunID, State string
	At                  pageTime
	Attempts            int
}

type pageFailure struct {
	Key                              string
	RunID, HireID, Name, Phase, Host string
	Finished                         pageTime
	Attempts                         int
	Error                            string
}

type pageEvent struct {
	Received                                 pageTime
	Source, Type, EmployeeID, Result, Detail string
}

// makePage turns the stored state into the page's view at now, in loc.
func makePage(in *pageInput, now time.Time, loc *time.Location, refresh time.Duration) *pageView {
	v := &pageView{Generated: showTime(now, loc), Zone: zoneName(now, loc), Refresh: int(idleRefresh.Seconds())}
	busy := false
	recentBefore := now.In(loc).Add(-recentAfter).Format(time.DateOnly)
	for _, h := range in.Hires {
		var person Person
		_ = json.Unmarshal(h.Person, &person)
		var a Assignment
		if len(h.Assignment) > 0 {
			_ = json.Unmarshal(h.Assignment, &a)
		}
		ph := pageHire{Key: h.EmployeeID, ID: show(h.EmployeeID), Name: show(displayName(person)), StartDate: show(h.StartDate),
			Profile: show(a.Profile), Host: show(a.Host), HeldReason: show(h.HeldReason)}
		if lv, ok := leaverRow(ph, in.Runs[h.EmployeeID], now, loc, v); ok {
			v.Leavers = append(v.Leavers, lv)
			busy = busy || lv.State == "running" || lv.State == "due"
		}
		if h.Generation == 0 {
			continue // a leaver onboard serve did not set up: no hire to show
		}
		byPhase := map[string]*store.Run{}
		for _, r := range in.Runs[h.EmployeeID] {
			if r.Generation == h.Generation && !isLeavePhase(r.Phase) { // a leave has its own row
				byPhase[r.Phase] = r
			}
		}
		states := map[string]int{}
		for _, phase := range Phases {
			r := byPhase[phase]
			if r == nil {
				ph.Phases = append(ph.Phases, pagePhase{Phase: phase, State: "none"})
				continue
			}
			states[r.State]++
			ph.Phases = append(ph.Phases, pagePhase{Key: r.ID, Phase: phase, RunID: show(r.ID), State: r.State, At: showTime(r.ScheduledAt, loc), Attempts: r.Attempts})
			if r.State == store.RunRunning || (r.State == store.RunScheduled && !r.ScheduledAt.After(now)) {
				busy = true
			}
			if r.State == store.RunFailed {
				v.Failures = append(v.Failures, pageFailure{Key: r.ID, RunID: show(r.ID), HireID: ph.ID, Name: ph.Name, Phase: phase,
					Host: ph.Host, Finished: showTime(r.FinishedAt, loc), Attempts: r.Attempts, Error: show(bound(r.Error, maxErrorText))})
			}
		}
		switch {
		case h.State == store.HireHeld || h.State == store.HireCancelled:
			ph.State = h.State
		case states[store.RunFailed] > 0:
			ph.State = "failed"
		case states[store.RunRunning] > 0:
			ph.State = "running"
		case len(byPhase) > 0 && states[store.RunOK] == len(byPhase):
			ph.State = "done"
		default:
			ph.State = "scheduled"
		}
		if r := byPhase[PhaseActivation]; r != nil && r.State == store.RunOK && len(r.Result) > 0 {
			ph.Handover = "/api/v1/hires/" + url.PathEscape(h.EmployeeID) + "/handover?format=html"
		}
		finished := ph.State == "done" || ph.State == "cancelled"
		switch {
		case finished && h.StartDate < recentBefore:
			v.Recent = append(v.Recent, ph)
		default:
			v.Hires = append(v.Hires, ph)
		}
		if ph.State == store.HireHeld {
			v.Held = append(v.Held, ph)
		}
	}
	// Recent hires newest first, the oldest left to the API.
	slices.Reverse(v.Recent)
	if len(v.Recent) > pageRecent {
		v.RecentMore = len(v.Recent) - pageRecent
		v.Recent = v.Recent[:pageRecent]
	}
	for _, e := range in.Events {
		v.Events = append(v.Events, pageEvent{Received: showTime(e.ReceivedAt, loc), Source: show(e.Source), Type: show(e.Type),
			EmployeeID: show(e.EmployeeID), Result: show(e.Result), Detail: show(e.Detail)})
	}
	v.Figures = makeFigures(in.Figures, in.FiguresErr)
	if busy {
		v.Refresh = max(1, int(refresh.Seconds()))
	}
	return v
}

// leaverRow is a person's latest leave for the page: its offboard and
// purge runs (the runs whose id shares the latest leaveN), failures added
// to the view's. ok is false for someone who never had a leave.
func leaverRow(ph pageHire, runs []*store.Run, now time.Time, loc *time.Location, v *pageView) (pageHire, bool) {
	var latest string
	var last time.Time
	n := 0
	for _, r := range runs {
		if k := leaveNumber(r); r.Phase == PhaseOffboard && k > n {
			latest, last, n = strings.TrimSuffix(r.ID, r.Phase), r.EffectiveAt, k
		}
	}
	if latest == "" {
		return pageHire{}, false
	}
	ph.StartDate = show(last.In(loc).Format("2006-01-02 15:04"))
	states := map[string]int{}
	for _, phase := range LeavePhases {
		i := slices.IndexFunc(runs, func(r *store.Run) bool { return r.ID == latest+phase })
		if i < 0 {
			ph.Phases = append(ph.Phases, pagePhase{Phase: phase, State: "none"})
			continue
		}
		r := runs[i]
		states[r.State]++
		if r.State == store.RunScheduled && !r.ScheduledAt.After(now) {
			states["due"]++
		}
		ph.Phases = append(ph.Phases, pagePhase{Key: r.ID, Phase: phase, RunID: show(r.ID), State: r.State, At: showTime(r.ScheduledAt, loc), Attempts: r.Attempts})
		if r.State == store.RunFailed {
			v.Failures = append(v.Failures, pageFailure{Key: r.ID, RunID: show(r.ID), HireID: ph.ID, Name: ph.Name, Phase: phase,
				Host: ph.Host, Finished: showTime(r.FinishedAt, loc), Attempts: r.Attempts, Error: show(bound(r.Error, maxErrorText))})
		}
	}
	switch {
	case states[store.RunFailed] > 0:
		ph.State = "failed"
	case states[store.RunRunning] > 0:
		ph.State = "running"
	case states["due"] > 0:
		ph.State = "due"
	case states[store.RunScheduled] > 0:
		ph.State = "scheduled"
	case states[store.RunCancelled] > 0 || states[store.RunSuperseded] > 0:
		ph.State = "cancelled"
	default:
		ph.State = "done"
	}
	return ph, true
}

func displayName(p Person) string {
	first := p.PreferredName
	if first == "" {
		first = p.GivenName
	}
	if first == "" {
		return p.Surname
	}
	return first + " " + p.Surname
}

// show makes a stored value safe to read on the page: invalid UTF-8 and
// control characters (bidirectional overrides among them) written as
// visible escapes, so that a name can neither reorder the text around it
// nor hide what it holds.
func show(s string) string { return report.Visible(s) }

// bound cuts s to at most n bytes on a rune boundary, saying so.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n… (cut: the run's journal has the whole output)"
}

func showTime(t time.Time, loc *time.Location) pageTime {
	if t.IsZero() {
		return pageTime{Local: "—"}
	}
	return pageTime{Local: t.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), UTC: t.UTC().Format(time.RFC3339)}
}

// zoneName names the service's zone: its IANA name, or for the process's
// local zone (which may have none) the abbreviation in effect at now.
func zoneName(now time.Time, loc *time.Location) string {
	if n := loc.String(); n != "Local" {
		return n
	}
	return now.In(loc).Format("MST")
}

// clientIP is the address the request came from (not a header the client
// could write).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter is a token bucket per client address that only failed
// sign-ins drain: burst failures at once, then one more per every.
type loginLimiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	buckets map[string]*loginBucket
}

type loginBucket struct {
	tokens float64
	at     time.Time
}

// maxLimiterEntries bounds the limiter's memory; full buckets are dropped
// first (they hold no information).
const maxLimiterEntries = 10000

func newLoginLimiter(burst int, every time.Duration) *loginLimiter {
	return &loginLimiter{burst: float64(burst), every: every, buckets: map[string]*loginBucket{}}
}

func (l *loginLimiter) refill(b *loginBucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
}

// allow says whether ip may try to sign in now.
func (l *loginLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		return true
	}
	l.refill(b, now)
	return b.tokens >= 1
}

// fail takes a token from ip's bucket.
func (l *loginLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxLimiterEntries {
			l.prune(now)
		}
		b = &loginBucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// prune drops the buckets that refilled; if every one is still draining
// (a flood from many addresses), it drops them all rather than grow.
func (l *loginLimiter) prune(now time.Time) {
	for ip, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) >= maxLimiterEntries {
		clear(l.buckets)
	}
}
