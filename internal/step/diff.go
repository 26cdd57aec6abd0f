package step

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/secret"
	"onboard/internal/shell"
	"onboard/internal/textdiff"
)

// Differ is implemented by the kinds that write a file's content (file,
// win-file). With --diff, the engine asks a step that is not in place what
// it would change in the content, before applying it.
type Differ interface {
	// Diff reads the content the host has now (one read) and returns a
	// unified diff to the content the step writes, secrets redacted; ""
	// when the content is already as wanted.
	Diff(ctx context.Context, x *Exec, s *plan.Step) (string, error)
	// DiffProbes are the reads Diff makes, to ride in the host's batch of
	// reads with the checks'.
	DiffProbes(s *plan.Step) []Probe
}

// Shown instead of content that is not compared or not shown.
const (
	SensitiveRedacted = "(sensitive content redacted)"
	// maxDiffRead is how much of a file on the host is read to compare:
	// a larger one is said to be so, not shown.
	maxDiffRead = 1 << 20
)

// oldContent is what a host has at a file's path, for a diff.
type oldContent struct {
	state   string // file, absent, link (never followed)
	content string
}

// contentDiff is the diff of a file step from the content the host has
// (old) to the content of the plan. A sensitive file's content is never
// read nor shown; a line holding a known secret value is redacted.
func contentDiff(host string, f *plan.FileSpec, old oldContent) string {
	before := "before: " + f.Path + " on " + host
	switch old.state {
	case "absent":
		before += " (absent)"
	case "link":
		before += " (a symbolic link, replaced, not followed)"
	}
	after := "after: " + f.Path
	if f.Sensitive {
		return "--- " + before + "\n+++ " + after + "\n" + SensitiveRedacted + "\n"
	}
	if len(old.content) > maxDiffRead {
		return fmt.Sprintf("--- %s\n+++ %s\n(the file on the host is larger than %d MiB: its content is not compared)\n", before, after, maxDiffRead>>20)
	}
	return textdiff.Unified(before, after, old.content, f.Content, textdiff.Options{Redact: holdsSecret})
}

// holdsSecret reports whether line holds a secret value the run knows
// (a credential it resolved, a password it made).
func holdsSecret(line string) bool { return secret.Scrub(line) != line }

// readCmd prints what a path is (link, file, or absent) on its first line
// and, for a regular file, its first maxDiffRead+1 bytes after it. A link
// is never followed: whoever can write the folder may point it at a file
// that must not be shown.
func readCmd(p string) string {
	q := shell.Quote(p)
	return "if [ -h " + q + " ]; then echo link; elif [ -f " + q + " ]; then echo file && head -c " + strconv.Itoa(maxDiffRead+1) + " -- " + q + "; else echo absent; fi"
}

// DiffProbes reads the file's content, except a sensitive one's.
func (File) DiffProbes(s *plan.Step) []Probe {
	if s.File.Sensitive {
		return nil
	}
	return []Probe{{readCmd(s.File.Path), true}}
}

func (File) Diff(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	f := s.File
	if f.Sensitive {
		return contentDiff(x.T.Host.Name, f, oldContent{state: "file"}), nil
	}
	out, err := x.Must(ctx, "read "+f.Path+" for --diff", readCmd(f.Path), true)
	if err != nil {
		return "", err
	}
	state, content, _ := strings.Cut(out.Stdout, "\n")
	switch state {
	case "file", "absent", "link":
	default:
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "unexpected output reading " + f.Path}
	}
	return contentDiff(x.T.Host.Name, f, oldContent{state: state, content: content}), nil
}

// psFileRead reads a file as base64, at most max bytes and one more (to
// tell a larger file); a link or folder is not read.
const psFileRead = `$item = Get-Item -LiteralPath $in.path -Force -ErrorAction SilentlyContinue
$state = 'absent'; $data = ''
if ($null -ne $item -and $item.LinkType) { $state = 'link' }
elseif ($null -ne $item -and -not $item.PSIsContainer) {
  $state = 'file'
  $fs = [System.IO.File]::OpenRead($item.FullName)
  try {
    $buf = New-Object byte[] ([Math]::Min($fs.Length, [int64]$in.max + 1))
    $n = 0
    while ($n -lt $buf.Length) { $r = $fs.Read($buf, $n, $buf.Length - $n); if ($r -le 0) { break }; $n += $r }
    $data = [Convert]::ToBase64String($buf, 0, $n)
  } finally { $fs.Dispose() }
}
[pscustomobject]@{ state = $state; data = $data } | ConvertTo-Json -Compress
`

// WinRM has no batch of reads: the one read is made by Diff.
func (WinFile) DiffProbes(s *plan.Step) []Probe { return nil }

func (WinFile) Diff(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	f := s.File
	if f.Sensitive {
		return contentDiff(x.T.Host.Name, f, oldContent{state: "file"}), nil
	}
	var r struct {
		State string `json:"state"`
		Data  string `json:"data"`
	}
	sc := powershell.Script{Op: "file-read", Body: psFileRead, Data: map[string]string{"path": f.Path, "max": strconv.Itoa(maxDiffRead)}}
	out, err := x.psResult(ctx, "read "+f.Path+" for --diff", sc, nil, &r)
	if err != nil {
		return "", err
	}
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || (r.State != "file" && r.State != "absent" && r.State != "link") {
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "unexpected result reading " + f.Path}
	}
	return contentDiff(x.T.Host.Name, f, oldContent{state: r.State, content: string(b)}), nil
}
