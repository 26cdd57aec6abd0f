package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// File writes a file with content, owner, group and mode.
type File struct{}

// fileState is what stat and sha256sum say about a path.
type fileState struct {
	exists             bool
	sum, mode          string
	owner, group, kind string
}

// statCmd reads a path's mode, owner, group, type and content digest:
// "644|root|root|regular file" and a line with the digest ("-" for no
// regular file), or "MISSING". The digest's program replaces the shell
// (exec) rather than being one more process: run the line alone, never
// with more after it.
func statCmd(p string) string {
	q := shell.Quote(p)
	return "if [ ! -e " + q + " ]; then echo MISSING; elif LC_ALL=C stat --printf '%a|%U|%G|%F\\n' -- " + q +
		"; then if [ -f " + q + " ] && [ -r " + q + " ]; then exec sha256sum < " + q + "; fi; echo -; else false; fi"
}

// statMetaCmd is statCmd without the content digest (its second line is
// "-"), for a check that looks at no content. stat replaces the shell
// (exec), so a read costs one process on the host, not two.
func statMetaCmd(p string) string {
	q := shell.Quote(p)
	return "if [ -e " + q + " ]; then LC_ALL=C exec stat --printf '%a|%U|%G|%F\\n-\\n' -- " + q + "; fi; echo MISSING"
}

func statFile(ctx context.Context, x *Exec, p string) (fileState, error) {
	return readStat(ctx, x, p, statCmd(p))
}

// readStat runs a stat command (statCmd or statMetaCmd) and reads its
// answer.
func readStat(ctx context.Context, x *Exec, p, cmd string) (fileState, error) {
	out, err := x.Must(ctx, "stat "+p, cmd, true)
	if err != nil {
		return fileState{}, err
	}
	lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
	if lines[0] == "MISSING" {
		return fileState{}, nil
	}
	if len(lines) < 2 {
		return fileState{}, &CommandError{Host: x.T.Host.Name, Out: out, Msg: "unexpected stat output for " + p}
	}
	f := strings.Split(lines[0], "|")
	if len(f) != 4 {
		return fileState{}, &CommandError{Host: x.T.Host.Name, Out: out, Msg: "unexpected stat output for " + p}
	}
	return fileState{exists: true, mode: f[0], owner: f[1], group: f[2], kind: f[3], sum: strings.Fields(lines[1] + " -")[0]}, nil
}

// NormMode writes an octal mode without leading zeros ("0644" → "644").
func NormMode(m string) string {
	v, err := strconv.ParseUint(m, 8, 32)
	if err != nil {
		return m
	}
	return strconv.FormatUint(v, 8)
}

func fileMode(f *plan.FileSpec) string {
	switch {
	case f.Mode == "" && f.Sensitive:
		return "600" // the content is not for every user of the machine
	case f.Mode == "":
		return "644"
	}
	return NormMode(f.Mode)
}

func (File) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	f := s.File
	st, err := statFile(ctx, x, f.Path)
	if err != nil {
		return State{}, err
	}
	if !st.exists {
		return missing(f.Path + " does not exist"), nil
	}
	if st.kind == "symbolic link" {
		// Replaced by the file, never followed: whoever can write the
		// folder may have put it there.
		return differs(f.Path + " is a symbolic link: the file replaces it"), nil
	}
	if st.kind != "regular file" && st.kind != "regular empty file" {
		return State{}, fmt.Errorf("%s: %s is a %s, not a regular file", x.T.Host.Name, f.Path, st.kind)
	}
	var diffs []string
	sum := sha256.Sum256([]byte(f.Content))
	if st.sum != hex.EncodeToString(sum[:]) {
		diffs = append(diffs, "content differs")
	}
	if m := fileMode(f); st.mode != m {
		diffs = append(diffs, fmt.Sprintf("mode is %s, want %s", st.mode, m))
	}
	if f.Owner != "" && st.owner != f.Owner {
		diffs = append(diffs, fmt.Sprintf("owner is %s, want %s", st.owner, f.Owner))
	}
	if f.Group != "" && st.group != f.Group {
		diffs = append(diffs, fmt.Sprintf("group is %s, want %s", st.group, f.Group))
	}
	if len(diffs) > 0 {
		return differs(f.Path + ": " + strings.Join(diffs, "; ")), nil
	}
	return inPlace(f.Path + " is as wanted"), nil
}

func (File) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	f := s.File
	mode, _ := strconv.ParseUint(fileMode(f), 8, 32)
	if _, err := x.Must(ctx, "create the folder of "+f.Path, shell.Cmd("mkdir -p --", path.Dir(f.Path)), true); err != nil {
		return "", err
	}
	// Owner and group are set before the file takes its place: a chown of
	// the path afterwards would follow a link that whoever can write the
	// folder put there, and chown its target as root.
	if err := x.UploadOwned(ctx, f.Path, f.Content, uint32(mode), f.Owner, f.Group, true); err != nil {
		return "", err
	}
	return fmt.Sprintf("wrote %s (%d bytes, mode %s)", f.Path, len(f.Content), fileMode(f)), nil
}
