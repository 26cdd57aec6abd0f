package wsman

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Protocol details checked on the wire, with requests written the way
// pypsrp writes them (other prefixes than the server's, End="True").

type rawClient struct {
	t          *testing.T
	url        string
	user, pass string
}

func newRawClient(t *testing.T, l *lab) *rawClient {
	return &rawClient{t: t, url: l.url, user: aliceUser, pass: alicePass}
}

type rawRequest struct {
	action, shellID, body string
	operationTimeout      string // default PT20S
	maxEnvelopeSize       int    // default 153600
	resourceURI           string // default the cmd shell
}

type rawResponse struct {
	status    int
	header    http.Header
	body      string
	messageID string // of the request
	env       struct {
		Header struct {
			Action    string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
			MessageID string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
			To        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
			RelatesTo string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing RelatesTo"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
		Body struct {
			Fault *struct {
				Code struct {
					Value   string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
					Subcode struct {
						Value string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
					} `xml:"http://www.w3.org/2003/05/soap-envelope Subcode"`
				} `xml:"http://www.w3.org/2003/05/soap-envelope Code"`
				Reason struct {
					Text string `xml:"http://www.w3.org/2003/05/soap-envelope Text"`
				} `xml:"http://www.w3.org/2003/05/soap-envelope Reason"`
				Detail struct {
					WSMan struct {
						Code    string `xml:"Code,attr"`
						Machine string `xml:"Machine,attr"`
						Message string `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault Message"`
					} `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault WSManFault"`
				} `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
			Receive *struct {
				Streams []struct {
					Name      string `xml:"Name,attr"`
					CommandID string `xml:"CommandId,attr"`
					End       string `xml:"End,attr"`
					Data      string `xml:",chardata"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
				State struct {
					CommandID string  `xml:"CommandId,attr"`
					State     string  `xml:"State,attr"`
					ExitCode  *string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ExitCode"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandState"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse"`
			CommandResponse struct {
				CommandID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandId"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandResponse"`
			Shell struct {
				ShellID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ShellId"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
			ResourceCreated struct {
				ReferenceParameters struct {
					SelectorSet struct {
						Selector string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Selector"`
					} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet"`
				} `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing ReferenceParameters"`
			} `xml:"http://schemas.xmlsoap.org/ws/2004/09/transfer ResourceCreated"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}
}

func (c *rawClient) do(r rawRequest) *rawResponse {
	c.t.Helper()
	if r.operationTimeout == "" {
		r.operationTimeout = "PT20S"
	}
	if r.maxEnvelopeSize == 0 {
		r.maxEnvelopeSize = 153600
	}
	if r.resourceURI == "" {
		r.resourceURI = cmdResourceURI
	}
	id := "uuid:" + strings.ToLower(newGUID())
	var b strings.Builder
	fmt.Fprintf(&b, `<s:Envelope xmlns:rsp="%s" xmlns:s="%s" xmlns:wsa="%s" xmlns:wsman="%s" xmlns:wsmv="%s"><s:Header>`, nsShell, nsSOAP, nsAddressing, nsWSMan, nsWSManMS)
	fmt.Fprintf(&b, `<wsa:Action s:mustUnderstand="true">%s</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand="true">%d</wsman:MaxEnvelopeSize>`, r.action, r.maxEnvelopeSize)
	fmt.Fprintf(&b, `<wsa:MessageID>%s</wsa:MessageID><wsman:OperationTimeout>%s</wsman:OperationTimeout>`, id, r.operationTimeout)
	fmt.Fprintf(&b, `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">%s</wsa:Address></wsa:ReplyTo>`, anonymousAddress)
	fmt.Fprintf(&b, `<wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI><wsa:To>%s</wsa:To>`, r.resourceURI, c.url)
	if r.shellID != "" {
		fmt.Fprintf(&b, `<wsman:SelectorSet><wsman:Selector Name="ShellId">%s</wsman:Selector></wsman:SelectorSet>`, r.shellID)
	}
	fmt.Fprintf(&b, `</s:Header><s:Body>%s</s:Body></s:Envelope>`, r.body)
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(b.String()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", soapXMLContent)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	out := &rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), messageID: id}
	if len(body) > 0 {
		if err := xml.Unmarshal(body, &out.env); err != nil {
			c.t.Fatalf("response to %s is not XML: %v\n%s", r.action, err, body)
		}
	}
	return out
}

func (c *rawClient) create(body string) string {
	c.t.Helper()
	if body == "" {
		body = `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`
	}
	r := c.do(rawRequest{action: actionCreate, body: body})
	if r.status != http.StatusOK || r.env.Body.Shell.ShellID == "" {
		c.t.Fatalf("Create: %d %s", r.status, r.body)
	}
	return r.env.Body.Shell.ShellID
}

func (c *rawClient) command(shellID, command string, args ...string) string {
	c.t.Helper()
	body := `<rsp:CommandLine><rsp:Command>` + xmlText(command) + `</rsp:Command>`
	for _, a := range args {
		body += `<rsp:Arguments>` + xmlText(a) + `</rsp:Arguments>`
	}
	r := c.do(rawRequest{action: actionCommand, shellID: shellID, body: body + `</rsp:CommandLine>`})
	if r.status != http.StatusOK || r.env.Body.CommandResponse.CommandID == "" {
		c.t.Fatalf("Command: %d %s", r.status, r.body)
	}
	return r.env.Body.CommandResponse.CommandID
}

func (c *rawClient) receive(shellID, commandID, operationTimeout string) *rawResponse {
	c.t.Helper()
	return c.do(rawRequest{action: actionReceive, shellID: shellID, operationTimeout: operationTimeout,
		body: `<rsp:Receive><rsp:DesiredStream CommandId="` + commandID + `">stdout stderr</rsp:DesiredStream></rsp:Receive>`})
}

func (c *rawClient) send(shellID, commandID, data string, end bool) *rawResponse {
	c.t.Helper()
	return c.do(rawRequest{action: actionSend, shellID: shellID, body: fmt.Sprintf(
		`<rsp:Send><rsp:Stream Name="stdin" CommandId="%s" End="%s">%s</rsp:Stream></rsp:Send>`,
		commandID, map[bool]string{true: "True", false: "False"}[end], base64.StdEncoding.EncodeToString([]byte(data)))})
}

func (c *rawClient) signal(shellID, commandID, code string) *rawResponse {
	c.t.Helper()
	return c.do(rawRequest{action: actionSignal, shellID: shellID, body: `<rsp:Signal CommandId="` + commandID + `"><rsp:Code>` + signalPrefix + code + `</rsp:Code></rsp:Signal>`})
}

// output collects a command's output until Done.
func (c *rawClient) output(shellID, commandID string) (stdout, stderr, exitCode string) {
	c.t.Helper()
	for range 100 {
		r := c.receive(shellID, commandID, "")
		rr := r.env.Body.Receive
		if r.status != http.StatusOK || rr == nil {
			c.t.Fatalf("Receive: %d %s", r.status, r.body)
		}
		for _, s := range rr.Streams {
			data, err := base64.StdEncoding.DecodeString(s.Data)
			if err != nil {
				c.t.Fatal(err)
			}
			if s.Name == "stdout" {
				stdout += string(data)
			} else {
				stderr += string(data)
			}
		}
		if rr.State.State == stateDone {
			if rr.State.ExitCode == nil {
				c.t.Fatalf("Done without ExitCode: %s", r.body)
			}
			return stdout, stderr, *rr.State.ExitCode
		}
	}
	c.t.Fatal("command never done")
	return
}

func checkHeader(t *testing.T, what string, r *rawResponse, action string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/soap+xml;charset=UTF-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if strings.HasPrefix(r.body, "<?xml") || !strings.HasPrefix(r.body, "<s:Envelope ") {
		t.Errorf("%s: body starts %.40q", what, r.body)
	}
	h := r.env.Header
	if h.Action != action {
		t.Errorf("%s: a:Action %q, want %q", what, h.Action, action)
	}
	if h.RelatesTo != r.messageID {
		t.Errorf("%s: a:RelatesTo %q, want the request's %q", what, h.RelatesTo, r.messageID)
	}
	if !regexp.MustCompile(`^uuid:[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`).MatchString(h.MessageID) {
		t.Errorf("%s: a:MessageID %q", what, h.MessageID)
	}
	if h.To != anonymousAddress {
		t.Errorf("%s: a:To %q", what, h.To)
	}
}

func checkFault(t *testing.T, what string, r *rawResponse, subcode, code string) {
	t.Helper()
	checkHeader(t, what, r, actionFault)
	f := r.env.Body.Fault
	if r.status != http.StatusInternalServerError || f == nil || f.Code.Subcode.Value != subcode || f.Detail.WSMan.Code != code || f.Detail.WSMan.Message == "" {
		t.Errorf("%s: got %d %s\nwant fault %s %s", what, r.status, r.body, subcode, code)
	}
}

func TestProtocolShellLifecycle(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	r := c.do(rawRequest{action: actionCreate, body: `<rsp:Shell><rsp:WorkingDirectory>C:\Users\alice</rsp:WorkingDirectory>` +
		`<rsp:Environment><rsp:Variable Name="GREETING">hi there</rsp:Variable></rsp:Environment>` +
		`<rsp:IdleTimeOut>PT600.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`})
	checkHeader(t, "Create", r, nsTransfer+"/CreateResponse")
	shellID := r.env.Body.Shell.ShellID
	if shellID == "" || r.env.Body.ResourceCreated.ReferenceParameters.SelectorSet.Selector != shellID {
		t.Fatalf("rsp:ShellId %q, ShellId selector %q", shellID, r.env.Body.ResourceCreated.ReferenceParameters.SelectorSet.Selector)
	}
	for _, want := range []string{`<a:Address>` + l.url + `</a:Address>`, `<rsp:Owner>alice</rsp:Owner>`, `<rsp:IdleTimeOut>PT600.000S</rsp:IdleTimeOut>`, `<rsp:ClientIP>127.0.0.1</rsp:ClientIP>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("CreateResponse lacks %s:\n%s", want, r.body)
		}
	}

	r = c.do(rawRequest{action: actionCommand, shellID: shellID, body: `<rsp:CommandLine><rsp:Command>env</rsp:Command><rsp:Arguments>GREETING</rsp:Arguments></rsp:CommandLine>`})
	checkHeader(t, "Command", r, nsShell+"/CommandResponse")
	commandID := r.env.Body.CommandResponse.CommandID
	stdout, stderr, code := c.output(shellID, commandID)
	if stdout != "hi there\r\n" || stderr != "" || code != "0" {
		t.Errorf("env GREETING: %q %q %s", stdout, stderr, code)
	}
	r = c.receive(shellID, commandID, "")
	checkHeader(t, "Receive", r, nsShell+"/ReceiveResponse")
	if rr := r.env.Body.Receive; rr == nil || rr.State.State != stateDone || len(rr.Streams) != 2 ||
		rr.Streams[0].End != "true" || rr.Streams[1].End != "true" || rr.Streams[0].CommandID != commandID {
		t.Errorf("final Receive: %s", r.body)
	}

	r = c.signal(shellID, commandID, "terminate")
	checkHeader(t, "Signal", r, nsShell+"/SignalResponse")
	if !strings.Contains(r.body, "<rsp:SignalResponse/>") {
		t.Errorf("SignalResponse body: %s", r.body)
	}
	checkFault(t, "Receive after terminate", c.receive(shellID, commandID, ""), "w:InvalidSelectors", "2150858843")

	commandID = c.command(shellID, "exit", "-1")
	if _, _, code := c.output(shellID, commandID); code != "4294967295" {
		t.Errorf("exit -1: ExitCode %s, want it as Windows' DWORD", code)
	}

	r = c.do(rawRequest{action: actionDelete, shellID: shellID})
	checkHeader(t, "Delete", r, nsTransfer+"/DeleteResponse")
	if r.status != http.StatusOK {
		t.Errorf("Delete: %d", r.status)
	}
	checkFault(t, "Delete again", c.do(rawRequest{action: actionDelete, shellID: shellID}), "w:InvalidSelectors", "2150858843")
	if f := c.do(rawRequest{action: actionCommand, shellID: shellID, body: `<rsp:CommandLine><rsp:Command>echo</rsp:Command></rsp:CommandLine>`}).env.Body.Fault; f == nil ||
		!strings.Contains(f.Detail.WSMan.Message, "ShellId "+shellID+" failed because the shell was not found on the server") || f.Detail.WSMan.Machine != "127.0.0.1" {
		t.Errorf("Command on a deleted shell: %+v", f)
	}
}

func TestProtocolUnauthorized(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"both", Config{AllowUnencrypted: true}, []string{"Negotiate", `Basic realm="WSMAN"`}},
		{"Basic only", Config{Basic: true, AllowUnencrypted: true}, []string{`Basic realm="WSMAN"`}},
		{"NTLM only", Config{NTLM: true, AllowUnencrypted: true}, []string{"Negotiate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := startLab(t, tt.cfg, false)
			c := newRawClient(t, l)
			c.user = ""
			r := c.do(rawRequest{action: actionCreate})
			if r.status != http.StatusUnauthorized || r.body != "" || !slices.Equal(r.header.Values("WWW-Authenticate"), tt.want) {
				t.Errorf("got %d %v %q, want 401 with %v", r.status, r.header.Values("WWW-Authenticate"), r.body, tt.want)
			}
		})
	}
}

func TestProtocolTimedOutFault(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true, OperationTimeout: 300 * time.Millisecond}, false)
	c := newRawClient(t, l)
	shellID := c.create("")
	commandID := c.command(shellID, "hang")
	for _, tt := range []struct {
		clientTimeout string
		want          time.Duration
	}{
		{"PT20S", 300 * time.Millisecond}, // capped by the server
		{"PT0.100S", 100 * time.Millisecond},
	} {
		start := time.Now()
		r := c.receive(shellID, commandID, tt.clientTimeout)
		took := time.Since(start)
		checkFault(t, "Receive "+tt.clientTimeout, r, "w:TimedOut", "2150858793")
		if f := r.env.Body.Fault; f != nil && (f.Code.Value != "s:Receiver" || !strings.Contains(f.Reason.Text, "OperationTimeout")) {
			t.Errorf("fault %+v", f)
		}
		if took < tt.want || took > tt.want+time.Second {
			t.Errorf("Receive with %s answered after %v, want %v", tt.clientTimeout, took, tt.want)
		}
	}
	c.signal(shellID, commandID, "terminate")
	l.host.waitCancelled(t, 5*time.Second)
}

func TestProtocolReceiveDoesNotBlockSend(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	shellID := c.create("")
	commandID := c.command(shellID, "cat")
	type received struct {
		r  *rawResponse
		at time.Time
	}
	done := make(chan received)
	go func() {
		r := c.receive(shellID, commandID, "PT10S")
		done <- received{r, time.Now()}
	}()
	time.Sleep(100 * time.Millisecond) // the Receive is waiting
	start := time.Now()
	if r := c.send(shellID, commandID, "first ", false); r.status != http.StatusOK || !strings.Contains(r.body, "<rsp:SendResponse/>") {
		t.Fatalf("Send: %d %s", r.status, r.body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %v while a Receive was waiting", d)
	}
	got := <-done
	if rr := got.r.env.Body.Receive; rr == nil || len(rr.Streams) == 0 || rr.Streams[0].Data != base64.StdEncoding.EncodeToString([]byte("first ")) || rr.State.State != stateRunning {
		t.Errorf("Receive during cat: %s", got.r.body)
	}
	c.send(shellID, commandID, "second", true)
	c.send(shellID, commandID, "ignored after End", true)
	stdout, _, code := c.output(shellID, commandID)
	if stdout != "second" || code != "0" {
		t.Errorf("rest of cat: %q %s", stdout, code)
	}
}

func TestProtocolCtrlC(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	shellID := c.create("")
	commandID := c.command(shellID, "sleep", "60")
	if r := c.signal(shellID, commandID, "ctrl_c"); r.status != http.StatusOK {
		t.Fatalf("ctrl_c: %d %s", r.status, r.body)
	}
	l.host.waitCancelled(t, 5*time.Second)
	// After ctrl_c the command reports its exit.
	if _, _, code := c.output(shellID, commandID); code != "130" {
		t.Errorf("exit code after ctrl_c: %s", code)
	}
	checkFault(t, "unknown signal", c.signal(shellID, commandID, "sigquit"), "w:InvalidParameter", "87")
	checkFault(t, "Signal to an unknown command", c.signal(shellID, "1234", "terminate"), "w:InvalidSelectors", "2150858843")
}

func TestProtocolEnvelopeSize(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	shellID := c.create("")
	commandID := c.command(shellID, "big", "300000")
	const maxEnvelope = 20000
	var out []byte
	for receives := 0; ; receives++ {
		r := c.do(rawRequest{action: actionReceive, shellID: shellID, maxEnvelopeSize: maxEnvelope,
			body: `<rsp:Receive><rsp:DesiredStream CommandId="` + commandID + `">stdout stderr</rsp:DesiredStream></rsp:Receive>`})
		if len(r.body) > maxEnvelope {
			t.Fatalf("response of %d bytes exceeds MaxEnvelopeSize %d", len(r.body), maxEnvelope)
		}
		for _, s := range r.env.Body.Receive.Streams {
			data, _ := base64.StdEncoding.DecodeString(s.Data)
			out = append(out, data...)
		}
		if r.env.Body.Receive.State.State == stateDone {
			t.Logf("300000 bytes in %d Receives", receives+1)
			break
		}
	}
	if len(out) != 300000 || !strings.HasPrefix(string(out), "0123456789") {
		t.Errorf("got %d bytes", len(out))
	}
}

func TestProtocolIdleShellDeleted(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true, IdleTimeout: 200 * time.Millisecond}, false)
	c := newRawClient(t, l)
	shellID := c.create("")
	c.command(shellID, "hang")
	// Nobody polls: the shell goes idle and its command is ended.
	if got := l.host.waitCancelled(t, 5*time.Second); got != "hang" {
		t.Errorf("cancelled %q", got)
	}
	if n := l.srv.Shells(); n != 0 {
		t.Errorf("%d shells after the idle timeout", n)
	}
	r := c.do(rawRequest{action: actionCommand, shellID: shellID, body: `<rsp:CommandLine><rsp:Command>echo</rsp:Command></rsp:CommandLine>`})
	checkFault(t, "Command in an idle-deleted shell", r, "w:InvalidSelectors", "2150858843")

	// A shell in use does not idle out.
	shellID = c.create("")
	commandID := c.command(shellID, "sleep", "0.5")
	if stdout, _, _ := c.output(shellID, commandID); stdout != "slept\r\n" {
		t.Errorf("a long Receive in a shell with a short idle timeout: %q", stdout)
	}
}

func TestProtocolShellsArePrivate(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	alice := newRawClient(t, l)
	shellID := alice.create("")
	bob := newRawClient(t, l)
	bob.user, bob.pass = bobUser, bobPass
	r := bob.do(rawRequest{action: actionCommand, shellID: shellID, body: `<rsp:CommandLine><rsp:Command>whoami</rsp:Command></rsp:CommandLine>`})
	checkFault(t, "another user's shell", r, "w:InvalidSelectors", "2150858843")
}

func TestProtocolUnsupportedRequests(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	checkFault(t, "Get", c.do(rawRequest{action: nsTransfer + "/Get"}), "a:ActionNotSupported", "2150858753")
	checkFault(t, "PowerShell resource", c.do(rawRequest{action: actionCreate, resourceURI: "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"}),
		"w:DestinationUnreachable", "2150858752")
	checkFault(t, "Receive without a command", c.do(rawRequest{action: actionReceive, shellID: c.create(""), body: `<rsp:Receive/>`}),
		"w:InvalidSelectors", "2150858843")

	req, _ := http.NewRequest(http.MethodPost, l.url, strings.NewReader("<s:Envelope"))
	req.SetBasicAuth(aliceUser, alicePass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != soapXMLContent || !strings.Contains(string(body), "w:SchemaValidationError") {
		t.Errorf("malformed XML: %d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/wsman", http.StatusMethodNotAllowed},
		{http.MethodPost, "/other", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tt.method, strings.TrimSuffix(l.url, "/wsman")+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

func TestCloseEndsCommands(t *testing.T) {
	l := startLab(t, Config{AllowUnencrypted: true}, false)
	c := newRawClient(t, l)
	c.command(c.create(""), "hang")
	if err := l.srv.Close(); err != nil {
		t.Fatal(err)
	}
	l.host.waitCancelled(t, 5*time.Second)
	if _, err := http.Post(l.url, soapXMLContent, nil); err == nil {
		t.Errorf("the listener still answers after Close")
	}
}
