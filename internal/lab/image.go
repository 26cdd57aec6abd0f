package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The base image: one Debian tree, built with debootstrap once per machine
// and shared read-only (as the overlay's lower layer) by every workstation of
// every lab. It is cached in CacheDir/HASH/, keyed by a hash of everything
// that goes into it, as a zstd tarball (base.tar.zst) and unpacked (root/,
// complete once root.ok exists).

const (
	imageSuite   = "bookworm"
	imageVariant = "minbase"
	// imageVersion is bumped when the way the image is made changes in a
	// way the hashed values below do not show.
	imageVersion = "1"
)

// imagePackages are installed into the base image. Keep it the one list:
// later components add to it (adcli and krb5-user join the lab's Active
// Directory domain).
var imagePackages = []string{
	"openssh-server", "sudo", "cups", "cups-client", "cups-bsd", "ca-certificates",
	"adcli", "krb5-user",
	"curl", // the http check fetches URLs from the workstation with it
	// Ansible, the benchmark's peer (onboard-lab bench), runs Python on each host.
	"python3", "python3-apt",
	// The security baseline has something real to find: a firewall (the
	// lab's ruleset, loaded at boot) and automatic security updates; curl
	// fetches the intranet site over HTTPS.
	"nftables", "unattended-upgrades", "curl",
	// SSSD resolves domain users and logs them in once a host is joined.
	"sssd-ad", "libnss-sss", "libpam-sss",
}

// imageSetup runs in the new tree (chroot) after debootstrap. Host keys and
// apt sources are per workstation and are removed here; the lab user is the
// same everywhere.
const imageSetup = `set -e
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
rm -f /etc/ssh/ssh_host_*
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
find /var/lib/apt/lists -maxdepth 1 -type f -delete
: > /etc/resolv.conf
printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' > /etc/apt/apt.conf.d/20auto-upgrades
useradd --create-home --uid 1000 --user-group --shell /bin/sh ` + labUser + `
usermod --password '*' ` + labUser + `
printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' ` + labUser + ` > /etc/sudoers.d/` + labUser + `
chmod 0440 /etc/sudoers.d/` + labUser + `
apt-get clean
apt-cache gencaches
`

// imageKey hashes everything that goes into the image.
func imageKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "version=%s\nsuite=%s\nvariant=%s\narch=%s\ninclude=%s\nsetup=%s\n",
		imageVersion, imageSuite, imageVariant, runtime.GOARCH, strings.Join(imagePackages, ","), imageSetup)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// baseImage is the component that makes the base image ready.
type baseImage struct{}

func (baseImage) name() string { return "base image" }

func (baseImage) start(ctx context.Context, l *Lab) error {
	root, err := ensureImage(ctx, l.cfg.CacheDir)
	if err != nil {
		return err
	}
	l.baseRoot = root
	return nil
}

// ensureImage returns the unpacked base image, unpacking or building it if
// needed, under a lock so concurrent labs never build the same image twice.
func ensureImage(ctx context.Context, cacheDir string) (string, error) {
	dir := filepath.Join(cacheDir, imageKey())
	root := filepath.Join(dir, "root")
	ok := filepath.Join(dir, "root.ok")
	if _, err := os.Stat(ok); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(ok); err == nil {
		return root, nil // another lab made it while we waited
	}
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	tarball := filepath.Join(dir, "base.tar.zst")
	if _, err := os.Stat(tarball); err != nil {
		if err := buildImage(ctx, dir, tarball); err != nil {
			return "", fmt.Errorf("build base image in %s: %w", dir, err)
		}
	}
	tmp := root + ".tmp"
	if err := unmountUnder(tmp); err != nil {
		return "", err
	}
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	if err := run(ctx, "tar", "--zstd", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"-xpf", tarball, "-C", tmp); err != nil {
		return "", fmt.Errorf("unpack base image: %w", err)
	}
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	if err := os.WriteFile(ok, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	return root, nil
}

// buildImage runs debootstrap and imageSetup in dir/build and packs the
// result into tarball.
func buildImage(ctx context.Context, dir, tarball string) error {
	mirror, err := debianMirror()
	if err != nil {
		return err
	}
	build := filepath.Join(dir, "build")
	if err := unmountUnder(build); err != nil {
		return err
	}
	if err := os.RemoveAll(build); err != nil {
		return err
	}
	defer func() {
		_ = unmountUnder(build)
		_ = os.RemoveAll(build)
	}()
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	err = run(ctx, "debootstrap", "--variant="+imageVariant,
		"--include="+strings.Join(imagePackages, ","), imageSuite, build, mirror)
	if err != nil {
		return err
	}
	if err := run(ctx, "chroot", build, "/bin/sh", "-c", imageSetup); err != nil {
		return fmt.Errorf("set up the image: %w", err)
	}
	tmp := tarball + ".tmp"
	if err := run(ctx, "tar", "-I", "zstd -T0 -3 -q", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"-cf", tmp, "-C", build, "."); err != nil {
		return fmt.Errorf("pack base image: %w", err)
	}
	return os.Rename(tmp, tarball)
}

// lockFile takes an exclusive flock on path, waiting as long as ctx allows.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s (held by another lab process): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unmountUnder lazily unmounts every mount at or below dir in this mount
// namespace, deepest first.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	var errs []error
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mounts[i], err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var n int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &n); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
