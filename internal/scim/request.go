package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"onboard/internal/strictyaml"
)

// Bounds on what a client may send.
const (
	maxBody       = 64 << 10 // bytes of a request body
	maxValue      = 256      // characters of one string value
	maxFilter     = 1024     // characters of a filter
	maxOperations = 100      // operations in one PATCH
)

// Option configures NewHandler.
type Option func(*[]scim.ServerOption)

// WithBaseURL makes meta.location and the Location header absolute: base is
// the public URL of the endpoint, e.g. "https://onboard.example.com/scim/v2".
// Without it they are relative ("Users/ID").
func WithBaseURL(base string) Option {
	return func(o *[]scim.ServerOption) { *o = append(*o, scim.WithBaseURL(base)) }
}

// NewHandler returns the SCIM 2.0 endpoint over b. It answers requests whose
// path is /scim/v2/… (or /v2/… or /…, when the caller strips a prefix), each
// with a bearer token that tokens accepts. log gets one line a request and
// the Backend's unexpected errors; never a token or a body.
func NewHandler(b Backend, tokens TokenChecker, log *slog.Logger, opts ...Option) (http.Handler, error) {
	if b == nil || tokens == nil {
		return nil, errors.New("scim handler: a Backend and a TokenChecker are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	users := users{b: b, log: log, schemas: userSchemas()}
	serverOpts := []scim.ServerOption{scim.WithLogger(libLogger{log})}
	for _, o := range opts {
		o(&serverOpts)
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: serviceProviderConfig(),
		ResourceTypes:         []scim.ResourceType{userResourceType(users)},
	}, serverOpts...)
	if err != nil {
		return nil, fmt.Errorf("scim handler: %w", err)
	}
	return &handler{srv: srv, tokens: tokens, log: log, schemas: users.schemas}, nil
}

type handler struct {
	srv     scim.Server
	tokens  TokenChecker
	log     *slog.Logger
	schemas schemas
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.serve(rec, r)
	h.log.InfoContext(r.Context(), "scim request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(w, r) {
		return
	}
	// The request is the caller's: changes go to a copy.
	r = r.Clone(r.Context())
	// The library serves paths below /v2 (or the bare resource paths).
	path := strings.TrimPrefix(r.URL.Path, "/scim")
	rest := strings.TrimPrefix(path, "/v2")
	if rest == "/Groups" || strings.HasPrefix(rest, "/Groups/") {
		writeError(w, scimerrors.ScimError{Status: http.StatusNotFound, Detail: "Groups are not provided: this service provider manages Users only."})
		return
	}
	q := r.URL.Query()
	if f := q.Get("filter"); f != "" {
		if utf8.RuneCountInString(f) > maxFilter || hasControl(f) {
			writeError(w, scimerrors.ScimErrorInvalidFilter)
			return
		}
		if g := rewriteFilter(f); g != f {
			q.Set("filter", g)
			r.URL.RawQuery = q.Encode()
		}
	}
	id, isOne := strings.CutPrefix(rest, "/Users/")
	isUser := rest == "/Users" || (isOne && id != ".search" && !strings.Contains(id, "/"))
	if isUser && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		body, serr := h.checkBody(w, r)
		if serr != nil {
			writeError(w, *serr)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	r.URL.Path = path
	r.URL.RawPath = ""
	h.srv.ServeHTTP(w, r)
}

// authorized checks the bearer token and answers 401 when it is missing,
// of another scheme, or refused (RFC 6750 §3).
func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	switch {
	case auth == "":
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "Authorization required: send Authorization: Bearer with the secret token."})
		return false
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim", error="invalid_request"`)
		writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "Only the Bearer authorization scheme is accepted."})
		return false
	case !h.tokens(token):
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim", error="invalid_token"`)
		writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "The bearer token is not valid."})
		return false
	}
	return true
}

// checkBody reads a POST, PUT or PATCH body, refuses what the library would
// let through (unknown attributes, control characters, overlong values) and
// normalises what Entra sends in non-standard shapes; it returns the body
// the library is to parse.
func (h *handler) checkBody(w http.ResponseWriter, r *http.Request) ([]byte, *scimerrors.ScimError) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("The request body is larger than %d bytes.", maxBody)}
		}
		return nil, &scimerrors.ScimErrorInvalidSyntax
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var body map[string]interface{}
	if err := d.Decode(&body); err != nil || d.More() {
		return nil, &scimerrors.ScimErrorInvalidSyntax
	}
	var serr *scimerrors.ScimError
	if r.Method == http.MethodPatch {
		serr = h.checkPatch(body)
	} else {
		serr = h.checkResource(body)
	}
	if serr != nil {
		return nil, serr
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, &scimerrors.ScimErrorInvalidSyntax
	}
	return out, nil
}

// checkResource checks a User as POST and PUT send it.
func (h *handler) checkResource(body map[string]interface{}) *scimerrors.ScimError {
	for k, v := range body {
		switch {
		case strings.EqualFold(k, "schemas"), strings.EqualFold(k, "id"), strings.EqualFold(k, "meta"):
		case h.extension(k) != "":
			ext, ok := v.(map[string]interface{})
			if !ok {
				continue // the library answers invalidValue
			}
			uri := h.extension(k)
			for ek := range ext {
				if _, ok := h.schemas.ext[uri].Attributes.ContainsAttribute(ek); !ok {
					return unknownAttribute(uri + ":" + ek)
				}
			}
			normaliseExtension(uri, ext)
		default:
			if _, ok := h.schemas.core.Attributes.ContainsAttribute(k); !ok {
				return unknownAttribute(k)
			}
			if strings.EqualFold(k, "active") {
				body[k] = normaliseBool(v)
			}
		}
	}
	return checkStrings("", body)
}

