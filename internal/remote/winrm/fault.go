package winrm

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors of this transport beyond package remote's sentinels.
var (
	// ErrShellQuota: the host refused a new shell because the user holds
	// its maximum (MaxShellsPerUser) or too many users have shells.
	ErrShellQuota = errors.New("WinRM shell quota exceeded")
	// ErrPollLoop: the server answered a command's output polls at once
	// and again and again without output or completion; the command was
	// abandoned rather than hammer the host (the library would poll in a
	// tight loop forever).
	ErrPollLoop = errors.New("WinRM output polling made no progress")
)

// WSManFault codes that matter here (MS-WSMV; Windows puts them in the
// fault's f:WSManFault Code attribute).
const (
	codeTimedOut      = "2150858793" // no output within OperationTimeout
	codeShellNotFound = "2150858843" // unknown ShellId (deleted, expired, server restarted)
	codeAccessDenied  = "5"
	codeShellQuota    = "2150859173" // ERROR_WSMAN_QUOTA_MAX_SHELLS
	codeOpsQuota      = "2150859174" // ERROR_WSMAN_QUOTA_MAX_OPERATIONS: a text shell's commands count until it is deleted
)

// Fault is a SOAP fault from the server.
type Fault struct {
	Action    string // the request's action, short: "Create", "Receive"
	Status    int    // HTTP status
	Code      string // s:Sender, s:Receiver
	Subcode   string // w:TimedOut, w:InvalidSelectors, w:QuotaLimit, w:AccessDenied
	WSManCode string // Windows' error number, decimal
	Reason    string
}

func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WS-Management fault on %s", orDefault(f.Action, "request"))
	if f.Subcode != "" {
		b.WriteString(": " + f.Subcode)
	} else if f.Code != "" {
		b.WriteString(": " + f.Code)
	}
	if f.WSManCode != "" {
		b.WriteString(" (" + f.WSManCode + ")")
	}
	if f.Reason != "" {
		b.WriteString(": " + f.Reason)
	}
	return b.String()
}

func (f *Fault) sub(name string) bool {
	return f.Subcode == name || strings.HasSuffix(f.Subcode, ":"+name)
}

// TimedOut: a long-poll Receive ended without output (poll again).
func (f *Fault) TimedOut() bool { return f.sub("TimedOut") || f.WSManCode == codeTimedOut }

// ShellGone: the server does not know the shell (dropped, idle-expired,
// service restarted).
func (f *Fault) ShellGone() bool {
	return f.sub("InvalidSelectors") || f.WSManCode == codeShellNotFound
}

// Quota: a WinRM quota (shells per user, concurrent users, processes per
// shell) refused the request.
func (f *Fault) Quota() bool {
	return f.sub("QuotaLimit") || f.WSManCode == codeShellQuota || f.WSManCode == codeOpsQuota
}

// AccessDenied: logged in, but not allowed to use the shell.
func (f *Fault) AccessDenied() bool { return f.sub("AccessDenied") || f.WSManCode == codeAccessDenied }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// shortAction is the last element of an action URI: "Receive".
func shortAction(action string) string {
	return action[strings.LastIndexByte(action, '/')+1:]
}

// faultEnvelope is the part of a SOAP 1.2 fault this package reads; names
// match by local name, whatever the prefixes.
type faultEnvelope struct {
	Body struct {
		Fault *struct {
			Code struct {
				Value   string `xml:"Value"`
				Subcode struct {
					Value string `xml:"Value"`
				} `xml:"Subcode"`
			} `xml:"Code"`
			Reason struct {
				Text []string `xml:"Text"`
			} `xml:"Reason"`
			Detail struct {
				WSManFault struct {
					Code    string `xml:"Code,attr"`
					Message string `xml:"Message"`
				} `xml:"WSManFault"`
			} `xml:"Detail"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

// parseFault returns the fault in a SOAP response, or nil.
func parseFault(body []byte) *Fault {
	if !bytes.Contains(body, []byte("Fault")) {
		return nil
	}
	var env faultEnvelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Fault == nil {
		return nil
	}
	sf := env.Body.Fault
	f := &Fault{
		Code:      strings.TrimSpace(sf.Code.Value),
		Subcode:   strings.TrimSpace(sf.Code.Subcode.Value),
		WSManCode: strings.TrimSpace(sf.Detail.WSManFault.Code),
		Reason:    oneLine(sf.Detail.WSManFault.Message),
	}
	if f.Reason == "" && len(sf.Reason.Text) > 0 {
		f.Reason = oneLine(sf.Reason.Text[0])
	}
	return f
}

func oneLine(s string) string { return snippet(s, 500) }

// receiveProgress reports whether a Receive response carries output or
// says the command is done: the poll guard counts the replies that do not.
func receiveProgress(body string) bool {
	d := xml.NewDecoder(strings.NewReader(body))
	inStream := false
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Stream":
				inStream = true
			case "CommandState":
				for _, a := range t.Attr {
					if a.Name.Local == "State" && strings.HasSuffix(a.Value, "/Done") {
						return true
					}
				}
			}
		case xml.EndElement:
			inStream = false
		case xml.CharData:
			if inStream && len(bytes.TrimSpace(t)) > 0 {
				return true
			}
		}
	}
}

// Poll guard limits: more than maxIdlePolls replies without progress within
// pollWindow is a loop. A real server holds a Receive for OperationTimeout
// (60 s) when there is nothing to say; the library's loop on a faulting
// server sends thousands per second.
const (
	maxIdlePolls = 20
	pollWindow   = time.Second
)

// pollGuard watches one command's Receive loop.
type pollGuard struct {
	mu    sync.Mutex
	times [maxIdlePolls]time.Time
	n     int
	err   error
}

// idle records a Receive that made no progress; it returns an error once
// there have been too many too fast, and from then on.
func (g *pollGuard) idle(now time.Time, what string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	i := g.n % maxIdlePolls
	oldest := g.times[i]
	g.times[i] = now
	g.n++
	if g.n > maxIdlePolls && now.Sub(oldest) < pollWindow {
		g.err = fmt.Errorf("the server answered %d output polls within %v with no output and no completion (last: %s); stopped polling rather than hammer the host: %w",
			maxIdlePolls, now.Sub(oldest).Round(time.Millisecond), snippet(what, 200), ErrPollLoop)
	}
	return g.err
}

func (g *pollGuard) tripped() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
