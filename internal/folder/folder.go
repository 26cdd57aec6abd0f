// Package folder confines the local files a playbook reads and writes to
// the folders the inventory or the command line allows: paths are checked
// with symlinks resolved when the plan is made, and opened again beneath
// their folder (os.Root) when used, so a symlink swapped in between cannot
// lead out.
package folder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Resolve makes p absolute and clean and resolves the symlinks of its
// longest existing prefix; the part that does not exist yet is kept as
// written (it can hold no symlink).
func Resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// Set is a list of allowed folders, each absolute with symlinks resolved.
type Set []string

// NewSet resolves folders (relative ones against the current directory).
func NewSet(dirs ...string) (Set, error) {
	var s Set
	for _, d := range dirs {
		r, err := Resolve(d)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", d, err)
		}
		s = append(s, r)
	}
	return s, nil
}

// Root returns the folder of the set that holds p (already resolved), or "".
func (s Set) Root(p string) string {
	for _, d := range s {
		if within(d, p) {
			return d
		}
	}
	return ""
}

// Check resolves p and returns it with the allowed folder holding it. A
// path that leads out (by .. or a symlink) is refused.
func (s Set) Check(p string) (resolved, root string, err error) {
	r, err := Resolve(p)
	if err != nil {
		return "", "", err
	}
	root = s.Root(r)
	if root == "" {
		if r != filepath.Clean(p) && filepath.IsAbs(p) {
			return "", "", fmt.Errorf("%s (%s once symlinks are followed) is outside the allowed folders (%s)", p, r, s)
		}
		return "", "", fmt.Errorf("%s is outside the allowed folders (%s)", r, s)
	}
	return r, root, nil
}

func (s Set) String() string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// rel is p relative to root, refusing what is not beneath it.
func rel(root, p string) (string, error) {
	if !within(root, p) || filepath.Clean(p) == filepath.Clean(root) {
		return "", fmt.Errorf("%s is not inside %s", p, root)
	}
	return filepath.Rel(root, p)
}

// open opens root (made with dirMode when mkdir is set and it is missing)
// and names p relative to it; everything after goes through the returned
// os.Root, so nothing can lead out of root.
func open(root, p string, mkdir bool, dirMode os.FileMode) (*os.Root, string, error) {
	name, err := rel(root, p)
	if err != nil {
		return nil, "", err
	}
	if mkdir {
		if err := os.MkdirAll(root, dirMode); err != nil {
			return nil, "", err
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, "", err
	}
	return r, name, nil
}

// Probe checks, beneath root, that p does not exist yet and that its
// folder (made with dirMode when missing) takes a new file: what a password
// delivery needs before the password is set.
func Probe(root, p string, dirMode os.FileMode) error {
	r, name, err := open(root, p, true, dirMode)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.Lstat(name); err == nil {
		return fmt.Errorf("%s: %w", p, fs.ErrExist)
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := r.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	}
	probe := filepath.Join(dir, fmt.Sprintf(".onboard-probe-%d", os.Getpid()))
	f, err := r.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", filepath.Dir(p), err)
	}
	f.Close()
	return r.Remove(probe)
}

// Lstat describes p beneath root, not following a final symlink.
func Lstat(root, p string) (fs.FileInfo, error) {
	r, name, err := open(root, p, false, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Lstat(name)
}

// MaxRead bounds a file read for a plan: its content travels in the plan.
const MaxRead = 16 << 20

// ReadFile reads the regular file p beneath root; a symlink out of root, or
// anything but a regular file (a device, a fifo), is refused.
func ReadFile(root, p string) ([]byte, error) {
	r, name, err := open(root, p, false, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", p, st.Mode().Type())
	}
	if st.Size() > MaxRead {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", p, st.Size(), MaxRead)
	}
	return io.ReadAll(io.LimitReader(f, MaxRead+1))
}

// CreateNew writes data to p beneath root, never replacing a file: it is
// written to a temporary file and linked into place, which fails when p
// exists (a symlink included), so p is never seen half written. Missing
// folders are made with dirMode.
func CreateNew(root, p string, data []byte, mode, dirMode os.FileMode) error {
	return write(root, p, data, mode, dirMode, false)
}

// Replace writes data to p beneath root atomically, replacing a file that
// is there (a report re-written by a re-run).
func Replace(root, p string, data []byte, mode, dirMode os.FileMode) error {
	return write(root, p, data, mode, dirMode, true)
}

func write(root, p string, data []byte, mode, dirMode os.FileMode, replace bool) (err error) {
	r, name, err := open(root, p, true, dirMode)
	if err != nil {
		return err
	}
	defer r.Close()
	dir := filepath.Dir(name)
	if dir != "." {
		if err := r.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	}
	var f *os.File
	var tmp string
	for i := 0; ; i++ {
		tmp = filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d-%d", filepath.Base(name), os.Getpid(), i))
		f, err = r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return err
		}
	}
	defer func() {
		if err != nil {
			f.Close()
			r.Remove(tmp)
		}
	}()
	// The umask may have narrowed it; a password file must be exactly mode.
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if replace {
		return r.Rename(tmp, name)
	}
	if err = r.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: it is never replaced", p)
		}
		return err
	}
	return r.Remove(tmp)
}
