package playbook

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"onboard/internal/plan"
)

// HTTPCheck passes when a URL, fetched from the machine, answers the
// expected status and its body contains each entry.
type HTTPCheck struct {
	URL      string        `yaml:"url" onboard:"required"`
	Status   int           `yaml:"status"`
	Contains []string      `yaml:"contains" onboard:"text"`
	Insecure bool          `yaml:"insecure"`
	Timeout  time.Duration `yaml:"timeout"`
}

func (k *HTTPCheck) validate(fail func(field, format string, args ...any)) {
	if !templated(k.URL) {
		if err := CheckURL(k.URL); err != nil {
			fail("http.url", "%v", err)
		}
	}
	if k.Status != 0 && (k.Status < 100 || k.Status > 599) {
		fail("http.status", "must be an HTTP status from 100 to 599, got %d", k.Status)
	}
}

func (k *HTTPCheck) templated(add func(field, s string)) {
	add("http.url", k.URL)
	for i, s := range k.Contains {
		add(indexed("http.contains", i), s)
	}
}

func (k *HTTPCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	status := k.Status
	if status == 0 {
		status = 200
	}
	h := &plan.HTTPCheck{URL: p.Expand(path+".http.url", k.URL), Status: status, Insecure: k.Insecure,
		Timeout: orDefault(k.Timeout, DefaultHTTPTimeout)}
	for i, s := range k.Contains {
		h.Contains = append(h.Contains, p.Expand(indexed(path+".http.contains", i), s))
	}
	if h.URL != k.URL {
		if err := CheckURL(h.URL); err != nil {
			p.Fail(path+".http.url", "once expanded %v", err)
		}
	}
	cs.HTTP = h
}

// CheckURL accepts an absolute http or https URL with a host and no
// credentials.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL, got %q", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("must name a host, got %q", s)
	case strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("must not contain spaces, got %q", s)
	case u.User != nil:
		// Never echo it: the part before @ may be a password.
		return fmt.Errorf("must not carry a user or password (user:password@): the URL is shown in every report and journal")
	}
	return nil
}
