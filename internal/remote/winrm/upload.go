package winrm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strings"

	"onboard/internal/powershell"
	"onboard/internal/remote"
)

// Upload ops, as the lab's simulated Windows host dispatches on them.
const (
	opUpload      = "win-upload"
	opUploadAbort = "win-upload-abort"
)

// uploadBody appends one chunk to the temporary file (creating it for the
// first chunk) and, with the last chunk, checks the size and renames the
// file over the destination. Any failure removes the temporary file.
const uploadBody = `
$bytes = [Convert]::FromBase64String($in.data)
if ($in.append) { $mode = [IO.FileMode]::Append } else { $mode = [IO.FileMode]::Create }
try {
    $file = [IO.File]::Open($in.temp, $mode, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try { $file.Write($bytes, 0, $bytes.Length) } finally { $file.Dispose() }
    if ($in.final) {
        $size = (Get-Item -LiteralPath $in.temp).Length
        if ($size -ne $in.size) { throw ('received ' + $size + ' of ' + $in.size + ' bytes') }
        Move-Item -LiteralPath $in.temp -Destination $in.path -Force
    }
} catch {
    Remove-Item -LiteralPath $in.temp -Force -ErrorAction SilentlyContinue
    throw
}
`

// uploadAbortBody removes the temporary file of an upload that failed
// between chunks.
const uploadAbortBody = `
Remove-Item -LiteralPath $in.temp -Force -ErrorAction SilentlyContinue
`

// uploadChunk is the data of one upload command.
type uploadChunk struct {
	Path   string `json:"path"`
	Temp   string `json:"temp"`
	Data   string `json:"data"` // base64
	Append bool   `json:"append"`
	Final  bool   `json:"final"`
	Size   int64  `json:"size"` // of the whole file, checked with the final chunk
}

func uploadScript(ch uploadChunk) powershell.Script {
	return powershell.Script{Op: opUpload, Body: uploadBody, Data: ch}
}

// Upload writes r to path, atomically: base64 chunks, each small enough for
// the command line (cmd.exe's 8191 characters), are appended to a
// temporary file next to path, whose size is checked before Move-Item
// -Force renames it over path. Windows has no file mode and WinRM no sudo:
// mode and privileged are ignored. path must be absolute ("C:\...",
// "\\server\share\...").
//
// Each chunk starts a powershell.exe, about 1.6 KiB per command: fine for
// configuration files and scripts, slow for installers.
func (c *Client) Upload(ctx context.Context, path string, r io.Reader, _ fs.FileMode, _ bool) error {
	if !isAbsWindows(path) || strings.ContainsAny(path, "\x00\r\n") || strings.HasSuffix(path, `\`) || strings.HasSuffix(path, "/") {
		return c.errorf("upload: invalid destination path %q (want an absolute Windows file path)", path)
	}
	if r == nil {
		r = strings.NewReader("")
	}
	temp := path + ".onboard-" + randomHex(4) + ".tmp"
	chunk := chunkBytes(uploadChunk{Path: path, Temp: temp, Append: true, Final: true, Size: 1 << 40})
	if chunk < 3 {
		return c.errorf("upload %s: the path is too long for a command line", path)
	}
	buf, next := make([]byte, chunk), make([]byte, chunk)
	n, rerr := io.ReadFull(r, buf)
	var size int64
	for first := true; ; first = false {
		if readFailed(rerr) {
			if !first {
				c.abortUpload(ctx, temp)
			}
			return c.errorf("upload %s: read content: %w", path, rerr)
		}
		// A short read is the end; after a full chunk, read ahead to know
		// whether it was the last.
		final := rerr != nil
		var m int
		var nerr error
		if !final {
			m, nerr = io.ReadFull(r, next)
			final = m == 0 && errors.Is(nerr, io.EOF)
		}
		size += int64(n)
		ch := uploadChunk{Path: path, Temp: temp, Data: base64.StdEncoding.EncodeToString(buf[:n]), Append: !first, Final: final, Size: size}
		if err := c.runUpload(ctx, path, ch); err != nil {
			if !isExitError(err) {
				// A command that failed removed the file itself; after a
				// transport failure it may be there, whatever the chunk.
				c.abortUpload(ctx, temp)
			}
			return err
		}
		if final {
			return nil
		}
		buf, next = next, buf
		n, rerr = m, nerr
	}
}

func readFailed(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF)
}

// exitError is an upload command that ran and failed.
type exitError struct{ error }

func isExitError(err error) bool {
	var e *exitError
	return errors.As(err, &e)
}

// runUpload runs one chunk's command.
func (c *Client) runUpload(ctx context.Context, path string, ch uploadChunk) error {
	line, stdin := uploadScript(ch).Command()
	if stdin != nil {
		// chunkBytes sized the chunk for the command line.
		return c.errorf("upload %s: internal error: chunk of %d bytes does not fit the command line", path, len(ch.Data))
	}
	var stderr bytes.Buffer
	code, err := c.Run(ctx, remote.Cmd{Command: line, Stderr: &stderr})
	if err != nil {
		// Keep the host first: "ws1 (ADDR): upload PATH: connection lost".
		return &causedError{
			msg:    c.where() + ": upload " + path + ": " + strings.TrimPrefix(err.Error(), c.where()+": "),
			causes: []error{err},
		}
	}
	if code != 0 {
		return &exitError{c.errorf("upload %s: exit code %d: %s", path, code, tail(powershell.DecodeCLIXML(stderr.String()), 500))}
	}
	return nil
}

// abortUpload removes the temporary file of a failed upload, best effort,
// even when ctx has ended.
func (c *Client) abortUpload(ctx context.Context, temp string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	line, _ := powershell.Script{Op: opUploadAbort, Body: uploadAbortBody, Data: struct {
		Temp string `json:"temp"`
	}{temp}}.Command()
	if _, err := c.Run(ctx, remote.Cmd{Command: line}); err != nil {
		c.log.Debug("winrm upload: temporary file not removed", "file", temp, "err", err)
	}
}

// chunkBytes is the largest chunk (in bytes, before base64) whose command
// line fits powershell.MaxCommandLine, for the chunk ch describes.
func chunkBytes(ch uploadChunk) int {
	fits := func(chars int) bool {
		ch.Data = strings.Repeat("A", chars)
		_, stdin := uploadScript(ch).Command()
		return stdin == nil
	}
	// Binary search over base64 lengths in units of 4 characters.
	lo, hi := 0, powershell.MaxCommandLine/4
	if !fits(0) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(4 * mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return 3 * lo
}

// isAbsWindows reports whether p is an absolute Windows path: a drive
// ("C:\", "C:/") or a UNC path ("\\server\share").
func isAbsWindows(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		d := p[0] | 0x20
		return d >= 'a' && d <= 'z'
	}
	return strings.HasPrefix(p, `\\`) && len(p) > 2
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tail is the end of a command's output, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
