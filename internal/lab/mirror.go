package lab

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The Debian mirror for debootstrap is read at run time from the machine's
// own apt sources, never written into the project: the machines that run the
// lab reach only the mirror they are configured with.

var (
	aptSourcesFile = "/etc/apt/sources.list"
	aptSourcesDir  = "/etc/apt/sources.list.d"
)

// debianMirror returns the URI of the machine's Debian archive for imageSuite.
func debianMirror() (string, error) {
	files := []string{aptSourcesFile}
	if more, err := filepath.Glob(filepath.Join(aptSourcesDir, "*")); err == nil {
		sort.Strings(more)
		files = append(files, more...)
	}
	var found []aptSource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(f, ".sources"):
			found = append(found, parseDeb822Sources(string(b))...)
		case strings.HasSuffix(f, ".list") || f == aptSourcesFile:
			found = append(found, parseOneLineSources(string(b))...)
		}
	}
	if m := pickMirror(found, imageSuite); m != "" {
		return m, nil
	}
	return "", errors.New("no Debian mirror for " + imageSuite + " in " + aptSourcesFile + " or " + aptSourcesDir +
		"/*.sources: debootstrap needs one (add a `deb URI " + imageSuite + " main` source)")
}

// aptSource is one "deb" source: a URI and the suites it serves.
type aptSource struct {
	uri    string
	suites []string
}

// pickMirror prefers a source that serves suite itself, then any source
// that is not a security or updates archive.
func pickMirror(srcs []aptSource, suite string) string {
	for _, s := range srcs {
		for _, su := range s.suites {
			if su == suite {
				return s.uri
			}
		}
	}
	for _, s := range srcs {
		if !strings.Contains(s.uri, "security") {
			return s.uri
		}
	}
	return ""
}

// parseDeb822Sources reads the "deb" stanzas of a deb822 .sources file.
func parseDeb822Sources(text string) []aptSource {
	var out []aptSource
	for _, stanza := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if !hasWord(fields["types"], "deb") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			out = append(out, aptSource{uri: uri, suites: strings.Fields(fields["suites"])})
		}
	}
	return out
}

// parseOneLineSources reads "deb [options] URI SUITE COMPONENTS..." lines.
func parseOneLineSources(text string) []aptSource {
	var out []aptSource
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{uri: f[0], suites: []string{f[1]}})
	}
	return out
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}
