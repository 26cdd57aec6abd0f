package winsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"onboard/internal/lab/wsman"
	"onboard/internal/powershell"
)

// How powershell.exe answers over WinRM: output lines end in CRLF; a
// terminating error goes to stderr as a CLIXML error record and the
// process exits 1.

// inv is one run of an onboard script.
type inv struct {
	ctx    context.Context
	h      *Host
	op     string
	script string          // the whole script text, for error positions
	data   json.RawMessage // $in
	in     map[string]any  // $in as an object, when it is one
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	user   string
}

// str is $in.<name> as PowerShell would turn it into a string: "" for a
// missing or null property.
func (v *inv) str(name string) string {
	switch x := v.in[name].(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// print writes one line of output.
func (v *inv) print(s string) {
	_, _ = io.WriteString(v.stdout, s+"\r\n")
}

// result prints the script's JSON object as ConvertTo-Json -Compress does
// and exits 0.
func (v *inv) result(fields ...field) int {
	v.print(psJSON(fields...))
	return 0
}

// fail writes a terminating error and exits 1, as powershell.exe does when
// $ErrorActionPreference = 'Stop' lets an error end the script.
func (v *inv) fail(e *psError) int {
	_, _ = io.WriteString(v.stderr, clixml(e.lines(v.script)))
	return 1
}

func (h *Host) runPowerShell(ctx context.Context, c wsman.Command, line string) int {
	v := &inv{ctx: ctx, h: h, stdin: c.Stdin, stdout: c.Stdout, stderr: c.Stderr, user: c.User}
	// The long-script form runs a fixed bootstrap that reads the script
	// from stdin: DecodeCommand hands back stdin for it, and refuses stdin
	// for a script in the command line.
	script, err := "", error(nil)
	if probe, perr := powershell.DecodeCommand(line, []byte("\n")); perr == nil && probe == "\n" {
		stdin, rerr := readAll(ctx, c.Stdin)
		if rerr != nil {
			h.record("powershell (script on stdin, not received)")
			return v.fail(&psError{Message: "winsim: reading the script from stdin: " + rerr.Error(), ErrorID: "winsim"})
		}
		script, err = powershell.DecodeCommand(line, stdin)
		v.stdin = strings.NewReader("") // the bootstrap consumed it
	} else {
		script, err = powershell.DecodeCommand(line, nil)
	}
	if err != nil {
		h.record(line)
		return v.fail(&psError{Message: "winsim: unknown command: " + err.Error(), ErrorID: "winsim"})
	}
	op, data, err := powershell.ParseScript(script)
	if err != nil {
		h.record("powershell (not an onboard script)")
		return v.fail(&psError{Message: "winsim: unknown command: a PowerShell script that is not onboard's (" + err.Error() + ")", ErrorID: "winsim"})
	}
	h.record(op)
	v.op, v.script, v.data = op, script, data
	_ = json.Unmarshal(data, &v.in)
	run := ops[op]
	if run == nil {
		return v.fail(&psError{Message: "winsim: unknown op " + op + ": teach internal/winsim what Windows answers to it", ErrorID: "winsim"})
	}
	code := run(v)
	if ctx.Err() != nil {
		h.recordKilled(op)
	}
	return code
}

// field is one property of a [pscustomobject].
type field struct {
	k string
	v any
}

// psJSON renders an object as Windows PowerShell 5.1's ConvertTo-Json
// -Compress does (JavaScriptSerializer): properties in order, and in
// strings ' < > & escaped as \u0027 \u003c \u003e \u0026; other non-ASCII
// characters stay as they are.
func psJSON(fields ...field) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(psJSONString(f.k) + ":")
		switch x := f.v.(type) {
		case nil:
			b.WriteString("null")
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case int:
			b.WriteString(strconv.Itoa(x))
		case string:
			b.WriteString(psJSONString(x))
		case []string:
			// ConvertTo-Json writes an array of strings, [] for @().
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(psJSONString(e))
			}
			b.WriteByte(']')
		case []int:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(e))
			}
			b.WriteByte(']')
		case []field: // a nested object
			b.WriteString(psJSON(x...))
		case [][]field: // an array of objects
			b.WriteByte('[')
			for i, o := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(psJSON(o...))
			}
			b.WriteByte(']')
		default:
			panic(fmt.Sprintf("psJSON: %T", x))
		}
	}
	b.WriteByte('}')
	return b.String()
}

func psJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\'', '<', '>', '&':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// psError is an ErrorRecord as PowerShell 5.1 formats it:
//
//	Add-Computer : Computer 'WIN1' failed to join ...
//	At line:14 char:1
//	+ Add-Computer @params
//	+ ~~~~~~~~~~~~~~~~~~~~
//	    + CategoryInfo          : OperationStopped: (WIN1:String) [Add-Computer], InvalidOperationException
//	    + FullyQualifiedErrorId : FailToJoinDomainFromWorkgroup,Microsoft.PowerShell.Commands.AddComputerCommand
type psError struct {
	Command   string // the cmdlet, "" for a throw or a .NET exception
	Message   string
	Statement string // the script text the error points at
	Category  string // e.g. "ObjectNotFound"
	Target    string // the target object, shown as (Target:String)
	Exception string // e.g. "InvalidOperationException"
	ErrorID   string // FullyQualifiedErrorId
}

func (e *psError) Error() string { return e.Message }

func (e *psError) lines(script string) []string {
	var out []string
	msg := e.Message
	if e.Command != "" {
		msg = e.Command + " : " + msg
	}
	out = append(out, strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n")...)
	if strings.HasPrefix(e.ErrorID, "winsim") {
		// winsim's own errors are not Windows': no record decoration, so
		// that the message is all a reader sees.
		return out
	}
	if e.Statement != "" {
		if i := strings.Index(script, e.Statement); i >= 0 {
			lineNo := strings.Count(script[:i], "\n") + 1
			start := strings.LastIndex(script[:i], "\n") + 1
			end := strings.IndexByte(script[i:], '\n')
			if end < 0 {
				end = len(script) - i
			}
			text := strings.TrimRight(script[start:i+end], "\r")
			col := len([]rune(script[start:i])) + 1
			width := len([]rune(e.Statement))
			if n := strings.IndexByte(e.Statement, '\n'); n >= 0 {
				width = len([]rune(e.Statement[:n]))
			}
			out = append(out, fmt.Sprintf("At line:%d char:%d", lineNo, col),
				"+ "+text,
				"+ "+strings.Repeat(" ", col-1)+strings.Repeat("~", width))
		}
	}
	category := e.Category
	if category == "" {
		category = "NotSpecified"
	}
	activity := ""
	if e.Command != "" {
		activity = e.Command
	}
	exception := e.Exception
	if exception == "" {
		exception = "RuntimeException"
	}
	out = append(out,
		fmt.Sprintf("    + CategoryInfo          : %s: (%s) [%s], %s", category, targetText(e.Target), activity, exception),
		"    + FullyQualifiedErrorId : "+e.ErrorID,
		" ")
	return out
}

// throwError is the record of a script's `throw <message>`: the statement
// starts at stmtPrefix and runs to the end of its line (less the closing
// brace of a one-line block).
func throwError(script, stmtPrefix, message string) *psError {
	stmt := ""
	if i := strings.Index(script, stmtPrefix); i >= 0 {
		stmt, _, _ = strings.Cut(script[i:], "\n")
		stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), "}"))
	}
	return &psError{Message: message, Statement: stmt, Category: "OperationStopped", Target: message,
		Exception: "RuntimeException", ErrorID: message}
}

func targetText(t string) string {
	if t == "" {
		return ":"
	}
	return t + ":String"
}

// clixml is what powershell.exe writes to a redirected stderr for error
// records: the "#< CLIXML" header and one <S S="Error"> per line.
func clixml(lines []string) string {
	var b strings.Builder
	b.WriteString("#< CLIXML\r\n")
	b.WriteString(`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">`)
	for _, l := range lines {
		b.WriteString(`<S S="Error">` + clixmlEscape(l) + `_x000D__x000A_</S>`)
	}
	b.WriteString(`</Objs>`)
	return b.String()
}

func clixmlEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '_' && strings.HasPrefix(s[i:], "_x"):
			b.WriteString("_x005F_")
		case r < 0x20:
			fmt.Fprintf(&b, "_x%04X_", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// errKilled is returned by a simulated program whose command was
// cancelled.
var errKilled = errors.New("killed")
