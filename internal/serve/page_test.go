package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"onboard/internal/serve/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Hostile person data: markup, shell, a bidirectional override, escape
// sequences in remote output.
const (
	scriptName = "<script>alert(1)</script>"
	shellName  = `O'Brien"; rm -rf / #`
	bidiName   = "Ali\u202ecod.exe"
)

func personJSON(t *testing.T, p Person) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenInput is a fixed status: a hire with a failed machine run, a held
// hire, one done long ago (recent), one cancelled, and events.
func goldenInput(t *testing.T) (*pageInput, time.Time) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
	asg := func(host string) json.RawMessage {
		b, _ := json.Marshal(Assignment{Rule: "eng", Profile: "engineering", Host: host})
		return b
	}
	in := &pageInput{Runs: map[string][]*store.Run{}}
	in.Hires = []*store.Hire{
		{EmployeeID: "E100", State: store.HireScheduled, Generation: 2, StartDate: "2026-12-07", Assignment: asg("ws1"),
			Person: personJSON(t, Person{EmployeeID: "E100", GivenName: scriptName, Surname: shellName})},
		{EmployeeID: "E101", State: store.HireHeld, Generation: 1, StartDate: "2026-12-08",
			Person:     personJSON(t, Person{EmployeeID: "E101", GivenName: bidiName, Surname: "Nowhere"}),
			HeldReason: `held for a technician: no hr rule matches department "<img src=x onerror=alert(1)>"`},
		{EmployeeID: "E102", State: store.HireScheduled, Generation: 1, StartDate: "2026-11-02", Assignment: asg("ws2"),
			Person: personJSON(t, Person{EmployeeID: "E102", GivenName: "Grace", PreferredName: "Amazing", Surname: "Hopper"})},
		{EmployeeID: "E103", State: store.HireCancelled, Generation: 1, StartDate: "2026-12-10", Assignment: asg("ws3"),
			Person: personJSON(t, Person{EmployeeID: "E103", GivenName: "Ada", Surname: "Lovelace"})},
	}
	in.Runs["E100"] = []*store.Run{
		{ID: "E100.g1.account", Generation: 1, Phase: PhaseAccount, State: store.RunSuperseded, ScheduledAt: at(-48)},
		{ID: "E100.g2.account", Generation: 2, Phase: PhaseAccount, State: store.RunOK, ScheduledAt: at(-2), FinishedAt: at(-2)},
		{ID: "E100.g2.machine", Generation: 2, Phase: PhaseMachine, State: store.RunFailed, ScheduledAt: at(-1), FinishedAt: at(-1), Attempts: 2,
			Error: "ws1: step E100:check:ready failed in apply: check failed\n  command: test -e /etc/onboard-ready (exit 1)\n  output: \x1b[31m</pre><script>alert(2)</script>\u202e"},
		{ID: "E100.g2.activation", Generation: 2, Phase: PhaseActivation, State: store.RunScheduled, ScheduledAt: at(90)},
	}
	in.Runs["E102"] = []*store.Run{
		{ID: "E102.g1.account", Generation: 1, Phase: PhaseAccount, State: store.RunOK, ScheduledAt: at(-800)},
		{ID: "E102.g1.machine", Generation: 1, Phase: PhaseMachine, State: store.RunOK, ScheduledAt: at(-790)},
		{ID: "E102.g1.activation", Generation: 1, Phase: PhaseActivation, State: store.RunOK, ScheduledAt: at(-780), Result: json.RawMessage(`{}`)},
	}
	in.Runs["E103"] = []*store.Run{
		{ID: "E103.g1.account", Generation: 1, Phase: PhaseAccount, State: store.RunCancelled, ScheduledAt: at(100)},
	}
	in.Events = []*store.Event{
		{ID: "hr:2", Source: "hr", Type: "hire", EmployeeID: "E101", ReceivedAt: at(-3), Result: "held", Detail: "no rule for <b>Nowhere</b>"},
		{ID: "scim:1", Source: "scim", Type: "change", EmployeeID: "E100", ReceivedAt: at(-4), Result: "rescheduled", Detail: "rule eng: profile engineering, host ws1"},
	}
	return in, now
}

func renderPage(t *testing.T, v *pageView) string {
	t.Helper()
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, "page.html", v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered page (run with -update after checking the change):\n%s", path, got)
	}
}

