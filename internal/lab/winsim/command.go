package winsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"onboard/internal/codetemplate"
)

// The playbook's PowerShell text (command run and unless) cannot really
// run here. winsim runs a small subset of it, with PowerShell's semantics,
// over its file system, and fails clearly ("winsim: unsupported command")
// on anything else, so a test never passes by accident:
//
//	New-Item [-Path] P -ItemType Directory|File [-Value V] [-Force]   (also mkdir P)
//	Set-Content [-Path|-LiteralPath] P [-Value] V [-NoNewline] [-Encoding UTF8|ASCII|Default]
//	Test-Path [-Path|-LiteralPath] P [-PathType Leaf|Container|Any]
//	Write-Output V...                                                 (also echo)
//	exit [N]
//	"string", 'string', $variable, $(...)                             (outputs the value)
//
// Statements are separated by newlines or ';'; strings, variables and
// $(...) are PowerShell's (pslang.go). In a run, exit leaves the whole
// script, as exit in a script block does in powershell.exe: the script
// prints no JSON and exits N (command-check refuses an unless with exit
// before running it). An error stops the script (the scripts set
// $ErrorActionPreference to Stop): exit 1 with the error record on stderr,
// unless the script catches it (command-check's unless).

// psToken is one argument as evaluated: a parameter name (-Force) or a
// value.
type psToken struct {
	text  string
	param bool
}

// psArgs binds a statement's arguments: named parameters (any unambiguous
// prefix, case-insensitive) and positional ones.
type psArgs struct {
	named      map[string]string
	switches   map[string]bool
	positional []string
}

func bindArgs(cmd string, st []psToken, params, switches []string) (*psArgs, error) {
	a := &psArgs{named: map[string]string{}, switches: map[string]bool{}}
	resolve := func(name string, among []string) string {
		name = strings.ToLower(name)
		found := ""
		for _, p := range among {
			lp := strings.ToLower(p)
			if lp == name {
				return p
			}
			if strings.HasPrefix(lp, name) {
				if found != "" {
					return "?"
				}
				found = p
			}
		}
		return found
	}
	for i := 1; i < len(st); i++ {
		t := st[i]
		if !t.param {
			a.positional = append(a.positional, t.text)
			continue
		}
		name, value, hasValue := strings.Cut(t.text[1:], ":")
		if s := resolve(name, switches); s != "" && s != "?" {
			a.switches[s] = !hasValue || !strings.EqualFold(value, "$false")
			continue
		}
		p := resolve(name, params)
		switch p {
		case "":
			return nil, fmt.Errorf("%s: a parameter cannot be found that matches parameter name '%s'", cmd, name)
		case "?":
			return nil, fmt.Errorf("%s: parameter name '%s' is ambiguous", cmd, name)
		}
		if !hasValue {
			if i+1 >= len(st) || st[i+1].param {
				return nil, fmt.Errorf("%s: missing an argument for parameter '%s'", cmd, p)
			}
			i++
			value = st[i].text
		}
		a.named[p] = value
	}
	return a, nil
}

// take returns the named parameter, or the next positional one.
func (a *psArgs) take(names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := a.named[n]; ok {
			return v, true
		}
	}
	if len(a.positional) > 0 {
		v := a.positional[0]
		a.positional = a.positional[1:]
		return v, true
	}
	return "", false
}

// psRun is one run of a text: its output objects, as Out-String shows them,
// and the last one as [bool] converts it.
type psRun struct {
	h      *Host
	vars   map[string]string // variables by lowercase name
	out    strings.Builder
	last   any // the last output object: a bool, a string, or an item
	exited bool
	code   int
	// capture, when set, collects output objects as text for an
	// enclosing $(...) instead of out.
	capture *[]string
}

// item is an object such as New-Item's DirectoryInfo: [bool] makes it true.
type item struct{ path string }

// lastTrue is [bool]($output | Select-Object -Last 1).
func (r *psRun) lastTrue() bool {
	switch x := r.last.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	}
	return true
}

// run runs the statements until an exit or an error. The host's lock is
// held.
func (r *psRun) run(text string) *psError {
	stmts, err := parsePS(text)
	if err != nil {
		return parseError(text, err)
	}
	for _, st := range stmts {
		if e := r.statement(st); e != nil || r.exited {
			return e
		}
	}
	return nil
}

