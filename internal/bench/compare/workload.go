package compare

import (
	"fmt"
	"strings"
)

// trivialPaths are the paths of the trivial workload's 10 checks: the
// first half are onboard `file` checks, the rest `command` checks running
// `test -e PATH`; Ansible and the bare loops run `test -e PATH` for each.
var trivialPaths = []string{
	"/etc/hostname", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/os-release",
	"/bin/sh", "/usr/bin/env", "/etc/shells", "/etc/login.defs", "/etc/debian_version",
}

// TrivialCommands are the remote commands of the trivial workload, one per
// check, as the bare loops and Ansible run them.
func TrivialCommands() []string {
	out := make([]string, len(trivialPaths))
	for i, p := range trivialPaths {
		out[i] = "test -e " + p
	}
	return out
}

// TrivialPlaybook is the onboard playbook of the trivial workload for
// workstation ws (hire number i): 10 checks and nothing else.
func TrivialPlaybook(i int, ws string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "person:\n  employee_id: T%d\n  given_name: Bench\n  surname: Trivial%d\n  start_date: 2026-12-01\n", i, i)
	fmt.Fprintf(&b, "machine:\n  host: %s\nchecks:\n", ws)
	for k, p := range trivialPaths {
		if k < len(trivialPaths)/2 {
			fmt.Fprintf(&b, "  - name: check-%d\n    file: {path: %s}\n", k+1, p)
		} else {
			fmt.Fprintf(&b, "  - name: check-%d\n    command: {run: test -e %s}\n", k+1, p)
		}
	}
	return b.String()
}

// TrivialAnsible is the Ansible playbook of the trivial workload.
func TrivialAnsible() string {
	var b strings.Builder
	b.WriteString("- hosts: bench\n  gather_facts: false\n  tasks:\n")
	for k, c := range TrivialCommands() {
		fmt.Fprintf(&b, "    - name: check-%d\n      command: %s\n      changed_when: false\n", k+1, c)
	}
	return b.String()
}

// Provisioning workload: what each tool installs and checks.
const (
	provPrinter   = "Office-2F"      // a lab printer (lab.Config default)
	provPrinterID = "office-2f"      // its inventory name
	provFile      = "/etc/motd"      // the file written
	provContent   = "Welcome Bench"  // its content (plus a newline)
	provGuard     = "/srv/workspace" // the guarded command's product
)

// provPackages are 4 catalogue names (inventory/software.yaml) and the
// Debian packages and versions they pin.
var provPackages = []struct{ Software, Package, Version string }{
	{"vpn-client", "acme-vpn", "2.4.1"},
	{"chat", "acme-chat", "3.1.0"},
	{"crm", "acme-crm", "5.2.0"},
	{"office", "acme-office", "7.3.0"},
}

// ProvisionPlaybook is the onboard playbook of the provisioning workload
// for workstation ws (hire number i): 4 packages, a printer, a file, a
// guarded command and 2 checks.
func ProvisionPlaybook(i int, ws string) string {
	var sw []string
	for _, p := range provPackages {
		sw = append(sw, p.Software)
	}
	return fmt.Sprintf(`person:
  employee_id: P%[1]d
  given_name: Bench
  surname: Provision%[1]d
  start_date: 2026-12-01
machine:
  host: %[2]s
  software: [%[3]s]
  printers: [%[4]s]
  files:
    - path: %[5]s
      content: "%[6]s\n"
  commands:
    - name: workspace
      run: mkdir -p %[7]s
      creates: %[7]s
      privileged: true
checks:
  - name: chat
    package: {name: acme-chat, version: "3.1.0"}
  - name: motd
    file: {path: %[5]s, contains: [Welcome]}
`, i, ws, strings.Join(sw, ", "), provPrinterID, provFile, provContent, provGuard)
}

