// Package secret resolves credential references (env:, file:, cmd:) into
// values that redact themselves everywhere: logs, fmt, JSON and errors.
package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Redacted is what a secret prints as.
const Redacted = "[redacted]"

// Value holds a secret. Every way of printing it prints Redacted; only
// Reveal gives the value, and every call of Reveal is a place to review.
type Value struct{ v *string }

// New wraps s. Registered values are also scrubbed from free text by
// Scrub, as a safety net for output that embeds them by accident.
func New(s string) Value {
	register(s)
	return Value{v: &s}
}

// Reveal returns the secret itself.
func (s Value) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether no secret is held.
func (s Value) IsZero() bool { return s.v == nil || *s.v == "" }

func (s Value) String() string                { return Redacted }
func (s Value) GoString() string              { return Redacted }
func (s Value) LogValue() slog.Value          { return slog.StringValue(Redacted) }
func (s Value) MarshalText() ([]byte, error)  { return []byte(Redacted), nil }
func (s Value) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }
func (s Value) MarshalJSON() ([]byte, error)  { return []byte(`"` + Redacted + `"`), nil }
func (s *Value) UnmarshalText(b []byte) error {
	return errors.New("secret values are never read from text; use a reference")
}

// Ref is a reference to a secret, as written in inventory or playbooks:
// "env:NAME", "file:PATH" or "cmd:COMMAND". The reference itself is not
// secret and may be printed.
type Ref string

// Kinds of reference.
var refKinds = []string{"env:", "file:", "cmd:"}

// Validate checks the syntax of a reference without resolving it.
func (r Ref) Validate() error {
	s := string(r)
	for _, k := range refKinds {
		if strings.HasPrefix(s, k) {
			if strings.TrimSpace(s[len(k):]) == "" {
				return fmt.Errorf("credential reference %q names nothing after %q", s, k)
			}
			return nil
		}
	}
	// Never echo the value: it may be a pasted password or key.
	return fmt.Errorf("a credential must be a reference starting with env:, file: or cmd:, not a value (got %d characters; credentials are never written in playbooks or inventory)", len(s))
}

// Resolver resolves references, relative to a base directory for file: and
// with a timeout for cmd:. Results are cached per reference.
type Resolver struct {
	BaseDir string
	Timeout time.Duration

	mu    sync.Mutex
	cache map[Ref]Value
}

// Resolve returns the secret a reference points to.
func (r *Resolver) Resolve(ctx context.Context, ref Ref) (Value, error) {
	if err := ref.Validate(); err != nil {
		return Value{}, err
	}
	// Held across the lookup: concurrent dials of one run must not run a
	// cmd: reference (a password manager prompt) twice.
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cache[ref]; ok {
		return v, nil
	}
	v, err := r.resolve(ctx, ref)
	if err != nil {
		return Value{}, err
	}
	if r.cache == nil {
		r.cache = map[Ref]Value{}
	}
	r.cache[ref] = v
	return v, nil
}

func (r *Resolver) resolve(ctx context.Context, ref Ref) (Value, error) {
	s := string(ref)
	switch {
	case strings.HasPrefix(s, "env:"):
		name := s[len("env:"):]
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return Value{}, fmt.Errorf("credential %s: environment variable %s is not set", ref, name)
		}
		return New(v), nil
	case strings.HasPrefix(s, "file:"):
		p := ExpandPath(s[len("file:"):], r.BaseDir)
		b, err := os.ReadFile(p)
		if err != nil {
			return Value{}, fmt.Errorf("credential %s: %w", ref, err)
		}
		return New(strings.TrimRight(string(b), "\r\n")), nil
	default: // cmd:
		t := r.Timeout
		if t == 0 {
			t = 30 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, t)
		defer cancel()
		c := exec.CommandContext(cctx, "/bin/sh", "-c", s[len("cmd:"):])
		c.Dir = r.BaseDir
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			// The command's stderr is not the secret; its stdout may be.
			return Value{}, fmt.Errorf("credential %s: command failed: %w: %s", ref, err, tail(errb.String(), 300))
		}
		v := strings.TrimRight(out.String(), "\r\n")
		if v == "" {
			return Value{}, fmt.Errorf("credential %s: command printed nothing", ref)
		}
		return New(v), nil
	}
}

// ExpandPath expands a leading ~/ and makes a relative path relative to base.
func ExpandPath(p, base string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(h, p[2:])
		}
	}
	if !filepath.IsAbs(p) && base != "" {
		p = filepath.Join(base, p)
	}
	return p
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// The registry of every secret value seen, for Scrub, longest first so
// that a secret containing another is replaced whole.
var (
	regMu sync.RWMutex
	reg   = map[string]struct{}{}
	order []string
)

func register(s string) {
	// Very short values would scrub ordinary words; they are too weak to be
	// real secrets anyway.
	if len(s) < 4 {
		return
	}
	regMu.Lock()
	defer regMu.Unlock()
	add := func(v string) {
		if _, ok := reg[v]; ok {
			return
		}
		reg[v] = struct{}{}
		i := sort.Search(len(order), func(i int) bool { return len(order[i]) < len(v) })
		order = append(order, "")
		copy(order[i+1:], order[i:])
		order[i] = v
	}
	add(s)
	// A multi-line secret (a private key) is also scrubbed line by line.
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 {
			add(line)
		}
	}
}

// Scrub replaces every known secret value in s with Redacted. It is the
// safety net under command output, error text and reports.
func Scrub(s string) string {
	regMu.RLock()
	defer regMu.RUnlock()
	for _, v := range order {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// sensitiveKeys are attribute names whose values are always redacted in logs.
var sensitiveKeys = []string{"password", "passwd", "secret", "token", "credential", "private_key", "apikey", "api_key"}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts attributes
// with sensitive names and scrubs known secrets from string values.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return slog.String(a.Key, Redacted)
		}
	}
	if a.Value.Kind() == slog.KindString {
		return slog.String(a.Key, Scrub(a.Value.String()))
	}
	if a.Value.Kind() == slog.KindAny {
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}
