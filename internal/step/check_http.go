package step

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/shell"
)

// The http check: a URL fetched from the host answers the status wanted,
// and its body holds each entry of contains. curl does the fetch (Debian's
// links OpenSSL, whose verbose output names the server's certificate).
// Evidence: the status, the address connected to, and for https the
// certificate's subject, issuer, expiry and whether the host trusts it.

// httpStatusMark starts the line curl writes to stderr with the status.
const httpStatusMark = "onboard-http-status: "

// httpCommand fetches c.URL within its time limit; the body goes to stdout
// only when it is to be read.
func httpCommand(c *plan.HTTPCheck) string {
	cmd := "curl -sS -v --proto =http,https --max-time " + seconds(c.Timeout)
	if c.Insecure {
		cmd += " --insecure"
	}
	body := "/dev/null"
	if len(c.Contains) > 0 {
		body = "-"
	}
	cmd += " -o " + body + " -w " + shell.Quote("%{stderr}"+httpStatusMark+"%{http_code}\\n")
	return shell.Cmd(cmd, c.URL)
}

func httpCheck(ctx context.Context, x *Exec, c *plan.HTTPCheck) (State, error) {
	out, err := x.Run(ctx, httpCommand(c), false, "")
	if err != nil {
		return State{}, err
	}
	if out.ExitCode == 60 && !c.Insecure {
		// curl stops at a certificate the host does not trust before it
		// shows it: fetch again only to read which certificate that was.
		again := *c
		again.Insecure, again.Contains = true, nil
		if o, err := x.Run(ctx, httpCommand(&again), false, ""); err == nil {
			out.Stderr += "\n" + certLines(o.Stderr)
		}
	}
	st, err := httpVerdict(c, out)
	if ce, ok := err.(*CommandError); ok {
		ce.Host = x.T.Host.Name
	}
	return st, err
}

// httpSeen is what curl's verbose output says about one fetch.
type httpSeen struct {
	status    string // "200", "000" when there was no answer
	connected string // "10.0.0.1 port 631"
	subject   string
	issuer    string
	expires   string
	verify    string // "verified", or why not
	curlError string // "curl: (7) Failed to connect ..."
}

// parseCurl reads curl -v's stderr.
func parseCurl(stderr string) httpSeen {
	var h httpSeen
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(strings.TrimPrefix(line, "*"))
		switch {
		case strings.HasPrefix(line, httpStatusMark):
			h.status = strings.TrimSpace(strings.TrimPrefix(line, httpStatusMark))
		case strings.HasPrefix(line, "curl: ("):
			h.curlError = line
		case !strings.HasPrefix(line, "*"):
		case strings.HasPrefix(t, "Connected to "):
			// "Connected to name (10.0.0.1) port 631 (#0)"
			if i, j := strings.Index(t, "("), strings.Index(t, ")"); i >= 0 && j > i {
				h.connected = t[i+1:j] + strings.TrimSpace(strings.Split(t[j+1:], "(")[0])
				h.connected = strings.Replace(h.connected, "port", " port", 1)
				h.connected = strings.Join(strings.Fields(h.connected), " ")
			}
		case strings.HasPrefix(t, "subject: "):
			h.subject = strings.TrimPrefix(t, "subject: ")
		case strings.HasPrefix(t, "issuer: "):
			h.issuer = strings.TrimPrefix(t, "issuer: ")
		case strings.HasPrefix(t, "expire date: "):
			h.expires = strings.TrimPrefix(t, "expire date: ")
		case strings.HasPrefix(t, "SSL certificate verify ok"):
			h.verify = "trusted by the host"
		case strings.HasPrefix(t, "SSL certificate verify result: "):
			h.verify = "not trusted by the host: " + strings.TrimSuffix(strings.TrimPrefix(t, "SSL certificate verify result: "), ", continuing anyway.")
		case strings.HasPrefix(t, "SSL certificate problem: "):
			h.verify = "not trusted by the host: " + strings.TrimPrefix(t, "SSL certificate problem: ")
		}
	}
	return h
}

