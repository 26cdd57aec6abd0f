package powershell

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Script is one PowerShell script to run on a Windows host. Its text is
// assembled from trusted code and typed data: user input reaches it only
// through Data.
type Script struct {
	// Op names the operation, e.g. "msi-install": letters, digits, '.', '_'
	// and '-'. It is the script's first line, "# onboard-op: <Op>", on which
	// the lab's simulated Windows host dispatches.
	Op string
	// Body is PowerShell text written by onboard itself, never user input.
	// It reads its inputs from $in.
	Body string
	// Data holds the script's inputs. It is marshalled to JSON, written into
	// the script as one quoted literal and converted back with
	// ConvertFrom-Json, so the body sees it as $in (a PSCustomObject for a
	// struct or map). Windows PowerShell 5.1 refuses JSON objects with an
	// empty key or with keys that differ only in case.
	// Data is part of the script's text, which Windows may record (the
	// command line in process listings and process-creation auditing,
	// script block logging): never put a secret in it.
	Data any
}

// The prelude makes every error stop the script (so that it exits non-zero
// with the error on stderr), silences progress records (CLIXML noise on
// stderr) and makes the console code page UTF-8 (65001) both ways, without
// a byte order mark: output, what the script pipes to native programs, and
// stdin, which the console would otherwise decode with the OEM code page
// (a script that reads a secret from stdin would mangle "Zażółć"). It is in
// every script's text, so it must not depend on how the script travels.
const prelude = `$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
`

const (
	opPrefix   = "# onboard-op: "
	dataPrefix = "$in = "
	dataSuffix = " | ConvertFrom-Json"
)

// Text returns the complete script: the op line, the prelude, $in assigned
// from Data's JSON and the body, with LF line endings.
//
// Text panics if Op is not a valid name or Data cannot be marshalled to
// JSON: both come from onboard's own code, so either is a programming
// error (as a bad pattern is for regexp.MustCompile).
func (s Script) Text() string {
	if !validOp(s.Op) {
		panic(fmt.Sprintf("powershell: invalid op %q: use letters, digits, '.', '_' and '-'", s.Op))
	}
	data, err := marshalData(s.Data)
	if err != nil {
		panic(fmt.Sprintf("powershell: op %s: marshal data: %v", s.Op, err))
	}
	var b strings.Builder
	b.WriteString(opPrefix + s.Op + "\n")
	b.WriteString(prelude)
	b.WriteString(dataPrefix + Quote(data) + dataSuffix + "\n")
	if body := strings.Trim(s.Body, "\r\n"); body != "" {
		b.WriteString("\n" + body + "\n")
	}
	return b.String()
}

