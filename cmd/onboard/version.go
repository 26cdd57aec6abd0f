package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by `make build` (-ldflags "-X main.version=... -X main.commit=...");
// empty in a plain `go build` or `go install`, where the build info the Go
// toolchain records fills them in.
var (
	version string
	commit  string
)

// buildInfo is what `onboard version` prints.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified"` // built from a work tree with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// currentBuild is this binary's build info.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(bi, version, commit)
}

// describeBuild prefers what the Makefile set, then the toolchain's record:
// the module version (a tag, or a pseudo-version holding the commit, as
// `go install` and `go build` in a git work tree write it), the vcs.*
// settings, the Go version.
func describeBuild(bi *debug.BuildInfo, ldVersion, ldCommit string) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			b.Go = bi.GoVersion
		}
		if v := bi.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = b.Modified || s.Value == "true"
			}
		}
	}
	if strings.HasSuffix(b.Version, "+dirty") || strings.HasSuffix(b.Version, "-dirty") {
		b.Modified = true
	}
	if b.Commit == "" {
		b.Commit = pseudoRevision(b.Version)
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// pseudo matches a Go pseudo-version's timestamp and commit prefix
// (v0.0.0-20261203160313-c7b1be6abcde, v1.2.4-0.20261203160313-c7b1be6abcde).
var pseudo = regexp.MustCompile(`[-.]\d{14}-([0-9a-f]{12})(\+dirty)?$`)

// pseudoRevision is the commit a pseudo-version names, or "".
func pseudoRevision(v string) string {
	if m := pseudo.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return ""
}

// String is the text of `onboard version` and `onboard --version`.
func (b buildInfo) String() string {
	c := b.Commit
	if c == "" {
		c = "unknown"
	}
	if b.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("onboard %s\ncommit: %s\ngo: %s %s\n", b.Version, c, b.Go, b.Platform)
}