func unsupported(stmt, why string) *psError {
	return &psError{Message: fmt.Sprintf("winsim: unsupported command %q: %s (winsim runs New-Item, mkdir, Set-Content, Test-Path, Write-Output and exit; see internal/winsim/command.go)", stmt, why),
		Category: "NotImplemented", Exception: "NotSupportedException", ErrorID: "winsim.UnsupportedCommand"}
}

// parseError is the error of a text that does not parse: PowerShell's
// own for an unterminated string, winsim's for what it does not run.
func parseError(text string, err error) *psError {
	if pe, ok := err.(*errParse); ok && !pe.unsupported {
		return &psError{Message: pe.msg, Category: "ParserError", Exception: "ParseException", ErrorID: "TerminatorExpectedAtEndOfString"}
	}
	return unsupported(text, err.Error())
}

func stmtText(st psStatement) string {
	var parts []string
	for _, w := range st {
		parts = append(parts, w.raw)
	}
	return strings.Join(parts, " ")
}

// statement evaluates a statement's words, in order (a $(...) in them
// runs then), and runs it.
func (r *psRun) statement(ps psStatement) *psError {
	if first := ps[0]; len(ps) == 1 && !first.param && (len(first.parts) != 1 || first.parts[0].kind != partLit || first.raw != first.parts[0].lit) {
		// An expression statement: a string, a variable or a $(...).
		v, e := r.value(first)
		if e != nil {
			return e
		}
		r.emit(v, v)
		return nil
	}
	st := make([]psToken, len(ps))
	for i, w := range ps {
		if w.param {
			st[i] = psToken{text: w.raw, param: true}
			continue
		}
		v, e := r.value(w)
		if e != nil {
			return e
		}
		st[i] = psToken{text: v}
	}
	return r.command(ps, st)
}

