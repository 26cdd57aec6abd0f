package winsim

import (
	"strings"
	"time"
)

// fsys is the machine's file system: case-insensitive and case-preserving,
// as NTFS. Paths are absolute: "C:\..." or UNC ("\\server\share\...",
// whose share root always exists).
type fsys struct {
	files map[string]*file  // lower-cased path
	dirs  map[string]string // lower-cased path -> path
}

type file struct {
	path string
	data []byte
	mod  time.Time
}

func newFS() *fsys {
	f := &fsys{files: map[string]*file{}, dirs: map[string]string{}}
	for _, d := range []string{`C:\Windows\System32`, `C:\Windows\Temp`, `C:\Users\Public`, `C:\Program Files`, `C:\Program Files (x86)`, `C:\ProgramData`} {
		f.mkdirAll(d)
	}
	return f
}

// normPath makes p canonical: backslashes, no "." or "..", no doubled or
// trailing separators (except a drive root, "C:\").
func normPath(p string) string {
	p = strings.ReplaceAll(p, "/", `\`)
	unc := strings.HasPrefix(p, `\\`)
	var parts []string
	for _, part := range strings.Split(p, `\`) {
		switch part {
		case "", ".":
		case "..":
			if len(parts) > 1 || (len(parts) == 1 && !unc) {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, part)
		}
	}
	if unc {
		return `\\` + strings.Join(parts, `\`)
	}
	if len(parts) == 1 && len(parts[0]) == 2 && parts[0][1] == ':' {
		return strings.ToUpper(parts[0]) + `\`
	}
	if len(parts) > 0 && len(parts[0]) == 2 && parts[0][1] == ':' {
		parts[0] = strings.ToUpper(parts[0])
	}
	return strings.Join(parts, `\`)
}

func key(p string) string { return strings.ToLower(normPath(p)) }

// isRoot: a drive root (C: only exists) or a UNC share root.
func isRoot(p string) bool {
	p = normPath(p)
	if strings.HasPrefix(p, `\\`) {
		return strings.Count(p, `\`) <= 3
	}
	return len(p) == 3 && p[1] == ':' && p[2] == '\\'
}

func parentPath(p string) string {
	p = normPath(p)
	if isRoot(p) {
		return p
	}
	i := strings.LastIndex(p, `\`)
	if i < 0 {
		return p
	}
	if i == 2 && p[1] == ':' {
		return p[:3]
	}
	return p[:i]
}

func baseName(p string) string {
	p = normPath(p)
	return p[strings.LastIndex(p, `\`)+1:]
}

func (f *fsys) isDir(p string) bool {
	if isRoot(p) {
		return strings.HasPrefix(normPath(p), `\\`) || strings.EqualFold(normPath(p), `C:\`)
	}
	_, ok := f.dirs[key(p)]
	return ok
}

func (f *fsys) file(p string) *file { return f.files[key(p)] }

func (f *fsys) exists(p string) bool { return f.isDir(p) || f.file(p) != nil }

// mkdirAll creates p and its parents; false if a file is in the way.
func (f *fsys) mkdirAll(p string) bool {
	p = normPath(p)
	if f.isDir(p) {
		return true
	}
	if f.file(p) != nil || isRoot(p) {
		return false
	}
	if !f.mkdirAll(parentPath(p)) {
		return false
	}
	f.dirs[key(p)] = p
	return true
}

// writeFile creates or replaces a file whose directory exists.
func (f *fsys) writeFile(p string, data []byte) error {
	p = normPath(p)
	switch {
	case f.isDir(p):
		return errAccessDenied
	case !f.isDir(parentPath(p)):
		return errNoDirectory
	}
	if old := f.file(p); old != nil {
		old.data, old.mod = data, time.Now()
		return nil
	}
	f.files[key(p)] = &file{path: p, data: data, mod: time.Now()}
	return nil
}

func (f *fsys) remove(p string) {
	delete(f.files, key(p))
}

// move renames a file over dst (Move-Item -Force); into dst when dst is a
// directory.
func (f *fsys) move(src, dst string) error {
	sf := f.file(src)
	if sf == nil {
		return errNoFile
	}
	if f.isDir(dst) {
		dst = normPath(dst) + `\` + baseName(src)
	}
	if err := f.writeFile(dst, sf.data); err != nil {
		return err
	}
	if key(src) != key(dst) {
		f.remove(src)
	}
	return nil
}

type fsError string

func (e fsError) Error() string { return string(e) }

const (
	errNoDirectory  = fsError("Could not find a part of the path")
	errNoFile       = fsError("Could not find file")
	errAccessDenied = fsError("Access to the path is denied")
)
