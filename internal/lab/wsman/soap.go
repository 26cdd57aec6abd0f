package wsman

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SOAP 1.2 envelopes as Windows writes them: no XML declaration, the
// prefixes s, a, x, w, rsp, p and f, and the header a:Action, a:MessageID,
// a:To, a:RelatesTo.

const (
	nsSOAP        = "http://www.w3.org/2003/05/soap-envelope"
	nsAddressing  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsTransfer    = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsWSMan       = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsWSManMS     = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	nsShell       = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsFault       = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	nsEventing    = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
	nsEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"

	anonymousAddress = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
	cmdResourceURI   = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

	actionCreate   = nsTransfer + "/Create"
	actionDelete   = nsTransfer + "/Delete"
	actionCommand  = nsShell + "/Command"
	actionSend     = nsShell + "/Send"
	actionReceive  = nsShell + "/Receive"
	actionSignal   = nsShell + "/Signal"
	actionFault    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	stateRunning   = nsShell + "/CommandState/Running"
	stateDone      = nsShell + "/CommandState/Done"
	signalPrefix   = nsShell + "/signal/"
	soapXMLContent = "application/soap+xml;charset=UTF-8"
)

// request is the part of a WS-Management request the shell needs.
type request struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		MaxEnvelopeSize  string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		SelectorSet      struct {
			Selectors []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:",chardata"`
			} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Selector"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			WorkingDirectory string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell WorkingDirectory"`
			IdleTimeOut      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell IdleTimeOut"`
			Environment      struct {
				Variables []struct {
					Name  string `xml:"Name,attr"`
					Value string `xml:",chardata"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Variable"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Environment"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func parseRequest(body []byte) (*request, error) {
	var r request
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	r.Header.Action = strings.TrimSpace(r.Header.Action)
	r.Header.MessageID = strings.TrimSpace(r.Header.MessageID)
	r.Header.ResourceURI = strings.TrimSpace(r.Header.ResourceURI)
	return &r, nil
}

// selector returns the value of the named selector, e.g. ShellId.
func (r *request) selector(name string) string {
	for _, s := range r.Header.SelectorSet.Selectors {
		if strings.EqualFold(s.Name, name) {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

// envelope writes a complete response envelope.
func envelope(action, relatesTo string, extraNS []string, body string) []byte {
	var b strings.Builder
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddressing + `"`)
	for _, ns := range extraNS {
		b.WriteString(" " + ns)
	}
	b.WriteString(`><s:Header><a:Action>` + action + `</a:Action><a:MessageID>` + newMessageID() + `</a:MessageID>`)
	b.WriteString(`<a:To>` + anonymousAddress + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + xmlText(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	return []byte(b.String())
}

var (
	nsShellResponse = []string{`xmlns:x="` + nsTransfer + `"`, `xmlns:w="` + nsWSMan + `"`, `xmlns:rsp="` + nsShell + `"`, `xmlns:p="` + nsWSManMS + `"`}
	nsDelete        = []string{`xmlns:w="` + nsWSMan + `"`, `xmlns:p="` + nsWSManMS + `"`}
	nsFaultResponse = []string{`xmlns:x="` + nsTransfer + `"`, `xmlns:e="` + nsEventing + `"`, `xmlns:n="` + nsEnumeration + `"`, `xmlns:w="` + nsWSMan + `"`, `xmlns:p="` + nsWSManMS + `"`}
)

// fault is a SOAP fault with Windows' WSManFault detail.
type fault struct {
	code, subcode string // e.g. "s:Sender", "w:InvalidSelectors"
	reason        string
	faultDetail   string // optional w:FaultDetail URI
	wsmanCode     uint32
	message       string
}

func (f *fault) Error() string {
	return fmt.Sprintf("%s (%d): %s", f.subcode, f.wsmanCode, strings.TrimSpace(f.message))
}

func (f *fault) envelope(relatesTo, machine string) []byte {
	var b strings.Builder
	b.WriteString(`<s:Fault><s:Code><s:Value>` + f.code + `</s:Value><s:Subcode><s:Value>` + f.subcode + `</s:Value></s:Subcode></s:Code>`)
	b.WriteString(`<s:Reason><s:Text xml:lang="en-US">` + xmlText(f.reason) + `</s:Text></s:Reason><s:Detail>`)
	if f.faultDetail != "" {
		b.WriteString(`<w:FaultDetail>` + f.faultDetail + `</w:FaultDetail>`)
	}
	b.WriteString(`<f:WSManFault xmlns:f="` + nsFault + `" Code="` + strconv.FormatUint(uint64(f.wsmanCode), 10) + `" Machine="` + xmlText(machine) + `">`)
	b.WriteString(`<f:Message>` + xmlText(f.message) + `</f:Message></f:WSManFault></s:Detail></s:Fault>`)
	return envelope(actionFault, relatesTo, nsFaultResponse, b.String())
}

// WSManFault codes this server sends, as Windows does.
const (
	// FaultCodeOperationTimeout: no output within the OperationTimeout of a
	// Receive; the client is expected to poll again.
	FaultCodeOperationTimeout = 2150858793
	// FaultCodeUnknownShell: a ShellId or CommandId that does not exist
	// (ERROR_WSMAN_UNEXPECTED_SELECTORS).
	FaultCodeUnknownShell = 2150858843
	// FaultCodeShellQuota: too many shells for this user (ERROR_WSMAN_QUOTA_MAX_SHELLS).
	FaultCodeShellQuota = 2150859173
	// FaultCodeOperationQuota: too many operations for this user
	// (ERROR_WSMAN_QUOTA_MAX_OPERATIONS); with a text shell every Command
	// counts until its shell is deleted.
	FaultCodeOperationQuota = 2150859174
)

func timedOutFault() *fault {
	const text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
	return &fault{code: "s:Receiver", subcode: "w:TimedOut", reason: text, wsmanCode: FaultCodeOperationTimeout, message: text}
}

func invalidSelectorsFault(message string) *fault {
	return &fault{
		code: "s:Sender", subcode: "w:InvalidSelectors",
		reason:      "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
		faultDetail: "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
		wsmanCode:   FaultCodeUnknownShell, message: message,
	}
}

func unknownShellFault(shellID string) *fault {
	return invalidSelectorsFault("The request for the Windows Remote Shell with ShellId " + shellID +
		" failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ")
}

func unknownCommandFault() *fault {
	return invalidSelectorsFault("The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. ")
}

func shellQuotaFault(limit int) *fault {
	text := fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. ", limit)
	return &fault{code: "s:Receiver", subcode: "w:InternalError", reason: text, wsmanCode: FaultCodeShellQuota, message: text}
}

func operationQuotaFault(limit int) *fault {
	text := fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. ", limit)
	return &fault{code: "s:Receiver", subcode: "w:InternalError", reason: text, wsmanCode: FaultCodeOperationQuota, message: text}
}

func actionNotSupportedFault(action string) *fault {
	return &fault{
		code: "s:Sender", subcode: "a:ActionNotSupported",
		reason:    "The action is not supported by the service. ",
		wsmanCode: 2150858753, // ERROR_WSMAN_INVALID_ACTIONURI
		message:   "The WS-Management service cannot process the request. The WS-Addressing action URI " + action + " is invalid. ",
	}
}

func resourceNotFoundFault(uri string) *fault {
	return &fault{
		code: "s:Sender", subcode: "w:DestinationUnreachable",
		reason:    "The WS-Management service cannot process the request because the resource URI is not supported. ",
		wsmanCode: 2150858752, // ERROR_WSMAN_RESOURCE_NOT_FOUND
		message:   "The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI " + uri + " and selectors. ",
	}
}

func invalidXMLFault(err error) *fault {
	return &fault{
		code: "s:Sender", subcode: "w:SchemaValidationError",
		reason:    "The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. ",
		wsmanCode: 2150858819, // ERROR_WSMAN_INVALID_XML
		message:   "The WS-Management service cannot process the request because the XML is invalid: " + err.Error() + " ",
	}
}

func invalidParameterFault(message string) *fault {
	return &fault{
		code: "s:Sender", subcode: "w:InvalidParameter",
		reason:    "The parameter is incorrect. ",
		wsmanCode: 87, // ERROR_INVALID_PARAMETER
		message:   message,
	}
}

// newMessageID returns "uuid:" and a new upper-case GUID, as Windows writes it.
func newMessageID() string { return "uuid:" + newGUID() }

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// parseDuration reads an xs:duration such as PT60S, PT60.000S or
// P0DT2H0M0S; months and years are refused.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	orig := s
	if !strings.HasPrefix(s, "P") {
		return 0, fmt.Errorf("duration %q", orig)
	}
	s = s[1:]
	var d time.Duration
	inTime, parts := false, 0
	for s != "" {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := strings.IndexAny(s, "DHMS")
		if i <= 0 {
			return 0, fmt.Errorf("duration %q", orig)
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("duration %q", orig)
		}
		var unit time.Duration
		switch {
		case s[i] == 'D' && !inTime:
			unit = 24 * time.Hour
		case s[i] == 'H' && inTime:
			unit = time.Hour
		case s[i] == 'M' && inTime:
			unit = time.Minute
		case s[i] == 'S' && inTime:
			unit = time.Second
		default:
			return 0, fmt.Errorf("duration %q", orig)
		}
		d += time.Duration(v * float64(unit))
		s = s[i+1:]
		parts++
	}
	if parts == 0 {
		return 0, fmt.Errorf("duration %q", orig)
	}
	return d, nil
}

// formatDuration writes d as Windows does in rsp:IdleTimeOut: PT7200.000S.
func formatDuration(d time.Duration) string {
	return fmt.Sprintf("PT%.3fS", d.Seconds())
}

// writeSOAP sends a plain or encrypted SOAP response.
func writeSOAP(w http.ResponseWriter, status int, body []byte, sec *sessionSecurity) {
	if sec != nil {
		body = encodeEncrypted(body, sec)
		w.Header().Set("Content-Type", encryptedContentType)
	} else {
		w.Header().Set("Content-Type", soapXMLContent)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
