package lab

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The lab's apt repository: small packages built with dpkg-deb, indexed as a
// flat repository ("deb [trusted=yes] URL ./") and served over HTTP from the
// services namespace by Debian's python3.

const repoPort = 8000

// repo is the component that builds and serves the repository.
type repo struct{}

func (repo) name() string { return "apt repository" }

func (repo) start(ctx context.Context, l *Lab) error {
	dir := filepath.Join(l.cfg.Dir, "repo")
	if err := cachedRepo(ctx, l.cfg.CacheDir, dir, l.cfg.Packages); err != nil {
		return err
	}
	svc := l.net.svc
	logPath := filepath.Join(l.cfg.Dir, "services", "http.log")
	script := fmt.Sprintf("cd %s && setsid %s -m http.server --bind %s %d </dev/null >>%s 2>&1 &",
		shq(dir), pythonPath, svc.addr, repoPort, shq(logPath))
	if _, _, err := l.execIn(ctx, svc.netns, script); err != nil {
		return err
	}
	l.RepoURL = fmt.Sprintf("http://%s:%d", svc.addr, repoPort)
	if err := waitHTTP(ctx, l.RepoURL+"/Packages", 10*time.Second); err != nil {
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w: %s", err, tail(string(log), 1000))
	}
	return nil
}

// sourcesLine is the apt source of the lab repository.
func (l *Lab) sourcesLine() string {
	return fmt.Sprintf("deb [trusted=yes] http://%s:%d ./\n", l.net.svc.addr, repoPort)
}

// repoFormat is bumped when buildDeb or writeIndex make other files from
// the same packages.
const repoFormat = "1"

// cachedRepo fills dir with the repository of pkgs: built once per machine
// into CacheDir/repo-HASH (HASH of the packages), then hard-linked (or
// copied) into dir at each start. Building costs most of a second (dpkg-deb
// and dpkg-scanpackages); linking, milliseconds. apt only reads the files.
func cachedRepo(ctx context.Context, cacheDir, dir string, pkgs []Package) error {
	h := sha256.New()
	fmt.Fprintf(h, "format=%s\n", repoFormat)
	for _, p := range pkgs {
		fmt.Fprintf(h, "%q %q %q %q\n", p.Name, p.Version, p.Description, p.Depends)
	}
	cache := filepath.Join(cacheDir, "repo-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(cache, "Release")); err != nil {
		tmp, err := os.MkdirTemp(cacheDir, ".repo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := buildRepo(ctx, tmp, pkgs); err != nil {
			return err
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return err
		}
		// Another lab may have made the same one meanwhile: then keep that.
		if err := os.Rename(tmp, cache); err != nil {
			if _, serr := os.Stat(filepath.Join(cache, "Release")); serr != nil {
				return fmt.Errorf("repository cache %s: %w", cache, err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(cache)
	if err != nil {
		return err
	}
	for _, e := range ents {
		src, dst := filepath.Join(cache, e.Name()), filepath.Join(dir, e.Name())
		if err := os.Link(src, dst); err == nil {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildRepo builds every package into dir and indexes them.
func buildRepo(ctx context.Context, dir string, pkgs []Package) error {
	stage := filepath.Join(dir, ".stage")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	var wg sync.WaitGroup
	errs := make([]error, len(pkgs))
	for i, p := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = buildDeb(ctx, stage, dir, p)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	c := command(ctx, "dpkg-scanpackages", "-m", ".", "/dev/null")
	c.Dir = dir
	var out, stderr bytes.Buffer
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("dpkg-scanpackages in %s: %w: %s", dir, err, tail(stderr.String(), 1000))
	}
	return writeIndex(dir, out.Bytes())
}

// buildDeb builds one package with dpkg-deb.
func buildDeb(ctx context.Context, stage, dir string, p Package) error {
	root := filepath.Join(stage, p.Name+"_"+p.Version)
	files := map[string]struct {
		mode os.FileMode
		body string
	}{
		"DEBIAN/control":                      {0o644, debControl(p)},
		"usr/bin/" + p.Name:                   {0o755, fmt.Sprintf("#!/bin/sh\necho %s\n", shq(p.Name+" "+p.Version))},
		"usr/share/doc/" + p.Name + "/README": {0o644, fmt.Sprintf("%s %s: %s.\nBuilt by the onboard lab for tests.\n", p.Name, p.Version, p.description())},
	}
	for rel, f := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.body), f.mode); err != nil {
			return err
		}
	}
	deb := filepath.Join(dir, p.Name+"_"+p.Version+"_all.deb")
	if err := run(ctx, "dpkg-deb", "--root-owner-group", "-Zgzip", "-b", root, deb); err != nil {
		return fmt.Errorf("build package %s %s: %w", p.Name, p.Version, err)
	}
	return nil
}

func (p Package) description() string {
	if p.Description != "" {
		return p.Description
	}
	return p.Name + " (onboard lab package)"
}

func debControl(p Package) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: all\n", p.Name, p.Version)
	b.WriteString("Maintainer: Onboard Lab <lab@onboard.invalid>\nSection: misc\nPriority: optional\n")
	if len(p.Depends) > 0 {
		fmt.Fprintf(&b, "Depends: %s\n", strings.Join(p.Depends, ", "))
	}
	fmt.Fprintf(&b, "Description: %s\n Built by the onboard lab for tests.\n", strings.ReplaceAll(p.description(), "\n", " "))
	return b.String()
}

// writeIndex writes Packages, Packages.gz and a Release that lists them, so
// apt accepts the flat repository without warnings about a missing Release.
func writeIndex(dir string, packages []byte) error {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(packages); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	index := []struct {
		name string
		data []byte
	}{{"Packages", packages}, {"Packages.gz", gz.Bytes()}}
	var md5s, shas strings.Builder
	for _, f := range index {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
		m, s := md5.Sum(f.data), sha256.Sum256(f.data)
		fmt.Fprintf(&md5s, " %s %d %s\n", hex.EncodeToString(m[:]), len(f.data), f.name)
		fmt.Fprintf(&shas, " %s %d %s\n", hex.EncodeToString(s[:]), len(f.data), f.name)
	}
	release := fmt.Sprintf("Origin: onboard-lab\nLabel: onboard-lab\nDate: %s\nMD5Sum:\n%sSHA256:\n%s",
		time.Now().UTC().Format(time.RFC1123), md5s.String(), shas.String())
	return os.WriteFile(filepath.Join(dir, "Release"), []byte(release), 0o644)
}

// waitHTTP waits until url answers 200 from the root namespace.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// No proxy: the caller's HTTP_PROXY cannot reach the lab.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: not ready after %s: %w", url, timeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
