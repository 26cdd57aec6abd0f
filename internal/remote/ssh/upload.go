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
		// sh, whatever the login shell: exec'd, not a child of the shell
		// that reads the line (one process less on the host).
		Command:    "exec sh -c " + shell.Quote(uploadScript(dst, size, mode, owner, group)),
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
// content goes to a new folder that mktemp -d makes (unpredictable name,
// 0700, in dst's folder so that the rename stays on one file system), and
// the script works from inside it: whoever can write dst's folder can
// rename that folder but not put anything in it, so chown -h, chgrp -h and
// chmod act on onboard's file and nothing else. chmod comes after chown,
// which clears the setuid bits; mv -T renames over dst itself, so a link or
// a folder there is replaced or refused, never followed.
func uploadScript(dst string, size int64, mode fs.FileMode, owner, group string) string {
	tmpl := path.Join(path.Dir(dst), "."+path.Base(dst)+".onboard-XXXXXX")
	lines := []string{
		`umask 077`,
		`p=` + shell.Quote(dst),
		`case $p in /*) ;; *) p=$PWD/$p ;; esac`,
		`d=$(mktemp -d ` + shell.Quote(tmpl) + `) || exit 1`,
		`cd "$d" || exit 1`,
		`trap 'rm -f ./f; cd .. && rmdir -- "${d##*/}" 2>/dev/null' EXIT`,
		// Only a folder this user made can be owned by it: not one put in
		// its place between mktemp and cd.
		`[ -O . ] || { echo "upload to $p: the temporary folder was replaced" >&2; exit 1; }`,
		`cat > ./f || exit 1`,
		`n=$(wc -c < ./f)`,
		fmt.Sprintf(`if [ $n -ne %d ]; then echo "upload to $p: received $n bytes of %d" >&2; exit 1; fi`, size, size),
	}
	// chown OWNER: would also set the owner's login group: set each alone.
	if owner != "" {
		lines = append(lines, `chown -h -- `+shell.Quote(owner)+` ./f || exit 1`)
	}
	if group != "" {
		lines = append(lines, `chgrp -h -- `+shell.Quote(group)+` ./f || exit 1`)
	}
	return strings.Join(append(lines,
		`chmod `+shell.Quote(chmodMode(mode))+` ./f || exit 1`,
		`mv -fT ./f "$p"`,
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
