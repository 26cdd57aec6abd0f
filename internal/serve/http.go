package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"onboard/internal/report"
	"onboard/internal/result"
	"onboard/internal/serve/store"
)

// HTTPConfig is who may call what.
type HTTPConfig struct {
	// APITokens may read the API and sign in to the status page (the token
	// is the page's password; its name is who acted).
	APITokens []Token
	// SCIMTokens are the identity providers' bearer tokens.
	SCIMTokens []Token
	// HRKeys sign HR webhooks (several during a rotation).
	HRKeys [][]byte
	// HRWindow is how far a webhook's timestamp may be from now.
	HRWindow time.Duration
	// SessionKey signs page sessions (shared by instances behind one
	// address); empty makes one per process.
	SessionKey []byte
	// Secure marks cookies Secure (served over TLS, or behind a TLS proxy).
	Secure bool
	// PageRefresh is how often the status page reloads itself while a run
	// is due or running (default 5s; otherwise every minute).
	PageRefresh time.Duration
	// BaseURL is the service's public address, for the links in answers
	// (default: from the request).
	BaseURL string
}

// Handler serves the webhook, SCIM, the API, the status page and metrics.
func (s *Service) Handler(hc HTTPConfig) (http.Handler, error) {
	if hc.HRWindow <= 0 {
		hc.HRWindow = 5 * time.Minute
	}
	h := &server{s: s, hc: hc, api: tokenSet(hc.APITokens), scim: tokenSet(hc.SCIMTokens), sess: newSessions(hc.SessionKey, hc.Secure)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", h.ready)
	mux.Handle("GET /metrics", s.stats.handler())

	mux.HandleFunc("GET /api/v1/hires", h.apiAuth(h.listHires))
	mux.HandleFunc("GET /api/v1/hires/{id}", h.apiAuth(h.getHire))
	mux.HandleFunc("GET /api/v1/hires/{id}/handover", h.apiAuth(h.handover))
	mux.HandleFunc("POST /api/v1/hires/{id}/approve", h.apiAuth(h.approveAPI))
	mux.HandleFunc("GET /api/v1/runs/{id}", h.apiAuth(h.getRun))
	mux.HandleFunc("POST /api/v1/runs/{id}/retry", h.apiAuth(h.retryAPI))
	mux.HandleFunc("GET /api/v1/events", h.apiAuth(h.listEvents))
	if err := h.routes(mux); err != nil {
		return nil, err
	}
	return securityHeaders(mux), nil
}

type server struct {
	s    *Service
	hc   HTTPConfig
	api  tokenSet
	scim tokenSet
	sess *sessions
}

// routes adds the front doors and the page (see hooks.go, page.go).
var extraRoutes []func(h *server, mux *http.ServeMux) error

func (h *server) routes(mux *http.ServeMux) error {
	for _, add := range extraRoutes {
		if err := add(h, mux); err != nil {
			return err
		}
	}
	return nil
}

// securityHeaders: no framing, no sniffing, no referrer leaking ids.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (h *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.s.store.DB.PingContext(ctx); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// apiAuth admits an API token (bearer) or a signed-in page session;
// state-changing calls from a session also need its CSRF token.
func (h *server) apiAuth(next func(w http.ResponseWriter, r *http.Request, who string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := h.api.match(bearer(r)); name != "" {
			next(w, r, name)
			return
		}
		if sess := h.sess.read(r, h.s.now()); sess != nil {
			if r.Method == http.MethodGet || r.Header.Get("X-CSRF-Token") == sess.CSRF {
				next(w, r, sess.Name)
				return
			}
		}
		h.s.stats.refuse("api", "unauthorized")
		w.Header().Set("WWW-Authenticate", `Bearer realm="onboard"`)
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// HireView is a hire with its runs, as the API shows it.
type HireView struct {
	*store.Hire
	Runs   []*store.Run   `json:"runs"`
	Events []*store.Event `json:"events,omitempty"`
	// Progress is the phase reached: the last run that finished ok.
	Progress string `json:"progress"`
}

func (h *server) hireView(ctx context.Context, hire *store.Hire, events bool) (*HireView, error) {
	runs, err := store.RunsOf(ctx, h.s.store.DB, hire.EmployeeID)
	if err != nil {
		return nil, err
	}
	sortRuns(runs)
	v := &HireView{Hire: hire, Runs: runs, Progress: "not started"}
	reached := -1
	for _, r := range runs {
		r.Plan = nil
		if i := phaseIndex(r.Phase); r.Generation == hire.Generation && r.State == store.RunOK && i > reached {
			v.Progress, reached = r.Phase, i
		}
	}
	if events {
		v.Events, err = store.Events(ctx, h.s.store.DB, hire.EmployeeID, 50)
	}
	return v, err
}

func (h *server) listHires(w http.ResponseWriter, r *http.Request, _ string) {
	hires, err := store.Hires(r.Context(), h.s.store.DB)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []*HireView{}
	for _, hi := range hires {
		v, err := h.hireView(r.Context(), hi, false)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		v.Playbook = ""
		for _, run := range v.Runs {
			run.Result = nil
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"hires": out})
}

func (h *server) getHire(w http.ResponseWriter, r *http.Request, _ string) {
	hire, err := store.GetHire(r.Context(), h.s.store.DB, r.PathValue("id"))
	if h.notFound(w, err) {
		return
	}
	v, err := h.hireView(r.Context(), hire, true)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *server) notFound(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
	return true
}

func (h *server) getRun(w http.ResponseWriter, r *http.Request, _ string) {
	run, err := store.GetRun(r.Context(), h.s.store.DB, r.PathValue("id"))
	if h.notFound(w, err) {
		return
	}
	run.Plan = nil
	writeJSON(w, http.StatusOK, run)
}

func (h *server) listEvents(w http.ResponseWriter, r *http.Request, _ string) {
	evs, err := store.Events(r.Context(), h.s.store.DB, r.URL.Query().Get("employee_id"), 200)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if evs == nil {
		evs = []*store.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
}

// lastResult is the newest finished result of a hire's activation (its
// handover), or of its newest run.
func (h *server) lastResult(ctx context.Context, emp string) (*result.Run, error) {
	runs, err := store.RunsOf(ctx, h.s.store.DB, emp)
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Phase == PhaseActivation && len(runs[i].Result) > 0 {
			var res result.Run
			if err := json.Unmarshal(runs[i].Result, &res); err != nil {
				return nil, err
			}
			return &res, nil
		}
	}
	return nil, fmt.Errorf("hire %s has no handover report yet: %w", emp, store.ErrNotFound)
}

// handover renders the hire's handover report: ?format=html|md|json.
func (h *server) handover(w http.ResponseWriter, r *http.Request, _ string) {
	emp := r.PathValue("id")
	res, err := h.lastResult(r.Context(), emp)
	if h.notFound(w, err) {
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	ext := map[string]string{"html": ".html", "md": ".md", "json": ".json", "xml": ".xml"}[format]
	if ext == "" {
		writeError(w, http.StatusBadRequest, "format must be html, md, json or xml")
		return
	}
	b, err := report.Render("handover"+ext, report.Only(res, emp))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	ct := map[string]string{".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8",
		".json": "application/json", ".xml": "application/xml"}[ext]
	w.Header().Set("Content-Type", ct)
	if ext == ".html" {
		// The report is self-contained: no script, no remote content.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	_, _ = w.Write(b)
}

func (h *server) retryAPI(w http.ResponseWriter, r *http.Request, who string) {
	id := r.PathValue("id")
	if err := h.s.Retry(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	h.s.log.Info("run retried", "run", id, "by", who)
	writeJSON(w, http.StatusAccepted, map[string]string{"run": id, "state": store.RunScheduled})
}

func (h *server) approveAPI(w http.ResponseWriter, r *http.Request, who string) {
	emp := r.PathValue("id")
	acc, err := h.s.Approve(r.Context(), emp, who)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, acc)
}

// baseURL is where links in answers point.
func (h *server) baseURL(r *http.Request) string {
	if h.hc.BaseURL != "" {
		return strings.TrimRight(h.hc.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