// certLines keeps the lines of curl -v's output that describe the
// server's certificate.
func certLines(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		t := strings.TrimSpace(strings.TrimPrefix(line, "*"))
		if strings.HasPrefix(line, "*") && (strings.HasPrefix(t, "subject: ") || strings.HasPrefix(t, "issuer: ") || strings.HasPrefix(t, "expire date: ")) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// evidence writes what was seen, on one line.
func (h httpSeen) evidence() string {
	var parts []string
	if h.connected != "" {
		parts = append(parts, "connected to "+h.connected)
	}
	if h.subject != "" {
		cert := "certificate subject " + h.subject
		if h.issuer != "" {
			cert += ", issuer " + h.issuer
		}
		if h.expires != "" {
			cert += ", expires " + strings.Join(strings.Fields(h.expires), " ")
		}
		if h.verify != "" {
			cert += ", " + h.verify
		}
		parts = append(parts, cert)
	}
	return oneLine(strings.Join(parts, "; "))
}

// facts are the fields of what curl saw of the server: the address and
// the certificate.
func (h httpSeen) facts() []result.Fact {
	var fs []result.Fact
	if h.connected != "" {
		fs = append(fs, fact("address", h.connected))
	}
	return append(fs, certFacts(h.subject, h.issuer, h.expires, h.verify)...)
}

// certFacts are the fields of a server's certificate, whichever OS read
// it; none without a certificate.
func certFacts(subject, issuer, expires, trust string) []result.Fact {
	if subject == "" {
		return nil
	}
	fs := []result.Fact{fact("certificate subject", subject)}
	for _, f := range []result.Fact{fact("certificate issuer", issuer), fact("certificate expiry", certDate(expires)), fact("certificate trust", trust)} {
		if f.Value != "" {
			fs = append(fs, f)
		}
	}
	return fs
}

// certDate writes a certificate's expiry as curl (OpenSSL: "Mar  1
// 12:00:00 2027 GMT") or .NET ("3/1/2027 12:00:00 PM") prints it, as
// "2027-03-01 12:00:00 UTC"; one it cannot read, as it was printed.
func certDate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range []string{"Jan 2 15:04:05 2006 MST", "1/2/2006 3:04:05 PM", "2006-01-02 15:04:05 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
	}
	return s
}

// httpVerdict judges curl's exit code, status line, certificate and body.
func httpVerdict(c *plan.HTTPCheck, out Out) (State, error) {
	switch out.ExitCode {
	case 126, 127:
		return toolMissing(out), nil
	}
	h := parseCurl(out.Stderr)
	ev := h.evidence()
	with := func(s string) string {
		if ev != "" {
			s += "; " + ev
		}
		return s
	}
	facts := h.facts()
	switch out.ExitCode {
	case 0:
	case 28:
		return differs(with(fmt.Sprintf("%s: no answer within %s", c.URL, time.Duration(c.Timeout)))).
			seen(append([]result.Fact{fact("status", "no answer (timed out)")}, facts...)...), nil
	default:
		why := h.curlError
		if why == "" {
			why = Tail(out.Stderr, 200)
		}
		return differs(with(fmt.Sprintf("%s: no answer: curl exited %d: %s", c.URL, out.ExitCode, oneLine(why)))).
			seen(append([]result.Fact{fact("status", fmt.Sprintf("no answer (curl exit %d)", out.ExitCode))}, facts...)...), nil
	}
	if h.status == "" {
		return State{}, &CommandError{Host: "", Out: out, Msg: "curl printed no status for " + c.URL}
	}
	status, err := strconv.Atoi(h.status)
	if err != nil {
		return State{}, &CommandError{Host: "", Out: out, Msg: fmt.Sprintf("curl printed status %q for %s", h.status, c.URL)}
	}
	return answerVerdict(c, status, out.Stdout, with, facts)
}

// answerVerdict judges the status and body a URL answered with, whichever
// OS fetched it; with adds the certificate's evidence to what is said,
// facts its fields.
func answerVerdict(c *plan.HTTPCheck, status int, body string, with func(string) string, facts []result.Fact) (State, error) {
	seen := fmt.Sprintf("%s answered %d", c.URL, status)
	fs := append([]result.Fact{fact("status", strconv.Itoa(status))}, facts...)
	if status != c.Status {
		return differs(with(fmt.Sprintf("%s, want %d", seen, c.Status))).seen(fs...), nil
	}
	bad, err := MatchOutput(body, c.Contains)
	if err != nil {
		return State{}, err
	}
	if bad != "" {
		return differs(with(fmt.Sprintf("%s, but its body does not contain %q", seen, bad))).seen(append(fs, fact("body", fmt.Sprintf("lacks %q", bad)))...), nil
	}
	if len(c.Contains) > 0 {
		seen += fmt.Sprintf(" with each of %d expected texts in its body", len(c.Contains))
		fs = append(fs, fact("body", fmt.Sprintf("holds each of %d expected texts", len(c.Contains))))
	}
	return inPlace(with(seen)).seen(fs...), nil
}