func (r *psRun) command(ps psStatement, st []psToken) *psError {
	fs := r.h.fs
	cmd := strings.ToLower(st[0].text)
	switch cmd {
	case "exit":
		r.exited = true
		if len(st) > 1 {
			n, err := strconv.Atoi(st[1].text)
			if err != nil {
				return unsupported(stmtText(ps), "exit takes a number")
			}
			r.code = n
		}
		return nil
	case "write-output", "echo", "write":
		a, err := bindArgs("Write-Output", st, []string{"InputObject"}, []string{"NoEnumerate"})
		if err != nil {
			return unsupported(stmtText(ps), err.Error())
		}
		values := a.positional
		if v, ok := a.named["InputObject"]; ok {
			values = append([]string{v}, values...)
		}
		for _, v := range values {
			r.emit(v, v)
		}
		return nil
	case "test-path":
		a, err := bindArgs("Test-Path", st, []string{"Path", "LiteralPath", "PathType"}, []string{"IsValid"})
		if err != nil {
			return unsupported(stmtText(ps), err.Error())
		}
		p, ok := a.take("Path", "LiteralPath")
		if !ok || len(a.positional) > 0 {
			return unsupported(stmtText(ps), "Test-Path takes one path")
		}
		var found bool
		switch strings.ToLower(a.named["PathType"]) {
		case "", "any":
			found = fs.exists(p)
		case "leaf":
			found = fs.file(p) != nil
		case "container":
			found = fs.isDir(p)
		default:
			return unsupported(stmtText(ps), "-PathType "+a.named["PathType"])
		}
		r.emit(map[bool]string{true: "True", false: "False"}[found], found)
		return nil
	case "new-item", "ni", "mkdir", "md":
		a, err := bindArgs("New-Item", st, []string{"Path", "ItemType", "Type", "Value", "Name"}, []string{"Force"})
		if err != nil {
			return unsupported(stmtText(ps), err.Error())
		}
		p, ok := a.take("Path")
		if !ok || len(a.positional) > 0 {
			return unsupported(stmtText(ps), "New-Item takes one path")
		}
		if n := a.named["Name"]; n != "" {
			p = normPath(p) + `\` + n
		}
		kind := strings.ToLower(a.named["ItemType"] + a.named["Type"])
		if cmd == "mkdir" || cmd == "md" {
			kind = "directory"
		}
		return r.newItem(ps, normPath(p), kind, a.named["Value"], a.switches["Force"] || cmd == "mkdir" || cmd == "md")
	case "set-content", "sc":
		a, err := bindArgs("Set-Content", st, []string{"Path", "LiteralPath", "Value", "Encoding"}, []string{"NoNewline", "Force"})
		if err != nil {
			return unsupported(stmtText(ps), err.Error())
		}
		p, ok := a.take("Path", "LiteralPath")
		value, vok := a.take("Value")
		if !ok || !vok || len(a.positional) > 0 {
			return unsupported(stmtText(ps), "Set-Content takes a path and one value")
		}
		if !a.switches["NoNewline"] {
			value += "\r\n"
		}
		data, encErr := encodeContent(value, a.named["Encoding"])
		if encErr != "" {
			return unsupported(stmtText(ps), encErr)
		}
		switch err := fs.writeFile(p, data); err {
		case nil:
			return nil
		case errNoDirectory:
			return &psError{Command: "Set-Content", Message: fmt.Sprintf("Could not find a part of the path '%s'.", normPath(p)),
				Category: "ObjectNotFound", Target: normPath(p), Exception: "DirectoryNotFoundException",
				ErrorID: "GetContentWriterDirectoryNotFoundError,Microsoft.PowerShell.Commands.SetContentCommand"}
		default:
			return &psError{Command: "Set-Content", Message: fmt.Sprintf("Access to the path '%s' is denied.", normPath(p)),
				Category: "PermissionDenied", Target: normPath(p), Exception: "UnauthorizedAccessException",
				ErrorID: "GetContentWriterUnauthorizedAccessError,Microsoft.PowerShell.Commands.SetContentCommand"}
		}
	}
	return unsupported(stmtText(ps), "not in winsim's subset")
}

// encodeContent is Set-Content's -Encoding in Windows PowerShell 5.1: the
// default is the ANSI code page (Windows-1252 here: other characters
// become '?'), UTF8 writes a byte order mark.
func encodeContent(s, enc string) ([]byte, string) {
	switch strings.ToLower(enc) {
	case "", "default", "string", "oem":
		var b []byte
		for _, r := range s {
			if c, ok := charmap.Windows1252.EncodeRune(r); ok {
				b = append(b, c)
			} else {
				b = append(b, '?')
			}
		}
		return b, ""
	case "utf8":
		return append([]byte("\xEF\xBB\xBF"), s...), ""
	case "ascii":
		var b []byte
		for _, r := range s {
			if r < 0x80 {
				b = append(b, byte(r))
			} else {
				b = append(b, '?')
			}
		}
		return b, ""
	}
	return nil, "-Encoding " + enc
}

func (r *psRun) newItem(ps psStatement, p, kind, value string, force bool) *psError {
	fs := r.h.fs
	switch kind {
	case "directory":
		if fs.file(p) != nil || (fs.isDir(p) && !force) {
			return &psError{Command: "New-Item", Message: fmt.Sprintf("An item with the specified name %s already exists.", p),
				Category: "ResourceExists", Target: p, Exception: "IOException", ErrorID: "DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand"}
		}
		if !fs.mkdirAll(p) {
			return &psError{Command: "New-Item", Message: fmt.Sprintf("Could not find a part of the path '%s'.", p),
				Category: "WriteError", Target: p, Exception: "DirectoryNotFoundException", ErrorID: "CreateDirectoryIOError,Microsoft.PowerShell.Commands.NewItemCommand"}
		}
		r.itemTable(p, true, 0)
		return nil
	case "file":
		if fs.isDir(p) || (fs.file(p) != nil && !force) {
			return &psError{Command: "New-Item", Message: fmt.Sprintf("The file '%s' already exists.", p),
				Category: "WriteError", Target: p, Exception: "IOException", ErrorID: "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand"}
		}
		if force {
			fs.mkdirAll(parentPath(p))
		}
		data, _ := encodeContent(value, "")
		if err := fs.writeFile(p, data); err != nil {
			return &psError{Command: "New-Item", Message: fmt.Sprintf("Could not find a part of the path '%s'.", p),
				Category: "WriteError", Target: p, Exception: "DirectoryNotFoundException", ErrorID: "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand"}
		}
		r.itemTable(p, false, len(data))
		return nil
	}
	return unsupported(stmtText(ps), "New-Item needs -ItemType Directory or File")
}

// itemTable is how Out-String shows the DirectoryInfo or FileInfo that
// New-Item returns.
func (r *psRun) itemTable(p string, dir bool, size int) {
	if r.capture != nil {
		// In a string, a FileInfo or DirectoryInfo is its full path.
		r.emit(p, item{p})
		return
	}
	r.last = item{p}
	now := time.Now()
	mode, length := "-a----", strconv.Itoa(size)
	if dir {
		mode, length = "d-----", ""
	}
	fmt.Fprintf(&r.out, "\r\n\r\n    Directory: %s\r\n\r\n\r\n", parentPath(p))
	r.out.WriteString("Mode                 LastWriteTime         Length Name\r\n")
	r.out.WriteString("----                 -------------         ------ ----\r\n")
	fmt.Fprintf(&r.out, "%-6s %20s %14s %s\r\n\r\n\r\n", mode, now.Format("1/2/2006   3:04 PM"), length, baseName(p))
}

// The command-check script's semantics, which opCommandCheck applies.
var commandCheckScript = []string{
	"[System.Management.Automation.Language.Parser]::ParseInput($in.unless, [ref]$null, [ref]$parseErrors)",
	"if ($parseErrors) { throw ('unless does not parse: ' + $parseErrors[0].Message) }",
	"$node -is [System.Management.Automation.Language.ExitStatementAst] }, $true)) {",
	"throw 'unless must not call exit (it would end the check script): make it an expression that is $true when the work is done'",
	"if ($in.creates -or $in.unless) {\n    $done = $true\n    if ($in.creates) { $done = Test-Path -LiteralPath $in.creates }\n    if ($done -and $in.unless) {",
	"$r = & ([scriptblock]::Create($in.unless))\n            $done = [bool]($r | Select-Object -Last 1)\n        } catch {\n            $done = $false",
}

const unlessExitMessage = "unless must not call exit (it would end the check script): make it an expression that is $true when the work is done"

func opCommandCheck(v *inv) int {
	for _, s := range append(commandCheckScript, codetemplate.PowerShellVars) {
		if !strings.Contains(v.script, s) {
			return v.fail(&psError{Message: fmt.Sprintf("winsim: the command-check script no longer contains %q: teach internal/winsim its new semantics (command.go)", s), ErrorID: "winsim"})
		}
	}
	h := v.h
	creates, unless := v.str("creates"), v.str("unless")
	h.mu.Lock()
	defer h.mu.Unlock()
	if unless != "" {
		// The parser's checks come first: a parse error, then an exit
		// statement anywhere in the text.
		stmts, err := parsePS(unless)
		if pe, ok := err.(*errParse); ok && !pe.unsupported {
			msg := "unless does not parse: " + strings.ToUpper(pe.msg[:1]) + pe.msg[1:] + "."
			return v.fail(throwError(v.script, "throw ('unless does not parse", msg))
		}
		if err != nil {
			return v.fail(unsupported(unless, err.Error()))
		}
		if hasExit(stmts) {
			return v.fail(throwError(v.script, "throw 'unless must not call exit", unlessExitMessage))
		}
	}
	done := false
	if creates != "" || unless != "" {
		done = true
		if creates != "" {
			done = h.fs.exists(creates) // Test-Path -LiteralPath
		}
		if done && unless != "" {
			// try { $r = & ([scriptblock]::Create($in.unless)); $done = [bool]($r | Select-Object -Last 1) } catch { $done = $false }
			r := &psRun{h: h, vars: v.vars()}
			switch e := r.run(unless); {
			case e != nil && strings.HasPrefix(e.ErrorID, "winsim"):
				return v.fail(e) // not Windows' error: winsim cannot run it
			case e != nil:
				done = false
			default:
				done = r.lastTrue()
			}
		}
	}
	return v.result(field{"done", done})
}

func opCommandRun(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if !strings.Contains(v.script, codetemplate.PowerShellVars) {
		return v.fail(&psError{Message: "winsim: the command-run script no longer sets the variables of $in.vars: teach internal/winsim its new semantics (command.go)", ErrorID: "winsim"})
	}
	// $output = & ([scriptblock]::Create($in.run)) 2>&1 | Out-String
	r := &psRun{h: h, vars: v.vars()}
	if e := r.run(v.str("run")); e != nil {
		return v.fail(e)
	}
	if r.exited {
		return r.code
	}
	return v.result(field{"ok", true}, field{"output", r.out.String()})
}

// vars are the variables codetemplate.PowerShellVars makes of $in.vars:
// $__onboard_1, $__onboard_2, ... ([string] of each element).
func (v *inv) vars() map[string]string {
	list, _ := v.in["vars"].([]any)
	out := map[string]string{}
	for i, x := range list {
		s, _ := x.(string)
		out[fmt.Sprintf("__onboard_%d", i+1)] = s
	}
	return out
}