// ProvisionAnsible is the equivalent Ansible playbook: the same packages
// and versions in one apt task (as an Ansible user writes it), the printer
// by lpadmin unless present, the file, the guarded command and the checks.
func ProvisionAnsible(printerURI string) string {
	var pkgs []string
	for _, p := range provPackages {
		pkgs = append(pkgs, p.Package+"="+p.Version)
	}
	return fmt.Sprintf(`- hosts: bench
  gather_facts: false
  become: true
  tasks:
    - name: software
      apt:
        name: [%[1]s]
        update_cache: true
    - name: printer
      shell: lpstat -v %[2]s >/dev/null 2>&1 && echo present || lpadmin -p %[2]s -v %[3]s -E -m everywhere
      register: printer
      changed_when: "'present' not in printer.stdout"
    - name: motd
      copy:
        dest: %[4]s
        content: "%[5]s\n"
        mode: "0644"
    - name: workspace
      command: mkdir -p %[6]s
      args:
        creates: %[6]s
    - name: check chat
      command: dpkg-query -W -f=${Version} acme-chat
      register: chat
      changed_when: false
      failed_when: chat.stdout != "3.1.0"
    - name: check motd
      command: grep -q Welcome %[4]s
      changed_when: false
`, strings.Join(pkgs, ", "), provPrinter, printerURI, provFile, provContent, provGuard)
}

// PhysicalLimitScript is what the physical limit runs on each host, as root
// in one shell: the commands the provisioning needs at minimum, with one
// apt transaction.
func PhysicalLimitScript(printerURI string) string {
	var pkgs []string
	for _, p := range provPackages {
		pkgs = append(pkgs, p.Package+"="+p.Version)
	}
	return fmt.Sprintf(`set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q %[1]s
lpadmin -p %[2]s -v %[3]s -E -m everywhere
printf '%%s\n' '%[4]s' > %[5]s
test -e %[6]s || mkdir -p %[6]s
test "$(dpkg-query -W -f='${Version}' acme-chat)" = 3.1.0
grep -q Welcome %[5]s
`, strings.Join(pkgs, " "), provPrinter, printerURI, provContent, provFile, provGuard)
}

// RerunChecks are the commands a re-run needs at minimum when everything is
// in place: each step's check (4 packages, printer, file, guard) and the 2
// checks, each its own session in the bare loop.
func RerunChecks() []string {
	var out []string
	for _, p := range provPackages {
		out = append(out, "dpkg-query -W -f='${Status} ${Version}' "+p.Package)
	}
	return append(out,
		"lpstat -v "+provPrinter,
		"cat "+provFile,
		"test -e "+provGuard,
		"dpkg-query -W -f='${Version}' acme-chat",
		"grep -q Welcome "+provFile,
	)
}

// ResetScript undoes the provisioning on a host (run as root through
// lab.Exec) so that the next first run starts from scratch.
func ResetScript() string {
	var pkgs []string
	for _, p := range provPackages {
		pkgs = append(pkgs, p.Package)
	}
	return fmt.Sprintf(`DEBIAN_FRONTEND=noninteractive dpkg --purge %s >/dev/null
lpadmin -x %s 2>/dev/null
rm -rf %s %s
true`, strings.Join(pkgs, " "), provPrinter, provFile, provGuard)
}

// AnsibleInventory is an INI inventory of the hosts (name and address),
// logging in as the lab's user with its key and known_hosts.
func AnsibleInventory(hosts [][2]string, user, keyFile string) string {
	var b strings.Builder
	b.WriteString("[bench]\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "%s ansible_host=%s\n", h[0], h[1])
	}
	fmt.Fprintf(&b, "\n[bench:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n", user, keyFile)
	return b.String()
}

// AnsibleConfig is the ansible.cfg of a run: forks=N, pipelining and
// ControlPersist, the lab's known_hosts, sockets under controlDir.
func AnsibleConfig(forks int, knownHosts, controlDir string) string {
	return fmt.Sprintf(`[defaults]
forks = %d
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
stdout_callback = default

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes
control_path_dir = %s
`, forks, knownHosts, controlDir)
}
