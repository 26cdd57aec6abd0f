package lab

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// packagesTxt lists the Debian packages the lab needs on the controller, one
// a line; CI installs them with apt-get. TestPackagesTxt keeps it in step
// with the prerequisites below.
//
//go:embed packages.txt
var packagesTxt string

// prerequisite is a command or file the lab needs on the controller and the
// Debian package that provides it.
type prerequisite struct {
	command string // looked up in PATH (and the sbin folders)
	file    string // or a file that must exist
	pkg     string
	// only names the part of the lab that needs it ("openldap",
	// "active-directory", "directory" for either); empty: every lab.
	only string
}

var prerequisites = []prerequisite{
	{command: "ip", pkg: "iproute2"},
	{command: "unshare", pkg: "util-linux"},
	{command: "nsenter", pkg: "util-linux"},
	{command: "mount", pkg: "mount"},
	{command: "chroot", pkg: "coreutils"},
	{command: "tar", pkg: "tar"},
	{command: "zstd", pkg: "zstd"},
	{command: "debootstrap", pkg: "debootstrap"},
	{file: "/usr/share/keyrings/debian-archive-keyring.gpg", pkg: "debian-archive-keyring"},
	{command: "ssh-keygen", pkg: "openssh-client"},
	{command: "ssh", pkg: "openssh-client"},
	{command: "dpkg-deb", pkg: "dpkg"},
	{command: "dpkg-scanpackages", pkg: "dpkg-dev"},
	{command: "ippeveprinter", pkg: "cups-ipp-utils"},
	{command: "dbus-daemon", pkg: "dbus"},
	{command: "avahi-daemon", pkg: "avahi-daemon"},
	{file: pythonPath, pkg: "python3"},
	{command: "openssl", pkg: "openssl"},
	{command: "dnsmasq", pkg: "dnsmasq-base"},
	{command: "nginx", pkg: "nginx-light"},
	{command: "socat", pkg: "socat"},
	{command: "slapd", pkg: "slapd", only: KindOpenLDAP},
	{command: "slapadd", pkg: "slapd", only: KindOpenLDAP},
	{file: "/usr/lib/ldap/back_mdb.so", pkg: "slapd", only: KindOpenLDAP},
	{file: "/etc/ldap/schema/inetorgperson.ldif", pkg: "slapd", only: KindOpenLDAP},
	{command: "samba", pkg: "samba-ad-dc", only: KindActiveDirectory},
	{command: "samba-tool", pkg: "samba-ad-dc", only: KindActiveDirectory},
	{file: "/usr/share/samba/setup/provision.ldif", pkg: "samba-ad-provision", only: KindActiveDirectory},
}

// needed says whether cfg's lab needs p.
func (p prerequisite) needed(cfg Config) bool {
	switch p.only {
	case "":
		return true
	case "directory":
		return cfg.OpenLDAP || cfg.ActiveDirectory
	case KindOpenLDAP:
		return cfg.OpenLDAP
	case KindActiveDirectory:
		return cfg.ActiveDirectory
	}
	return true
}

// pythonPath is Debian's python3, which serves the apt repository. A python3
// earlier in PATH (pyenv, a virtualenv) is not used: its start-up may depend
// on the caller's environment.
const pythonPath = "/usr/bin/python3"

// ErrPrerequisite is wrapped by Start's error when the controller lacks a
// command or file the lab needs.
var ErrPrerequisite = errors.New("lab prerequisite missing")

// checkPrerequisites fails with the first missing prerequisite of cfg's lab,
// naming the package to install.
func checkPrerequisites(cfg Config) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: the lab must run as root (it makes network namespaces and mounts)", ErrPrerequisite)
	}
	for _, p := range prerequisites {
		if !p.needed(cfg) {
			continue
		}
		if p.command != "" && lookPath(p.command) == "" {
			return fmt.Errorf("%w: command %q not found: install the Debian package %s (apt-get install -y %s; every package the lab needs is in internal/lab/packages.txt)",
				ErrPrerequisite, p.command, p.pkg, p.pkg)
		}
		if p.file != "" {
			if _, err := os.Stat(p.file); err != nil {
				return fmt.Errorf("%w: %s not found: install the Debian package %s (apt-get install -y %s; every package the lab needs is in internal/lab/packages.txt)",
					ErrPrerequisite, p.file, p.pkg, p.pkg)
			}
		}
	}
	return nil
}

// lookPath finds a command in PATH or in the sbin folders, which a non-login
// root shell may leave out of PATH.
func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// controllerPackages returns the package names of packages.txt.
func controllerPackages() []string {
	var out []string
	for _, line := range strings.Split(packagesTxt, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