// checkPatch checks a PatchOp message and normalises Entra's shapes of its
// operations: active as the string "True" or "False", and manager as a bare
// ID where the schema has a complex value.
func (h *handler) checkPatch(body map[string]interface{}) *scimerrors.ScimError {
	key, ok := lowerKeys(body, "Operations")
	if !ok {
		return nil // the library refuses it
	}
	ops, ok := body[key].([]interface{})
	if !ok {
		return nil
	}
	if len(ops) > maxOperations {
		return &scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("More than %d operations.", maxOperations)}
	}
	managerPath := strings.ToLower(EnterpriseSchema + ":manager")
	for _, o := range ops {
		op, ok := o.(map[string]interface{})
		if !ok {
			continue
		}
		var path string
		if k, ok := lowerKeys(op, "path"); ok {
			path, _ = op[k].(string)
			if err := checkString("path", path); err != nil {
				e := err.(scimerrors.ScimError)
				e.ScimType = scimerrors.ScimTypeInvalidPath
				return &e
			}
		}
		vk, ok := lowerKeys(op, "value")
		if !ok {
			continue
		}
		switch lp := strings.ToLower(path); {
		case lp == "active":
			op[vk] = normaliseBool(op[vk])
		case lp == managerPath:
			op[vk] = normaliseManager(op[vk])
		case path == "":
			if m, ok := op[vk].(map[string]interface{}); ok {
				for k, v := range m {
					switch lk := strings.ToLower(k); {
					case lk == "active":
						m[k] = normaliseBool(v)
					case lk == managerPath:
						m[k] = normaliseManager(v)
					case h.extension(k) != "":
						if ext, ok := v.(map[string]interface{}); ok {
							normaliseExtension(h.extension(k), ext)
						}
					}
				}
			}
		}
		if err := checkStrings(path, op[vk]); err != nil {
			return err
		}
	}
	return nil
}

// extension returns the URI of the extension whose name k is, or "".
func (h *handler) extension(k string) string {
	for uri := range h.schemas.ext {
		if strings.EqualFold(k, uri) {
			return uri
		}
	}
	return ""
}

func normaliseExtension(uri string, ext map[string]interface{}) {
	if uri != EnterpriseSchema {
		return
	}
	if k, ok := lowerKeys(ext, "manager"); ok {
		ext[k] = normaliseManager(ext[k])
	}
}

// normaliseBool turns Entra's "True" and "False" into booleans.
func normaliseBool(v interface{}) interface{} {
	if s, ok := v.(string); ok {
		switch strings.ToLower(s) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return v
}

// normaliseManager turns a bare manager ID into the complex value the
// enterprise schema defines.
func normaliseManager(v interface{}) interface{} {
	if s, ok := v.(string); ok {
		return map[string]interface{}{"value": s}
	}
	return v
}

func unknownAttribute(name string) *scimerrors.ScimError {
	return &scimerrors.ScimError{
		Status:   http.StatusBadRequest,
		ScimType: scimerrors.ScimTypeInvalidSyntax,
		Detail:   fmt.Sprintf("%s: unknown attribute", name),
	}
}

// checkStrings refuses control characters and overlong strings anywhere in
// v, naming the attribute they were found in.
func checkStrings(name string, v interface{}) *scimerrors.ScimError {
	switch v := v.(type) {
	case string:
		if err := checkString(name, v); err != nil {
			e := err.(scimerrors.ScimError)
			return &e
		}
	case []interface{}:
		for _, e := range v {
			if err := checkStrings(name, e); err != nil {
				return err
			}
		}
	case map[string]interface{}:
		for k, e := range v {
			if err := checkString("attribute name", k); err != nil {
				e := err.(scimerrors.ScimError)
				return &e
			}
			n := k
			switch {
			case name == "":
			case strings.EqualFold(name, UserSchema), strings.EqualFold(name, EnterpriseSchema), strings.EqualFold(name, OnboardSchema):
				n = name + ":" + k
			default:
				n = name + "." + k
			}
			if err := checkStrings(n, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkString refuses control characters (a newline included) and values
// longer than maxValue characters.
func checkString(name, s string) error {
	if name == "" {
		name = "value"
	}
	if !utf8.ValidString(s) {
		return invalidValue(name, "not valid UTF-8")
	}
	if hasControl(s) {
		return invalidValue(name, "control characters are not allowed")
	}
	if n := utf8.RuneCountInString(s); n > maxValue {
		return invalidValue(name, fmt.Sprintf("longer than %d characters", maxValue))
	}
	return nil
}

// hasControl: the project's control characters (C0, DEL, C1 and the
// bidirectional overrides, as playbooks refuse them) and the line and
// paragraph separators, which end a line in logs and JavaScript.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return strictyaml.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

// writeError answers with a SCIM error message (RFC 7644 §3.12).
func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	raw, err := json.Marshal(e)
	if err != nil {
		raw = []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500"}`)
		e.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(raw)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// libLogger passes the library's error reports to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Error(args ...interface{}) {
	// The library passes a message, then key-value pairs that may hold a
	// whole resource: only the message and the error are logged.
	attrs := []any{}
	for i := 1; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "error" {
			attrs = append(attrs, "err", args[i+1])
		}
	}
	msg := "scim library"
	if len(args) > 0 {
		msg += ": " + fmt.Sprint(args[0])
	}
	l.log.Error(msg, attrs...)
}