func TestPageGolden(t *testing.T) {
	in, now := goldenInput(t)
	v := makePage(in, now, time.FixedZone("CET", 3600), 5*time.Second)
	v.Who, v.CSRF = "alice", "csrf-fixed"
	f := flashes["retried"]
	v.Flash = &f
	got := renderPage(t, v)
	golden(t, "page.golden.html", got)

	if len(v.Hires) != 3 || len(v.Recent) != 1 || v.Recent[0].Key != "E102" || len(v.Held) != 1 || len(v.Failures) != 1 {
		t.Fatalf("sections: %d hires, %d recent, %d held, %d failures", len(v.Hires), len(v.Recent), len(v.Held), len(v.Failures))
	}
	if v.Hires[0].Key != "E100" || v.Hires[0].State != "failed" || v.Hires[1].State != "held" || v.Hires[2].State != "cancelled" {
		t.Errorf("hires out of order or mis-stated: %+v", v.Hires)
	}
	if v.Recent[0].Handover != "/api/v1/hires/E102/handover?format=html" {
		t.Errorf("handover link %q", v.Recent[0].Handover)
	}
	if v.Refresh != 60 {
		t.Errorf("refresh %d s with nothing due or running, want 60", v.Refresh)
	}
}

// Person fields and remote output are data: escaped, with control
// characters written visibly, whatever they hold.
func TestPageRendersHostileDataInert(t *testing.T) {
	in, now := goldenInput(t)
	v := makePage(in, now, time.UTC, 5*time.Second)
	got := renderPage(t, v)
	for _, bad := range []string{"<script", "<img", "<b>", "\u202e", "\x1b", "</pre><"} {
		if strings.Contains(got, bad) {
			t.Errorf("the page holds %q raw", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien&#34;; rm -rf / #", // the name, escaped
		`Ali\u202ecod.exe Nowhere`,                                        // the bidi override, visible
		`\x1b[31m&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;\u202e`, // the output, in the pre
		`&lt;img src=x onerror=alert(1)&gt;`,
		`<pre class="output">ws1: step E100:check:ready failed`,
		`<form method="post" action="/runs/E100.g2.machine/retry">`,
		`<form method="post" action="/hires/E101/approve">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestPageTimes(t *testing.T) {
	in, now := goldenInput(t)
	v := makePage(in, now, time.FixedZone("CET", 3600), time.Second)
	ph := v.Hires[0].Phases[1]
	if ph.Phase != PhaseMachine || ph.At.Local != "Thu 3 Dec 2026 12:00 CET" || ph.At.UTC != "2026-12-03T11:00:00Z" {
		t.Errorf("machine run time: %+v", ph)
	}
	if v.Zone != "CET" || v.Hires[2].Phases[1].State != "none" {
		t.Errorf("zone %q, phase without a run %+v", v.Zone, v.Hires[2].Phases[1])
	}
	// A run due now makes the page reload quickly.
	in.Runs["E100"][3].ScheduledAt = now
	if v := makePage(in, now, time.UTC, time.Second); v.Refresh != 1 {
		t.Errorf("refresh %d s with a run due, want 1", v.Refresh)
	}
}

func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter(3, 10*time.Second)
	t0 := time.Unix(1_000_000, 0)
	for i := range 3 {
		if !l.allow("192.0.2.1", t0) {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.fail("192.0.2.1", t0)
	}
	if l.allow("192.0.2.1", t0) {
		t.Fatal("a fourth attempt at once allowed")
	}
	if !l.allow("192.0.2.2", t0) {
		t.Fatal("another address refused")
	}
	if l.allow("192.0.2.1", t0.Add(9*time.Second)) || !l.allow("192.0.2.1", t0.Add(10*time.Second)) {
		t.Fatal("the bucket does not refill one attempt per 10s")
	}
	l.fail("192.0.2.1", t0.Add(10*time.Second))
	if l.allow("192.0.2.1", t0.Add(11*time.Second)) {
		t.Fatal("the refilled attempt was not used up")
	}
}

// pageClient is a browser-like client of the page: a cookie jar, no
// automatic redirects.
type pageClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPageClient(t *testing.T, base string) *pageClient {
	jar, _ := cookiejar.New(nil)
	return &pageClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (pc *pageClient) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	pc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, pc.base+path, body)
	if err != nil {
		pc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := pc.c.Do(req)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The page over HTTP against a real service: sign-in, what it shows, and
// that its buttons refuse posts without the session's CSRF token.
func TestPageHTTP(t *testing.T) {
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: fixedMapper("no-such-host", nowSlots)})
	handler, err := s.Handler(HTTPConfig{APITokens: []Token{{Name: "alice", Value: []byte("alice-secret-token")}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	ctx := context.Background()

	in := hireIntake("evt-1", "E7")
	in.Person.GivenName = scriptName
	if _, err := s.Accept(ctx, in); err != nil {
		t.Fatal(err)
	}
	held := hireIntake("evt-2", "E8")
	held.Person.Department = "Nowhere"
	held.Person.GivenName = bidiName
	if _, err := s.Accept(ctx, held); err != nil {
		t.Fatal(err)
	}
	failed := waitRun(t, s, "E7.g1.account", store.RunFailed)

	pc := newPageClient(t, srv.URL)
	resp, _ := pc.do("GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("/ without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := pc.do("GET", "/login", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token" type="password"`) {
		t.Fatalf("login form: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'") {
		t.Errorf("login CSP %q", csp)
	}
	resp, body = pc.do("POST", "/login", url.Values{"token": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That token is not valid.") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d cookies %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	resp, _ = pc.do("POST", "/login", url.Values{"token": {"alice-secret-token"}}, map[string]string{"Origin": "http://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin sign-in: %d", resp.StatusCode)
	}
	resp, _ = pc.do("POST", "/login", url.Values{"token": {"alice-secret-token"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body = pc.do("GET", "/?m=%3Cscript%3E", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != pageCSP {
		t.Errorf("page CSP %q", csp)
	}
	for _, want := range []string{"Signed in as <strong>alice</strong>", `&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien&#34;; rm -rf / #`, `Ali\u202ecod.exe O&#39;Brien`,
		`<pre class="output">`, "no-such-host", `action="/runs/E7.g1.account/retry"`, `action="/hires/E8/approve"`,
		`held for a technician: no hr rule matches department &#34;Nowhere&#34;`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "\u202e", "alice-secret-token", "class=\"flash"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the page's forms")
	}
	csrf := m[1]

	// Refused posts change nothing.
	anon := newPageClient(t, srv.URL)
	for _, c := range []struct {
		name   string
		pc     *pageClient
		form   url.Values
		origin string
		code   int
	}{
		{"no session", anon, url.Values{"csrf": {csrf}}, "", http.StatusUnauthorized},
		{"no token", pc, url.Values{}, "", http.StatusForbidden},
		{"wrong token", pc, url.Values{"csrf": {strings.Repeat("0", len(csrf))}}, "", http.StatusForbidden},
		{"another origin", pc, url.Values{"csrf": {csrf}}, "http://evil.example", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.origin != "" {
				hdr["Origin"] = c.origin
			}
			for _, path := range []string{"/runs/" + failed.ID + "/retry", "/hires/E8/approve", "/logout"} {
				resp, _ := c.pc.do("POST", path, c.form, hdr)
				if resp.StatusCode != c.code {
					t.Errorf("POST %s: %d, want %d", path, resp.StatusCode, c.code)
				}
			}
			r, _ := store.GetRun(ctx, s.store.DB, failed.ID)
			if r.State != store.RunFailed || r.Attempts != failed.Attempts {
				t.Errorf("a refused retry changed the run: %s, attempt %d", r.State, r.Attempts)
			}
			h, _ := store.GetHire(ctx, s.store.DB, "E8")
			if h.State != store.HireHeld || h.Generation != 1 {
				t.Errorf("a refused approve changed the hire: %s g%d", h.State, h.Generation)
			}
		})
	}

	// The buttons, with the token: a redirect to a fixed message.
	resp, _ = pc.do("POST", "/hires/E8/approve", url.Values{"csrf": {csrf}}, map[string]string{"Origin": srv.URL})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?m=still-held" {
		t.Fatalf("approve of a hire that still maps nowhere: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = pc.do("POST", "/runs/"+failed.ID+"/retry", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?m=retried" {
		t.Fatalf("retry: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := waitRun(t, s, failed.ID, store.RunFailed); r.Attempts != failed.Attempts+1 {
		t.Errorf("attempts %d after a retry from the page", r.Attempts)
	}
	resp, _ = pc.do("POST", "/runs/E7.g1.nope/retry", url.Values{"csrf": {csrf}}, nil)
	if resp.Header.Get("Location") != "/?m=retry-failed" {
		t.Errorf("retry of a missing run: to %q", resp.Header.Get("Location"))
	}
	_, body = pc.do("GET", "/?m=retried", nil, nil)
	if !strings.Contains(body, `<p class="flash flash-ok" role="status">The run is queued again; it starts now.</p>`) {
		t.Errorf("no flash message after a retry")
	}
	// The handover link's API takes the session (GET): no report yet.
	resp, _ = pc.do("GET", "/api/v1/hires/E7/handover?format=html", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("handover with a session: %d, want 404 (no report yet, but signed in)", resp.StatusCode)
	}

	resp, _ = pc.do("POST", "/logout", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("sign out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = pc.do("GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("/ after signing out: %d", resp.StatusCode)
	}

	// Failed sign-ins are counted and limited per address: five (the
	// first was above; one more if it has refilled since), then 429.
	fails := 1
	for ; fails <= 6; fails++ {
		resp, _ := anon.do("POST", "/login", url.Values{"token": {"guess"}}, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d", fails+1, resp.StatusCode)
		}
	}
	if fails < 5 || fails > 6 {
		t.Fatalf("refused after %d failed sign-ins, want 5 (6 if one refilled)", fails)
	}
	resp, body = anon.do("POST", "/login", url.Values{"token": {"alice-secret-token"}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("the right token right after: %d, want 429", resp.StatusCode)
	}
	_, metrics := anon.do("GET", "/metrics", nil, nil)
	for _, want := range []string{fmt.Sprintf(`onboard_events_refused_total{reason="unauthorized",source="page"} %d`, 3+fails),
		`onboard_events_refused_total{reason="csrf",source="page"} 10`, `onboard_events_refused_total{reason="rate_limited",source="page"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPlaybookWithoutDirectoryHasNoAccount(t *testing.T) {
	p := Person{EmployeeID: "E1", GivenName: "Ada", Surname: "Lovelace", StartDate: "2027-01-04"}
	for _, c := range []struct {
		name    string
		a       Assignment
		account bool
	}{
		{"no directory", Assignment{Profile: "engineering", Host: "ws1"}, false},
		{"directory", Assignment{Profile: "engineering", Host: "ws1", Directory: "corp-ad", PasswordDeliver: "file:/tmp/x.pw"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			yml, err := playbookYAML(p, &c.a)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(yml), "\naccount:"); got != c.account {
				t.Errorf("account section present %v, want %v:\n%s", got, c.account, yml)
			}
			if _, err := parsePlaybook("E1.yaml", yml); err != nil {
				t.Errorf("the generated playbook does not parse: %v\n%s", err, yml)
			}
		})
	}
}

// Finished hires of long ago are folded, newest first, and bounded.
func TestPageRecentIsBounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	in := &pageInput{Runs: map[string][]*store.Run{}}
	for i := range pageRecent + 5 {
		id := fmt.Sprintf("E%03d", i)
		start := now.AddDate(0, 0, -200+i).Format(time.DateOnly)
		in.Hires = append(in.Hires, &store.Hire{EmployeeID: id, State: store.HireScheduled, Generation: 1, StartDate: start,
			Person: personJSON(t, Person{EmployeeID: id, GivenName: "A", Surname: "B"})})
		in.Runs[id] = []*store.Run{{ID: id + ".g1.activation", Generation: 1, Phase: PhaseActivation, State: store.RunOK}}
	}
	v := makePage(in, now, time.UTC, time.Second)
	if len(v.Recent) != pageRecent || v.RecentMore != 5 || v.Recent[0].Key != fmt.Sprintf("E%03d", pageRecent+4) || len(v.Hires) != 0 {
		t.Fatalf("recent: %d shown, %d more, first %s; %d upcoming", len(v.Recent), v.RecentMore, v.Recent[0].Key, len(v.Hires))
	}
	if got := renderPage(t, v); !strings.Contains(got, "5 older finished hires are not shown") {
		t.Error("the page does not say that older hires are left out")
	}
}
