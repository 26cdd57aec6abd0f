package planner

import (
	"fmt"
	"time"

	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// stateCheck plans the check kinds that read the host's network and state
// (dns, tcp, http, service, user, group): defaults filled in, templates
// expanded, values that a template gave checked once known.
func stateCheck(cs *plan.CheckSpec, c playbook.Check, path string, expand func(string, string) string, code *codeFields) {
	yes := func(p *bool) bool { return p == nil || *p }
	dur := func(d, def time.Duration) plan.Duration {
		if d <= 0 {
			d = def
		}
		return plan.Duration(d)
	}
	switch {
	case c.DNS != nil:
		cs.DNS = &plan.DNSCheck{Name: expand(path+".dns.name", c.DNS.Name), Resolves: yes(c.DNS.Resolves),
			Addresses: c.DNS.Addresses, Timeout: dur(c.DNS.Timeout, playbook.DefaultNetTimeout)}
	case c.TCP != nil:
		cs.TCP = &plan.TCPCheck{Host: expand(path+".tcp.host", c.TCP.Host), Port: c.TCP.Port, Reachable: yes(c.TCP.Reachable),
			Timeout: dur(c.TCP.Timeout, playbook.DefaultNetTimeout)}
	case c.HTTP != nil:
		status := c.HTTP.Status
		if status == 0 {
			status = 200
		}
		h := &plan.HTTPCheck{URL: expand(path+".http.url", c.HTTP.URL), Status: status, Insecure: c.HTTP.Insecure,
			Timeout: dur(c.HTTP.Timeout, playbook.DefaultHTTPTimeout)}
		for i, s := range c.HTTP.Contains {
			h.Contains = append(h.Contains, expand(fmt.Sprintf("%s.http.contains[%d]", path, i), s))
		}
		if h.URL != c.HTTP.URL {
			if err := playbook.CheckURL(h.URL); err != nil {
				code.fail(path+".http.url", "once expanded %v", err)
			}
		}
		cs.HTTP = h
	case c.Service != nil:
		sc := &plan.ServiceCheck{Name: c.Service.Name, Running: c.Service.Running, Enabled: c.Service.Enabled}
		if sc.Running == nil && sc.Enabled == nil {
			t := true
			sc.Running = &t
		}
		cs.Service = sc
	case c.User != nil:
		u := &plan.UserCheck{Name: expand(path+".user.name", c.User.Name), Exists: yes(c.User.Exists)}
		for i, g := range c.User.Groups {
			u.Groups = append(u.Groups, expand(fmt.Sprintf("%s.user.groups[%d]", path, i), g))
		}
		cs.User = u
	case c.Group != nil:
		cs.Group = &plan.GroupCheck{Name: expand(path+".group.name", c.Group.Name), Exists: yes(c.Group.Exists)}
	}
}

// retry plans a check's retry, its interval defaulted.
func retry(r *playbook.Retry) *plan.Retry {
	if r == nil || r.Timeout <= 0 {
		return nil
	}
	every := r.Interval
	if every <= 0 {
		every = playbook.DefaultRetryEvery
	}
	return &plan.Retry{Timeout: plan.Duration(r.Timeout), Interval: plan.Duration(every)}
}

// checkTimeout is a check's time limit for one attempt: as written, or by
// default long enough for its retries and one more try.
func checkTimeout(c playbook.Check) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	if c.Retry != nil && c.Retry.Timeout > 0 {
		return c.Retry.Timeout + defaultTimeouts[plan.KindCheck]
	}
	return 0
}