func validOp(op string) bool {
	if op == "" {
		return false
	}
	for _, r := range op {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// marshalData returns v as one line of JSON. HTML characters stay readable
// (<, >, & are not escaped), and the escape \u0000 becomes \ufffd for the
// reason Quote gives: Win32 would cut the value at the NUL.
func marshalData(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// A backslash appears in JSON only as the start of an escape inside a
	// string, so stepping over each escape finds every \u0000 and nothing
	// else (not the text \\u0000).
	for i := 0; i < len(b)-1; i++ {
		if b[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(b[i+1:], []byte("u0000")) {
			copy(b[i+1:], "ufffd")
		}
		i++
	}
	return string(b), nil
}

// MaxCommandLine is the longest command line Command produces. cmd.exe,
// which runs WinRM commands, takes at most 8191 characters; the rest is a
// margin for what the transport adds around the command.
const MaxCommandLine = 8000

// commandPrefix starts every command line: no banner, no profile (fast and
// predictable), no prompts, no execution policy check (the script is not a
// file). -EncodedCommand takes base64 of the UTF-16LE text, so no quoting
// of the script through cmd.exe is ever needed.
const commandPrefix = "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "

// bootstrap is the command that runs a script sent on stdin. PowerShell
// hands stdin to a command as $input, one line at a time, decoded with the
// console's input code page: setting it to UTF-8 first (as Ansible's
// bootstrap does) keeps non-ASCII names intact. Should that fail (no
// console), the prelude's same setting fails again, as a terminating error
// with a message, so the try only keeps the error to one place.
const bootstrap = `# onboard: the script is on stdin, in UTF-8
try { [Console]::InputEncoding = New-Object System.Text.UTF8Encoding $false } catch { $null = $_ }
$s = @($input) -join "` + "`n" + `"
& ([scriptblock]::Create($s))
`

var bootstrapCommand = commandPrefix + Encode(bootstrap)

// Command returns how to run the script on a Windows host, and what to
// send on its stdin (nil: send nothing, and close stdin).
//
// A script whose command line fits MaxCommandLine (about 2,900 characters
// of script) travels in the command line:
//
//	powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64 of the UTF-16LE Text()>
//
// with nothing on stdin. Any other script travels on stdin: the command
// line is the same with the fixed bootstrap (testdata/bootstrap.ps1)
// encoded in it, and stdin is Text() in UTF-8, without a byte order mark,
// LF line endings and a final LF. The caller must close stdin after
// sending it: the bootstrap reads to the end. The bootstrap joins the
// lines with LF and runs them as one script block in the same session, so
// the script's exit code and errors are those of powershell.exe.
func (s Script) Command() (commandLine string, stdin []byte) {
	text := s.Text()
	if line := commandPrefix + Encode(text); len(line) <= MaxCommandLine {
		return line, nil
	}
	return bootstrapCommand, []byte(text)
}

// Encode returns script as -EncodedCommand expects it: base64 of its
// UTF-16LE code units, characters beyond U+FFFF as surrogate pairs. Bytes
// that are not UTF-8 become U+FFFD.
func Encode(script string) string {
	units := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decode(encoded string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("decode base64: %w", err)
	}
	if len(b)%2 != 0 {
		return "", fmt.Errorf("decode UTF-16LE: odd length %d", len(b))
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units)), nil
}

// DecodeCommand returns the script that a command line from Command (or
// any "powershell.exe ... -EncodedCommand <base64>" line) and its stdin
// run: the encoded text, or for the stdin form the stdin text. It is what
// a simulated Windows host uses to learn what it is asked to do.
func DecodeCommand(commandLine string, stdin []byte) (script string, err error) {
	words := strings.Fields(commandLine)
	if len(words) == 0 || !isPowerShell(words[0]) {
		return "", fmt.Errorf("decode command: not a powershell.exe command line: %.40q", commandLine)
	}
	encoded := ""
	for i, w := range words[1:] {
		if isEncodedCommandFlag(w) {
			if i+2 >= len(words) {
				return "", errors.New("decode command: -EncodedCommand without a value")
			}
			encoded = words[i+2]
			break
		}
	}
	if encoded == "" {
		return "", fmt.Errorf("decode command: no -EncodedCommand in %.60q", commandLine)
	}
	text, err := decode(encoded)
	if err != nil {
		return "", fmt.Errorf("decode command: %w", err)
	}
	if text != bootstrap {
		if len(stdin) > 0 {
			return "", fmt.Errorf("decode command: a script in the command line and %d bytes on stdin", len(stdin))
		}
		return text, nil
	}
	stdin = bytes.TrimPrefix(stdin, []byte("\uFEFF"))
	if len(stdin) == 0 {
		return "", errors.New("decode command: the stdin bootstrap without a script on stdin")
	}
	if !utf8.Valid(stdin) {
		return "", errors.New("decode command: the script on stdin is not UTF-8")
	}
	return string(stdin), nil
}

func isPowerShell(word string) bool {
	name := strings.ToLower(path.Base(strings.ReplaceAll(strings.Trim(word, `"`), `\`, "/")))
	switch name {
	case "powershell", "powershell.exe", "pwsh", "pwsh.exe":
		return true
	}
	return false
}

// isEncodedCommandFlag matches the names PowerShell accepts for
// -EncodedCommand: -e, -ec and unambiguous prefixes such as -enc.
func isEncodedCommandFlag(word string) bool {
	if len(word) < 2 || (word[0] != '-' && word[0] != '/') {
		return false
	}
	name := strings.ToLower(word[1:])
	return name == "e" || name == "ec" || (len(name) >= 3 && strings.HasPrefix("encodedcommand", name))
}

// ParseScript returns the op and the JSON data of a script made by Text
// (the quotes of the data literal undoubled): what the script asks for.
func ParseScript(text string) (op string, data json.RawMessage, err error) {
	first, rest, _ := strings.Cut(text, "\n")
	first = strings.TrimSuffix(first, "\r")
	op, ok := strings.CutPrefix(first, opPrefix)
	if !ok || !validOp(op) {
		return "", nil, fmt.Errorf("parse script: first line %.60q is not %q and an op name", first, opPrefix+"<op>")
	}
	// The data line is the first line of the script that starts with
	// "$in = ": the prelude before it never does.
	start := strings.Index("\n"+rest, "\n"+dataPrefix)
	if start >= 0 {
		value, after, err := readQuoted(rest[start+len(dataPrefix):])
		if err != nil {
			return "", nil, fmt.Errorf("parse script %s: data: %w", op, err)
		}
		if line, _, _ := strings.Cut(after, "\n"); strings.TrimSuffix(line, "\r") != dataSuffix {
			return "", nil, fmt.Errorf("parse script %s: data literal followed by %.40q, want %q", op, line, dataSuffix)
		}
		if !json.Valid([]byte(value)) {
			return "", nil, fmt.Errorf("parse script %s: data is not JSON: %.60q", op, value)
		}
		return op, json.RawMessage(value), nil
	}
	return "", nil, fmt.Errorf("parse script %s: no %q line", op, dataPrefix+"'...'"+dataSuffix)
}
