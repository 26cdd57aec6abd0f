package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"onboard/internal/remote"
	"onboard/internal/shell"
)

// Upload writes r to dst with mode, atomically: the content goes to a
// temporary file in the same directory, which is checked for its size,
// chmod-ed and renamed over dst. A broken stream therefore never replaces
// dst (the size check catches it), and no SFTP server is needed.
func (c *Client) Upload(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, privileged bool) error {
	return c.UploadOwned(ctx, dst, r, mode, "", "", privileged)
}

// UploadOwned is Upload that also gives the file an owner and a group (each
// optional). Owner, group and mode are set on the temporary file, never
// following a symbolic link, before it is renamed over dst: nothing is done
// to the path dst after the rename, so a link someone placed there is
// replaced, not followed.
func (c *Client) UploadOwned(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, owner, group string, privileged bool) error {
	if dst == "" || strings.HasSuffix(dst, "/") || strings.ContainsAny(dst, "\x00\n") {
		return c.errorf("upload: invalid destination path %q", dst)
	}
	size, body, err := sized(r)
	if err != nil {
		return c.errorf("upload %s: read content: %w", dst, err)
	}
	var stderr bytes.Buffer
	code, err := c.Run(ctx, remote.Cmd{
		Command:    "sh -c " + shell.Quote(uploadScript(dst, size, mode, owner, group)),
		Privileged: privileged,
		Stdin:      body,
		Stderr:     &stderr,
	})
	if err != nil {
		// Keep the host first: "ws1 (ADDR): upload PATH: connection lost".
		return &causedError{
			msg:    c.where() + ": upload " + dst + ": " + strings.TrimPrefix(err.Error(), c.where()+": "),
			causes: []error{err},
		}
	}
	if code != 0 {
		return c.errorf("upload %s: exit code %d: %s", dst, code, tail(stderr.String(), 500))
	}
	return nil
}

// uploadScript is the remote side of Upload: every value is quoted. The
// temporary file has an unpredictable name in dst's folder (mktemp creates
// it exclusively, 0600). chown -h and chgrp -h do not follow a link; chmod
// comes after them since chown clears the setuid bits; mv -T renames over
// dst itself (a link or a folder there is never followed into).
func uploadScript(dst string, size int64, mode fs.FileMode, owner, group string) string {
	tmpl := path.Join(path.Dir(dst), "."+path.Base(dst)+".onboard-XXXXXX")
	q := shell.Quote(dst)
	lines := []string{
		`umask 077`,
		`t=$(mktemp ` + shell.Quote(tmpl) + `) || exit 1`,
		`trap 'rm -f "$t"' EXIT`,
		`cat > "$t" || exit 1`,
		`n=$(wc -c < "$t")`,
		fmt.Sprintf(`if [ $n -ne %d ]; then echo "upload to "%s": received $n bytes of %d" >&2; exit 1; fi`, size, q, size),
	}
	// chown OWNER: would also set the owner's login group: set each alone.
	if owner != "" {
		lines = append(lines, `chown -h -- `+shell.Quote(owner)+` "$t" || exit 1`)
	}
	if group != "" {
		lines = append(lines, `chgrp -h -- `+shell.Quote(group)+` "$t" || exit 1`)
	}
	return strings.Join(append(lines,
		`[ -f "$t" ] && [ ! -L "$t" ] || { echo "upload to "`+q+`": the temporary file was replaced" >&2; exit 1; }`,
		`chmod `+shell.Quote(chmodMode(mode))+` "$t" || exit 1`,
		`mv -fT "$t" `+q,
	), "\n")
}

// chmodMode is mode in chmod's octal, with the setuid, setgid and sticky
// bits, given either as fs.FileMode flags or as Unix bits (0o4755), which a
// mode parsed from a playbook's "4755" is.
func chmodMode(mode fs.FileMode) string {
	m := uint32(mode) & 0o7777
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return fmt.Sprintf("%04o", m)
}

// sized returns the content's length and a reader for it. In-memory
// readers and regular files know their size; anything else is read into
// memory first, since the size must be on the command line before the
// content is sent.
func sized(r io.Reader) (int64, io.Reader, error) {
	switch v := r.(type) {
	case nil:
		return 0, strings.NewReader(""), nil
	case interface{ Len() int }:
		return int64(v.Len()), r, nil
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := v.Seek(0, io.SeekCurrent); err == nil {
				return st.Size() - off, r, nil
			}
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, nil, err
	}
	return int64(len(b)), bytes.NewReader(b), nil
}

// tail is the end of a command's output, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
