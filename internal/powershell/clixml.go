package powershell

import (
	"encoding/xml"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const clixmlHeader = "#< CLIXML"

// DecodeCLIXML turns the stderr of powershell.exe into readable text.
// PowerShell writes its error stream there as CLIXML:
//
//	#< CLIXML
//	<Objs Version="1.1.0.1" xmlns="..."><Obj S="progress" ...>...</Obj><S S="Error">Get-Package : No match_x000D__x000A_</S>...</Objs>
//
// DecodeCLIXML keeps the text of the <S> records in order: error lines as
// they are, warning, verbose and debug lines prefixed as the console shows
// them ("WARNING: "). It decodes _xHHHH_ escapes (CR, LF, surrogate pairs),
// drops progress records and other objects, and trims trailing spaces and
// runs of blank lines. Text outside <Objs> elements (a native command's own
// stderr) is kept. Input without CLIXML, or whose XML does not parse, is
// returned unchanged.
func DecodeCLIXML(stderr string) string {
	if !strings.Contains(stderr, clixmlHeader) {
		return stderr
	}
	var out strings.Builder
	rest := stderr
	for {
		start := strings.Index(rest, "<Objs")
		if start < 0 {
			break
		}
		n := strings.Index(rest[start:], "</Objs>")
		if n < 0 {
			break
		}
		end := start + n + len("</Objs>")
		text, err := decodeObjs(rest[start:end])
		if err != nil {
			return stderr
		}
		out.WriteString(dropHeaders(rest[:start]))
		if out.Len() > 0 && !strings.HasSuffix(out.String(), "\n") {
			out.WriteByte('\n')
		}
		out.WriteString(text)
		rest = rest[end:]
	}
	out.WriteString(dropHeaders(rest))
	return tidy(out.String())
}

// dropHeaders removes every "#< CLIXML" line (PowerShell sometimes writes
// two in a row).
func dropHeaders(s string) string {
	for _, h := range []string{clixmlHeader + "\r\n", clixmlHeader + "\n", clixmlHeader} {
		s = strings.ReplaceAll(s, h, "")
	}
	return s
}

// objs is a CLIXML document: only its direct <S> children are records of a
// stream; <Obj> children (progress records, serialized objects) are skipped.
type objs struct {
	Records []struct {
		Stream string `xml:"S,attr"`
		Text   string `xml:",chardata"`
	} `xml:"S"`
}

func decodeObjs(doc string) (string, error) {
	var o objs
	if err := xml.Unmarshal([]byte(doc), &o); err != nil {
		return "", err
	}
	var b strings.Builder
	last := ""
	for _, r := range o.Records {
		stream := strings.ToLower(r.Stream)
		text := unescapeCLIXML(r.Text)
		if stream != last && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
		last = stream
		prefix := ""
		switch stream {
		case "warning", "verbose", "debug":
			prefix = strings.ToUpper(stream) + ": "
		}
		if prefix == "" {
			b.WriteString(text)
			continue
		}
		for line := range strings.Lines(strings.ReplaceAll(text, "\r\n", "\n")) {
			b.WriteString(prefix + line)
		}
	}
	return b.String(), nil
}

// unescapeCLIXML decodes PowerShell's _xHHHH_ escapes, each a UTF-16 code
// unit (so a character beyond U+FFFF is two of them), and the rarer
// _xHHHHHHHH_ form that XmlConvert also reads. An underscore that starts no
// escape stays; PowerShell writes a literal "_x" as "_x005F_x".
func unescapeCLIXML(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	units := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		if v, n, ok := escapeAt(s[i:]); ok {
			if v > 0xFFFF {
				units = utf16.AppendRune(units, rune(v))
			} else {
				units = append(units, uint16(v))
			}
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		units = utf16.AppendRune(units, r)
		i += size
	}
	return string(utf16.Decode(units))
}

func escapeAt(s string) (value uint32, n int, ok bool) {
	if !strings.HasPrefix(s, "_x") {
		return 0, 0, false
	}
	for _, digits := range []int{4, 8} {
		if len(s) < digits+3 || s[digits+2] != '_' {
			continue
		}
		v, err := strconv.ParseUint(s[2:digits+2], 16, 32)
		if err != nil || v > utf8.MaxRune {
			continue
		}
		return uint32(v), digits + 3, true
	}
	return 0, 0, false
}

// tidy normalizes line ends to LF, trims trailing spaces from lines and
// keeps at most one blank line in a row, none at either end.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var lines []string
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			blank = len(lines) > 0
			continue
		}
		if blank {
			lines = append(lines, "")
			blank = false
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
