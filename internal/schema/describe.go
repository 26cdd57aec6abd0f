package schema

// Descriptions and the rules onboard checks after decoding, by field
// ("pkg.Type.field", Type being the struct that declares the field) or by
// struct ("pkg.Type"). The tests fail when a field has no description or
// when an entry here names no field.

// Values of enumerated fields, as the inventory's checks know them.
var (
	osNames        = []string{"linux", "macos", "windows"}
	transportNames = []string{"ssh", "winrm"}
	authNames      = []string{"key", "password", "agent", "basic", "ntlm", "certificate", "kerberos"}
	becomeNames    = []string{"sudo", "none"}
	managerNames   = []string{"apt", "brew", "command", "msi", "winget", "choco"}
)

// Patterns (RE2 and ECMA-262 alike).
const (
	// time.ParseDuration, positive: at least one non-zero number.
	durationNumber  = `([0-9]+(\.[0-9]*)?|\.[0-9]+)`
	durationNonZero = `(0*[1-9][0-9]*(\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*)`
	durationUnit    = `(ns|us|µs|μs|ms|s|m|h)`
	durationPattern = `^\+?(` + durationNumber + durationUnit + `)*` + durationNonZero + durationUnit + `(` + durationNumber + durationUnit + `)*$`

	refPattern      = `^(env|file|cmd):\s*\S` // secret.Ref.Validate
	datePattern     = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	modePattern     = `^0?[0-7]{3,4}$`
	employeePattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`
	namePattern     = `^[A-Za-z0-9][A-Za-z0-9._-]*$`
	printerURI      = `^(ipp|ipps|lpd|socket)://`
)

func enum(values []string) sch { return sch{"type": "string", "enum": values} }

func pattern(p, msg string) sch {
	return sch{"type": "string", "pattern": p, "patternErrorMessage": msg}
}

var playbookCredRule = pattern(namePattern, "must name a credential of the inventory's playbooks.credentials (a playbook never gives env:, file: or cmd: references)")

var refRule = pattern(refPattern, "must be a reference to a secret, env:NAME, file:PATH or cmd:COMMAND, never the secret itself")

// octal modes: quoted "0644", or unquoted 0644, which onboard reads as the
// text it is written as (editors read it as the number 644).
var modeRule = sch{"type": []string{"string", "integer"}, "pattern": modePattern, "minimum": 0, "maximum": 7777,
	"patternErrorMessage": `must be an octal mode such as "0644"`}

// fieldRules replace or add keywords of a field's schema.
var fieldRules = func() map[string]sch {
	r := map[string]sch{
		"playbook.Person.employee_id": {"type": []string{"string", "integer"}, "minimum": 0, "pattern": employeePattern,
			"patternErrorMessage": "must be letters, digits, '.', '_' or '-' (at most 64), starting with a letter or digit"},
		"playbook.Person.start_date": pattern(datePattern, "must be a date written YYYY-MM-DD"),
		"playbook.Person.email":      {"format": "email"},
		"playbook.Playbook.profile":  pattern(namePattern, "must be a profile name: letters, digits, '.', '_' or '-'"),
		"playbook.Machine.host":      pattern(namePattern, "must be a host name: letters, digits, '.', '_' or '-'"),
		"playbook.Password.deliver":  pattern(`^(terminal|file:.+)$`, "must be file:PATH or terminal"),
		"playbook.DomainJoin.stale":  enum([]string{"reuse", "fail"}),
		"playbook.DomainJoin.logins": enum([]string{"sssd"}),
		"playbook.Password.adopted":  enum([]string{"reset", "keep"}),
		"playbook.File.path":         pattern(`^(/|[A-Za-z]:\\|\\\\|\$\{)`, "must be an absolute path, C:\\... or \\\\server\\... on Windows (or start with a ${...} template)"),
		"playbook.File.mode":         modeRule,
		"playbook.FileCheck.mode":    modeRule,
		"playbook.TCPCheck.port":     {"minimum": 1, "maximum": 65535},
		"playbook.HTTPCheck.url":     pattern(`^(https?://[^\s/]|\$\{)`, "must be an http:// or https:// URL (or start with a ${...} template)"),
		"playbook.HTTPCheck.status":  {"minimum": 100, "maximum": 599},
		"playbook.PackageCheck.version": pattern(`^([^<>=\s]|(>=|<=|>>|<<|>|<|=)\s*\S+$)`,
			`must be a version ("3.1.0") or a comparison such as ">= 3.1"`),
		"inventory.File.hosts": {"propertyNames": pattern(namePattern,
			"host names are letters, digits, '.', '_' or '-'")},
		"inventory.HR.holidays":                {"items": pattern(datePattern, "must be a date written YYYY-MM-DD")},
		"inventory.HRWhen.at":                  pattern(`^([01][0-9]|2[0-3]):[0-5][0-9]$`, "must be a time of day written HH:MM, 00:00 to 23:59"),
		"inventory.HRWhen.working_days_before": {"minimum": 0, "maximum": 260},
		"inventory.HRRule.name":                pattern(namePattern, "rule names are letters, digits, '.', '_' or '-'"),
		"inventory.HRRule.profile":             pattern(namePattern, "must be a profile name: letters, digits, '.', '_' or '-'"),
		"inventory.HRMachine.host":             pattern(namePattern, "must be a host name: letters, digits, '.', '_' or '-'"),
		"inventory.HRPassword.deliver":         pattern(`^file:(/|[A-Za-z]:\\|\$\{)`, "must be file:PATH with an absolute path"),
		"inventory.Printer.uri":                pattern(printerURI, "must be an ipp://, ipps://, lpd:// or socket:// URI"),
		"inventory.Printer.queue":              pattern(namePattern, "CUPS queue names are letters, digits, '.', '_' or '-'"),
		"inventory.Directory.kind":             enum([]string{"active-directory", "openldap"}),
		"inventory.Directory.bind_password":    refRule,
		"inventory.Join.password":              refRule,
		"inventory.Install.manager":            enum(managerNames),
		"inventory.Playbooks.credentials": {"propertyNames": pattern(namePattern,
			"credential names are letters, digits, '.', '_' or '-'"), "additionalProperties": refRule},
	}
	// As playbook.WindowsSecurityItems.
	r["playbook.WindowsSecurityCheck.item"] = enum([]string{"bitlocker", "defender", "firewall", "pending-reboot"})
	// Connection settings, in the inventory and inline in a playbook.
	for _, owner := range []string{"inventory.HostFields", "playbook.Machine"} {
		r[owner+".os"] = enum(osNames)
		r[owner+".transport"] = enum(transportNames)
		r[owner+".auth"] = enum(authNames)
		r[owner+".become"] = enum(becomeNames)
		r[owner+".package_manager"] = enum(managerNames)
		r[owner+".credential"] = refRule
		r[owner+".become_password"] = refRule
		r[owner+".port"] = sch{"minimum": 0, "maximum": 65535}
		if owner == "playbook.Machine" {
			// Playbooks may come from other systems: they name credentials
			// the inventory gives them, never a reference of their own.
			r[owner+".credential"] = playbookCredRule
			r[owner+".become_password"] = playbookCredRule
		}
	}
	return r
}()

func required(names ...string) sch { return sch{"required": names} }

// typeRules add keywords to a struct's schema: the checks between fields.
var typeRules = map[string]sch{
	// Idempotence: a re-run must not run the command again.
	"playbook.Command": {"anyOf": []sch{required("creates"), required("unless")}},
	"playbook.File":    {"not": required("content", "source")},
	"playbook.Check": {"oneOf": []sch{
		required("command"), required("file"), required("package"), required("printer"),
		required("dns"), required("tcp"), required("http"), required("service"), required("user"), required("group"), required("login"),
		required("windows_security"),
	}},
	"inventory.Software":  {"anyOf": []sch{required("linux"), required("macos"), required("windows")}},
	"inventory.HRMachine": {"oneOf": []sch{required("host"), required("pool"), required("from_event")}},
	"inventory.Install": {
		"if":   sch{"properties": props1("manager", sch{"const": "command"}), "required": []string{"manager"}},
		"then": required("install", "is_installed"),
		"else": sch{
			"if":   sch{"properties": props1("manager", sch{"const": "msi"}), "required": []string{"manager"}},
			"then": required("source", "product_code"),
			"else": required("package"),
		},
	},
}

func props1(name string, s sch) *props {
	p := &props{}
	p.add(name, s)
	return p
}

// templateNote ends the description of templated fields.
const templateNote = " Templated: ${person.name}, ${account.username}, ${vars.NAME}..., with filters such as ${person.surname|lower|ascii}; $${ writes ${."

// codeNote is for fields that are code: values travel as data.
const codeNote = templateNote + " A template's value is passed as data, never pasted into the command: write templates outside quotes or inside double quotes, never inside single quotes (see docs/playbook.md)."

var descriptions = map[string]string{
	// Playbook
	"playbook.Playbook.person":     "Who is being onboarded.",
	"playbook.Playbook.profile":    "Role profile to start from, by name (engineering finds profiles/engineering.yaml next to the playbook or in playbooks/profiles): its groups, software, printers, checks and manual steps are merged in.",
	"playbook.Playbook.vars":       "Your own values for templates, NAME: value; use them as ${vars.NAME}.",
	"playbook.Playbook.account":    "The hire's user account: username, groups and directory attributes.",
	"playbook.Playbook.machine":    "The hire's workstation (an inventory host, or one described here) and what to install and write on it.",
	"playbook.Playbook.checks":     "Checks run on the machine after every other step and again at handover; they come after the profile's checks. A check never changes anything.",
	"playbook.Playbook.check_sets": "Check sets run at handover besides the checks: NAME or NAME@VERSION (baseline, baseline@1); the shipped baseline and the inventory's check_sets (docs/checks.md).",
	"playbook.Playbook.waivers":    "Checks that may fail for this hire without blocking the handover, each with a reason and an expiry date; the reports still show what the check found.",
	"playbook.Waiver.check":        "The name of a check of this hire (its own, its profile's or a check set's).",
	"playbook.Waiver.reason":       "Why the check is waived; shown in every report.",
	"playbook.Waiver.expires":      "The last day the waiver holds, YYYY-MM-DD (UTC); from the day after, the check counts again and the report says the waiver expired.",
	"playbook.Playbook.handover":   "What the handover report says and where it is written.",
	"playbook.Playbook.prune":      "When the hire moves (an edited playbook), what the new setup no longer names is removed only if the journal shows onboard put it there; prune extends that, per kind, to what onboard did not put there (by hand, or from before). The plan names the rule behind every removal and every item kept (docs/playbook.md, Movers).",
	"playbook.Prune.groups":        "Also remove the account from groups the new setup does not name that onboard did not add it to: every group of the directory it is a member of when the plan is made.",
	"playbook.Prune.software":      "Also remove the catalogue's software the new setup does not name from the machine, if installed, whoever installed it. Software outside the catalogue is never touched.",
	"playbook.Prune.printers":      "Also remove the catalogue's printers the new setup does not name from the machine, if mapped, whoever mapped them. Queues outside the catalogue are never touched.",

	"playbook.Person.employee_id":    "Unique employee id (letters, digits, '.', '_', '-'): it names the plan's steps, and only one playbook may use it.",
	"playbook.Person.given_name":     "Given (first) name, on one line.",
	"playbook.Person.surname":        "Surname (family name), on one line.",
	"playbook.Person.preferred_name": "The name the person goes by, when not the given name; ${person.name} is the preferred (or given) name and surname.",
	"playbook.Person.title":          "Job title, for the handover report.",
	"playbook.Person.department":     "Department, for the handover report.",
	"playbook.Person.manager":        "The hire's manager (a name or username), for the handover report.",
	"playbook.Person.start_date":     "First working day, written YYYY-MM-DD.",
	"playbook.Person.email":          "Work email address, a bare address such as ada.lovelace@example.com.",

	"playbook.Account.directory":            "The inventory directory (Active Directory or OpenLDAP) the account is made in. With a directory, a derived username follows the directory's naming policy and collision rule (a digit is appended when the name is taken by someone else).",
	"playbook.Account.must_change_password": "The hire must change the initial password at first logon (default true).",
	"playbook.Account.adopt":                "Take over an existing account with this username (bring its attributes, groups and state to this playbook) instead of stopping with an error. A disabled one gets a new password, delivered, unless password.adopted: keep.",
	"playbook.Account.password":             "How the generated initial password is delivered. It is never written to a log, the plan or a report.",
	"playbook.Password.deliver":             "file:PATH (written with mode 0600, relative to the playbook, in a folder --allow-write or the inventory's playbooks.write allows; never replacing a file) or terminal (printed once to the technician's terminal).",
	"playbook.Password.length":              "Length of the generated password (12 to 128; at least the directory's minimum; default 16).",
	"playbook.Password.adopted":             "With adopt: true, what a disabled adopted account gets when it is enabled: reset (default: a new password, delivered) or keep (its old password, by explicit choice).",
	"playbook.Machine.local_groups":         "Windows: local groups of the machine (Administrators, Remote Desktop Users) the hire's domain account joins.",
	"playbook.Machine.domain_join":          "Join the machine to an Active Directory domain (Linux: adcli over SSH), verified with adcli testjoin and the computer object in the directory.",
	"playbook.DomainJoin.directory":         "The Active Directory to join; default: account.directory.",
	"playbook.DomainJoin.ou":                "Distinguished name of the OU the computer account goes into; default: the profile's join_ou, else the domain's default.",
	"playbook.DomainJoin.logins":            "sssd: after the join, configure SSSD (sssd.conf, nsswitch, PAM) so that domain users, the hire among them, resolve and sign in on the machine (Linux).",
	"playbook.DomainJoin.stale":             "What to do when a computer account of this name exists but the machine is not joined: reuse it, or fail (default).",
	"playbook.DomainJoin.prestage":          "Create (pre-stage) the computer account in the OU before the join.",
	"playbook.DomainJoin.name":              "Computer account name (at most 15 characters); default: the machine's host name.",
	"playbook.Account.username":             "Login name: lowercase letters, digits, '.', '_', '-', at most 32. Default: first initial and surname, lowercased, folded to ASCII, at most 20 (José Łukasiewicz: jlukasiewicz). Templated with ${person.*}, ${machine.host} and ${vars.*}: ${person.given_name|first|lower}${person.surname|lower|ascii}.",
	"playbook.Account.groups":               "Groups the account joins: a list (added to the profile's groups), or {add: [...], omit: [...]} to also drop some of the profile's.",
	"playbook.Account.attributes":           "Extra directory attributes of the account, NAME: value; each value is a template. Only informational attributes (telephoneNumber, physicalDeliveryOfficeName, ...) or those the inventory allows (allow_attributes on the directory).",

	"playbook.Machine.host":            "The machine's name: an inventory host, or with address, the name of a machine described here.",
	"playbook.Machine.address":         "IP address or DNS name of a machine described here rather than in the inventory (a laptop fresh out of its box); it makes the machine inline, and needs os. Only addresses the inventory's playbooks.inline_machines allow.",
	"playbook.Machine.port":            "Inline machine: port to connect to (default 22 over ssh).",
	"playbook.Machine.os":              "Inline machine: its operating system.",
	"playbook.Machine.transport":       "Inline machine: how onboard connects (default ssh; winrm on windows).",
	"playbook.Machine.user":            "Inline machine: the user to log in as (default root over ssh).",
	"playbook.Machine.credential":      "Inline machine: the name of a credential the inventory's playbooks.credentials defines and its playbooks.inline_machines rule allows for this address (the SSH key, or the password with auth: password). Never a reference or the secret itself.",
	"playbook.Machine.auth":            "Inline machine: what the credential is, key (a private key file) or password; agent uses the SSH agent (the default without a credential).",
	"playbook.Machine.known_hosts":     "Refused: a playbook cannot name known_hosts files (onboard records keys there); the inventory's playbooks.inline_machines rule gives them.",
	"playbook.Machine.host_key":        "Inline machine: its SSH host keys, as known_hosts lines or bare public keys (ssh-ed25519 AAAA...); only where the inventory's rule sets playbook_host_keys.",
	"playbook.Machine.become":          "Inline machine: how privileged steps gain root when user is not root, sudo (default, except on windows) or none.",
	"playbook.Machine.become_password": "Inline machine: the name of a credential of the inventory's playbooks.credentials holding the sudo password (allowed by its rule); without it, sudo -n (passwordless sudo).",
	"playbook.Machine.package_manager": "Inline machine: how software is installed (default apt on linux, brew on macos).",
	"playbook.Machine.software":        "Software to install, by software catalogue name: a list (added to the profile's), or {add: [...], omit: [...]}.",
	"playbook.Machine.printers":        "Printers to map, by printer catalogue name: a list (added to the profile's), or {add: [...], omit: [...]}.",
	"playbook.Machine.default_printer": "Which of the hire's printers becomes the default; replaces the profile's choice.",
	"playbook.Machine.files":           "Files to write on the machine, after the software is installed; parent folders are created and each file is written atomically.",
	"playbook.Machine.commands":        "Commands to run on the machine, in order, after the software and files.",

	"playbook.File.path":    "Absolute path of the file on the machine." + templateNote,
	"playbook.File.content": "The file's content (use | for several lines)." + templateNote,
	"playbook.File.source":  "A local file to copy instead of content, relative to the playbook, inside its folder or one the inventory's playbooks.read names; copied as is, not templated.",
	"playbook.File.owner":   "User who owns the file, e.g. ${account.username}." + templateNote,
	"playbook.File.group":   "Group that owns the file.",
	"playbook.File.mode":    `Permissions in octal, quoted: "0644", "0600".`,

	"playbook.File.sensitive": "The content is never shown: --diff prints (sensitive content redacted) instead, and does not read the file on the machine. The mode defaults to 0600, and a mode that lets others read it is refused.",

	"playbook.File.timeout": "Time limit for one attempt (check, write and verify; default 1m), e.g. 30s.",

	"playbook.Command.name":       "Short name of the command, unique in the playbook; it names the step.",
	"playbook.Command.run":        "The shell command to run (PowerShell on Windows)." + codeNote,
	"playbook.Command.creates":    "A path the command creates; when it exists the command is not run again.",
	"playbook.Command.unless":     "A shell command that exits 0 when the work is already done; then run is not run (on Windows, a PowerShell expression that is $true)." + codeNote,
	"playbook.Command.privileged": "Run as root, through the machine's become method.",
	"playbook.Command.timeout":    "Time limit for one attempt (check, run and verify; default 5m), e.g. 90s or 1h.",

	"playbook.Check.name":    "Short name of the check, unique across the playbook and its profile.",
	"playbook.Check.command": "Passes when a command exits as expected and prints what is expected.",
	"playbook.Check.file":    "Passes when a file exists (or not) with the given mode, owner and content.",
	"playbook.Check.package": "Passes when an OS package is installed (or not), at a given version.",
	"playbook.Check.printer": "Passes when a CUPS printer queue exists (or not), and is the default.",
	"playbook.Check.timeout": "Time limit for one attempt of the check, retries included (default 1m, or retry.timeout plus 1m).",
	"playbook.Check.dns":     "Passes when a name resolves on the machine (its /etc/hosts and DNS), to the listed addresses if any. Records the addresses found.",
	"playbook.Check.tcp":     "Passes when a TCP port answers a connection made from the machine (or, with reachable: false, does not). Records what the machine saw.",
	"playbook.Check.http":    "Passes when a URL fetched from the machine (with curl) answers the expected status. Records the status and, for https, the certificate's subject, issuer and expiry.",
	"playbook.Check.service": "Passes when a service is running and/or enabled (systemd, or the SysV init script where systemd does not run). Records what the service manager said.",
	"playbook.Check.user":    "Passes when a user exists on the machine (getent: local or domain), in the listed groups. Records the entry found.",
	"playbook.Check.group":   "Passes when a group exists on the machine (getent). Records the entry found.",
	"playbook.Check.login":   "Passes when the hire can sign in: a bind as the hire with this run's initial password, and on the machine the hire resolves (getent) and su runs id as the hire. Records the uid, groups and which part passed.",
	"playbook.Check.retry":   "Try again until the check passes or the time is up, for services that take a moment to start; the report says how many tries it took.",

	"playbook.Check.windows_security":    "Windows hosts: passes when one item of the machine's security baseline holds (BitLocker, Defender, firewall profiles, pending reboot). Records what Windows reported.",
	"playbook.WindowsSecurityCheck.item": "bitlocker: protection on for the system drive C:; defender: real-time protection and the antivirus on; firewall: every firewall profile enabled; pending-reboot: no reboot pending.",

	"playbook.DNSCheck.name":      "Host name to resolve on the machine." + templateNote,
	"playbook.DNSCheck.resolves":  "Whether the name must resolve (default true); false checks it does not.",
	"playbook.DNSCheck.addresses": "IPv4 or IPv6 addresses that must each be among those the name resolves to.",
	"playbook.DNSCheck.timeout":   "Time limit for the lookup (default 5s).",

	"playbook.TCPCheck.host":      "Host name or address to connect to from the machine." + templateNote,
	"playbook.TCPCheck.port":      "TCP port, 1 to 65535.",
	"playbook.TCPCheck.reachable": "Whether the port must accept a connection (default true); false checks it is closed or filtered.",
	"playbook.TCPCheck.timeout":   "Time limit for the connection (default 5s).",

	"playbook.HTTPCheck.url":      "http:// or https:// URL to fetch from the machine." + templateNote,
	"playbook.HTTPCheck.status":   "HTTP status expected (default 200); redirects are not followed.",
	"playbook.HTTPCheck.contains": "Text the response body must contain: a substring, or a /regular expression/ between slashes.",
	"playbook.HTTPCheck.insecure": "Accept a certificate the machine does not trust (its subject and expiry are still recorded).",
	"playbook.HTTPCheck.timeout":  "Time limit for the whole request (default 10s).",

	"playbook.ServiceCheck.name":    "Service name: the systemd unit (ssh, cups) or the script in /etc/init.d.",
	"playbook.ServiceCheck.running": "Whether the service must be running (true) or stopped (false); default true when enabled is not given.",
	"playbook.ServiceCheck.enabled": "Whether the service must start at boot (true) or not (false).",

	"playbook.UserCheck.name":   "User name, as getent passwd knows it." + templateNote,
	"playbook.UserCheck.exists": "Whether the user must exist (default true); false checks there is none.",
	"playbook.UserCheck.groups": "Groups the user must belong to (id -Gn); each is a template.",

	"playbook.GroupCheck.name":   "Group name, as getent group knows it." + templateNote,
	"playbook.GroupCheck.exists": "Whether the group must exist (default true); false checks there is none.",

	"playbook.LoginCheck.user":        "Account to sign in as; default the hire's directory username." + templateNote,
	"playbook.LoginCheck.bind":        "Bind to the directory as the hire with the initial password set in this run (default true); in a later audit the password is gone, so this part cannot tell.",
	"playbook.LoginCheck.workstation": "On the machine, resolve the hire through the domain (getent passwd) and run id as the hire with su as root (default true).",

	"playbook.Retry.timeout":  "How long to keep trying, from the first try, e.g. 30s.",
	"playbook.Retry.interval": "Pause between tries (default 1s); shorter than timeout.",

	"playbook.CommandCheck.run":                 "The shell command to run." + codeNote,
	"playbook.CommandCheck.exit_status":         "The exit status expected (default 0).",
	"playbook.CommandCheck.stdout":              "Each entry must be found in the output: a substring, or a /regular expression/ between slashes.",
	"playbook.CommandCheck.privileged":          "Run as root.",
	"playbook.CommandCheck.cannot_tell_exit":    "The exit status by which the command says the host cannot tell (the check fails with class cannot-run, never passes); its output is the evidence.",
	"playbook.CommandCheck.not_applicable_exit": "The exit status by which the command says the check does not apply to this host (it passes, saying not applicable and why).",

	"playbook.FileCheck.path":     "Path to check on the machine." + templateNote,
	"playbook.FileCheck.exists":   "Whether the path must exist (default true); false checks it is absent.",
	"playbook.FileCheck.mode":     `Permissions expected, in octal, quoted: "0600".`,
	"playbook.FileCheck.owner":    "User expected to own the file.",
	"playbook.FileCheck.contains": "Text the file must contain; each entry is a template.",

	"playbook.PackageCheck.name":      "OS package name (a Debian package with apt).",
	"playbook.PackageCheck.installed": "Whether the package must be installed (default true); false checks it is absent.",
	"playbook.PackageCheck.version":   `Version that must be installed: exact ("3.1.0", the Debian version with apt) or a comparison (">= 3.1"; >=, <=, >>, <<, >, <, =), compared by dpkg --compare-versions on the machine.`,

	"playbook.PrinterCheck.name":    "CUPS queue name.",
	"playbook.PrinterCheck.exists":  "Whether the queue must exist (default true); false checks it is absent.",
	"playbook.PrinterCheck.default": "The queue must also be the default printer.",

	"playbook.Handover.contact": "Who the hire asks for help, shown in the handover report.",
	"playbook.Handover.notes":   "Free text for the handover report." + templateNote,
	"playbook.Handover.reports": "Files to write the handover report to, relative to the playbook, in folders --allow-write or the inventory's playbooks.write allow; the extension picks the format: .html (one self-contained file), .md, .xml (JUnit) or .json.",
	"playbook.Handover.manual":  "Tasks left to do by hand, listed in the report after the profile's.",
	"playbook.Handover.welcome": "A welcome sheet for the hire, written only when the run makes the hire ready for handover: name, username, email, machine, printers, software with the versions the handover check found, where to get help (the inventory's helpdesk), first-login instructions (docs/welcome-sheet.md).",

	"playbook.Welcome.sheets":      "Files to write the welcome sheet to, as handover.reports (relative to the playbook, in a folder playbooks may write to): .md or .html (printable on A4, self-contained).",
	"playbook.Welcome.password":    "sheet: print the initial password on the sheet, read from the password file account.password.deliver names (which must be file:PATH); the sheet is then written 0600 and never replaces another file. Left out (the default), the sheet only says how the password reaches the hire.",
	"playbook.Welcome.first_login": "First-login instructions on the sheet, one per line; default: the profile's first_login, else a text for the machine's OS.",

	"playbook.List.add":  "Names added to those the role profile gives.",
	"playbook.List.omit": "Names the role profile gives that this hire does not get.",

	// Profile
	"playbook.Profile.description":     "What the role is, for people reading the profile.",
	"playbook.Profile.groups":          "Groups every hire of this role joins.",
	"playbook.Profile.software":        "Software every hire of this role gets, by software catalogue name.",
	"playbook.Profile.printers":        "Printers every hire of this role gets, by printer catalogue name.",
	"playbook.Profile.default_printer": "Which of the printers becomes the default; a playbook may choose another.",
	"playbook.Profile.checks":          "Checks run for every hire of this role, before the playbook's own.",
	"playbook.Profile.check_sets":      "Check sets run for every hire of this role: NAME or NAME@VERSION.",
	"playbook.Profile.manual":          "Tasks left to do by hand for every hire of this role, listed in the handover report.",
	"playbook.Profile.first_login":     "First-login instructions for this role's welcome sheets, one per line (a playbook's handover.welcome.first_login wins).",
	"playbook.Profile.join_ou":         "Distinguished name of the OU that machines of this role join into (a playbook's machine.domain_join.ou wins).",

	// Inventory
	"inventory.File.groups":                     "Host groups by name: connection defaults for their member hosts. The group all applies to every host.",
	"inventory.File.hosts":                      "Machines by host name (letters, digits, '.', '_', '-'); playbooks name them in machine.host.",
	"inventory.File.printers":                   "The printer catalogue: the printers playbooks and profiles name, by name.",
	"inventory.File.software":                   "The software catalogue: how to install each name playbooks and profiles use, per OS.",
	"inventory.File.playbooks":                  "What playbooks may reach on this machine (they may be written elsewhere, or generated from HR data): inline machines, the credentials they may use, and the local folders playbooks read and write. Sections of several files add up.",
	"inventory.Playbooks.inline_machines":       "Rules allowing machines described in a playbook (machine.address). Without one, inline machines are refused.",
	"inventory.Playbooks.credentials":           "Credentials by name, each a reference (env:NAME, file:PATH relative to this file, cmd:COMMAND), that inline machines may use by name where a rule lists them.",
	"inventory.Playbooks.read":                  "Folders (relative to this file) that files[].source may read, besides the playbook's own folder; never a folder playbooks may write to.",
	"inventory.Playbooks.write":                 "Folders (relative to this file) that handover.reports and account.password.deliver files may be written in; default none (see also --allow-write). A password file is never replaced.",
	"inventory.Playbooks.profiles":              "Folders of role profiles (relative to this file), searched after --profiles and the playbook's own profiles/ folder.",
	"inventory.InlineRule.addresses":            "Addresses inline machines may have: IP addresses, CIDR ranges (10.20.0.0/16), host names, or *.domain for every name in it. A name never matches a range.",
	"inventory.InlineRule.credentials":          "Names from playbooks.credentials these machines may use as machine.credential or machine.become_password. The group all's credentials never apply to inline machines.",
	"inventory.InlineRule.known_hosts":          "known_hosts files (relative to this file) these machines' SSH host keys are checked against (and recorded in with --accept-new-host-key); a playbook cannot name one.",
	"inventory.InlineRule.playbook_host_keys":   "Let playbooks pin the machine's host_key themselves (default false: only known_hosts from the inventory).",
	"inventory.HostFields.https":                "WinRM: HTTPS on 5986 (default true); false means HTTP on 5985, only where the network is trusted.",
	"inventory.HostFields.ca_cert":              "WinRM: PEM file of the CA that signed the host's HTTPS certificate; default: the system's CAs.",
	"inventory.HostFields.insecure_skip_verify": "WinRM: do NOT verify the host's HTTPS certificate. Anyone on the path can then impersonate the host; for a lab only.",
	"inventory.HostFields.client_cert":          "WinRM with auth: certificate: the client certificate (PEM).",
	"inventory.HostFields.realm":                "WinRM with auth: kerberos: the Kerberos realm (CORP.EXAMPLE.TEST).",
	"inventory.HostFields.kdc":                  "WinRM with auth: kerberos: the KDC's address (port 88 unless given).",
	"inventory.HostFields.keytab":               "WinRM with auth: kerberos: a keytab file for the user (the principal); else the ticket cache or the credential's password.",
	"inventory.HostFields.ccache":               "WinRM with auth: kerberos: a ticket cache file; default $KRB5CCNAME.",
	"inventory.HostFields.service_host":         "WinRM with auth: kerberos: the host name in the service principal HTTP/<name>; default: the address.",
	"inventory.HostFields.reboot_timeout":       "Windows: how long the host may take to come back from a reboot before the run gives up on it (default 10m).",
	"inventory.HostFields.client_key":           "WinRM with auth: certificate: its private key (PEM).",
	"inventory.Printer.connection":              "Windows: the shared printer, \\\\server\\share, connected for every user of the machine.",
	"inventory.Printer.driver":                  "Windows: the driver installed before the connection (e.g. Microsoft IPP Class Driver).",
	"inventory.Install.source":                  "msi: the installer's path or URL, read by the host itself.",
	"inventory.Install.product_code":            "msi: the product code {GUID} Windows records the install under; checked in the registry.",
	"inventory.Install.timeout":                 "How long one install may take before the installer is killed (e.g. 20m); default 10m on Linux, 30m on Windows.",
	"inventory.Install.args":                    "Extra installer arguments (MSI properties such as ALLUSERS=1).",
	"inventory.File.hr":                         "How onboard serve maps a hire HR records (department, title, location, cost centre) to a role profile, a machine, a directory and an OU, and when each phase runs (docs/inventory.md, HR mapping and schedule). Sections of several files add up: holidays and rules (in the order the files are read); a timezone and a schedule may be defined once.",
	"inventory.File.check_sets":                 "The organisation's check sets, by name: each a version, checks, and optionally extends: SET@VERSION to build on another set (docs/checks.md).",
	"checkset.Def.description":                  "What the set is for.",
	"checkset.Def.version":                      "The set's version, a whole number from 1; a set that extends it pins it (NAME@VERSION).",
	"checkset.Def.extends":                      "The set this one builds on, version pinned (baseline@1): its checks are taken over; a check of the same name replaces the parent's.",
	"checkset.Def.checks":                       "Checks, in the same form as a playbook's; a name the parent has overrides the parent's check.",
	"checkset.Def.remove":                       "Names of the parent's checks this set drops.",
	"inventory.HR.timezone":                     "The IANA time zone schedule times are local to (Europe/Berlin, America/New_York); default UTC.",
	"inventory.HR.holidays":                     "Dates (YYYY-MM-DD) that are not working days, for every year the schedules reach; Saturdays and Sundays never are.",
	"inventory.HR.schedules":                    "When each phase runs, by profile name; default for every other profile. A phase a profile leaves out is the default's; without a default: account 5 working days before the start date at 09:00, machine 1 working day before at 09:00, activation on the start date at 07:30.",
	"inventory.HR.rules":                        "The rules a hire is matched against, in order: the first whose every match key fits applies. A hire no rule matches waits for a technician, with the reason.",
	"inventory.HRSchedule.account":              "When the directory account is made (disabled until activation).",
	"inventory.HRSchedule.machine":              "When the workstation is set up; no earlier than the account.",
	"inventory.HRSchedule.activation":           "When the account is enabled and its password delivered; no earlier than the machine.",
	"inventory.HRWhen.working_days_before":      "Working days before the start date (0: the start date itself, even when it is a weekend or holiday); weekends and hr.holidays are skipped. At most 260.",
	"inventory.HRWhen.at":                       "Local time of day in hr.timezone, HH:MM (09:00). On the day clocks go forward a time that does not exist is the change itself; on the day they go back a time that happens twice is the first.",
	"inventory.HRRule.name":                     "The rule's name, unique; shown with the hire and in the reasons a hire matched nothing.",
	"inventory.HRRule.match":                    "What the hire's fields must be: every key given must match. Without keys the rule matches every hire, which only the last rule may.",
	"inventory.HRMatch.department":              "The hire's department: a value compared ignoring case, or /regexp/ (RE2, matched anywhere unless anchored with ^ and $, ignoring case); a list matches when one value does.",
	"inventory.HRMatch.title":                   "The hire's job title: a value compared ignoring case, or /regexp/ (RE2, matched anywhere unless anchored, ignoring case); a list matches when one value does.",
	"inventory.HRMatch.location":                "The hire's location (office): a value compared ignoring case, or /regexp/ (RE2, matched anywhere unless anchored, ignoring case); a list matches when one value does.",
	"inventory.HRMatch.cost_center":             "The hire's cost centre: a value compared ignoring case, or /regexp/ (RE2, matched anywhere unless anchored, ignoring case); a list matches when one value does.",
	"inventory.HRRule.profile":                  "The role profile the hire's playbook names (found in the profile folders: checked when onboard serve starts).",
	"inventory.HRRule.directory":                "The inventory directory the account is made in.",
	"inventory.HRRule.ou":                       "The OU the machine joins (a DN under the Active Directory's base_dn); default: the profile's join_ou, else the domain's default.",
	"inventory.HRRule.machine":                  "The hire's workstation: exactly one of host, pool or from_event.",
	"inventory.HRMachine.host":                  "A fixed inventory host.",
	"inventory.HRMachine.pool":                  "Inventory hosts, in order: the hire gets the first one no other open hire is assigned.",
	"inventory.HRMachine.from_event":            "The workstation the HR event names (its workstation field), which must be one of these hosts.",
	"inventory.HRFromEvent.allowed":             "The inventory hosts an event may name (compared ignoring case).",
	"inventory.HRRule.groups":                   "Directory groups the account joins, besides the profile's.",
	"inventory.HRRule.password":                 "How the initial password reaches the hire.",
	"inventory.HRPassword.deliver":              "file:PATH, an absolute path (written with mode 0600, never replaced), in a folder playbooks.write allows; templated like a playbook's, e.g. file:/var/lib/onboard/passwords/${person.employee_id}.txt. terminal is refused: onboard serve has no technician's terminal.",
	"inventory.HRRule.handover":                 "The handover of a matching hire.",
	"inventory.HRHandover.contact":              "Who the hire and their manager contact, shown in the report.",
	"inventory.HRHandover.reports":              "Files the handover report is written to (by extension .html, .md, .xml, .json): absolute paths in a folder playbooks.write allows, templated, e.g. /var/lib/onboard/reports/${person.employee_id}.html.",
	"inventory.File.helpdesk":                   "Where new hires get help, printed on their welcome sheets; defined once, in any one file.",
	"inventory.File.knowledge_base":             "A folder of Markdown articles on known failures, relative to the file: each failure of a run is matched against them and the report and notification carry the fix (docs/knowledge-base.md); defined once.",
	"inventory.Helpdesk.name":                   "The helpdesk's name.",
	"inventory.Helpdesk.email":                  "The helpdesk's email address.",
	"inventory.Helpdesk.phone":                  "The helpdesk's phone number.",
	"inventory.Helpdesk.url":                    "The helpdesk's web page (http:// or https://).",
	"inventory.Helpdesk.hours":                  "When the helpdesk answers.",
	"inventory.File.legal_holds":                "Leavers whose directory accounts are never deleted while held, whatever their retention (docs/lifecycle.md); merged from every file, one entry an employee.",
	"inventory.LegalHold.employee_id":           "The employee id of the person held.",
	"inventory.LegalHold.reason":                "Why the account is held (a case or matter); a purge that is refused says it.",
	"inventory.LegalHold.since":                 "The date the hold began, YYYY-MM-DD.",
	"inventory.File.offboarding":                "What onboard offboard does on the leaver's machine beyond ending their access: a home archive and wipe or re-image hooks, each explicit (docs/lifecycle.md); defined once.",
	"inventory.Offboarding.archive_home":        "Archive the leaver's home folder to this .tar.gz on their Linux machine; a template of person.*, account.*, machine.host and offboard.date (the leave date). The home itself is never deleted.",
	"inventory.Offboarding.hooks":               "Wipe or re-image commands run in order on the leaver's machine after their access is gone; templates reach the host as data.",
	"inventory.OffboardHook.name":               "The hook's name, for the step id and the plan.",
	"inventory.OffboardHook.run":                "The command (sh on Linux, PowerShell on Windows); templates become variables, never code.",
	"inventory.OffboardHook.creates":            "A path the command makes: it does not run again once the path exists.",
	"inventory.OffboardHook.unless":             "A command that exits 0 when the hook's work is done: it does not run then.",
	"inventory.OffboardHook.timeout":            "How long one run of the hook may take (default 30m).",
	"inventory.File.directories":                "LDAP directories (Active Directory or OpenLDAP) where accounts are made, by name.",
	"inventory.Directory.kind":                  "active-directory or openldap.",
	"inventory.Directory.urls":                  "Server URLs, ldaps:// (or ldap:// with StartTLS; plain LDAP is refused). Tried in order; the first that answers is used for the whole run.",
	"inventory.Directory.base_dn":               "The directory's base DN (DC=corp,DC=example,DC=test).",
	"inventory.Directory.users_ou":              "The OU or branch new accounts are made in.",
	"inventory.Directory.groups_base":           "Where groups are searched by name; default: base_dn.",
	"inventory.Directory.computers_ou":          "Default OU for pre-staged computer accounts.",
	"inventory.Directory.domain":                "Active Directory: the DNS domain (corp.example.test), for userPrincipalName and domain joins.",
	"inventory.Directory.bind_dn":               "The account onboard binds as to make accounts.",
	"inventory.Directory.bind_password":         "Reference to its password (env:, file:, cmd:).",
	"inventory.Directory.ca_cert":               "PEM file of the CA that signed the servers' certificates; default: the system's CAs.",
	"inventory.Directory.naming":                "How usernames, display names and mail addresses are derived.",
	"inventory.Directory.allow_attributes":      "Extra attributes playbooks may set in this directory (account.attributes) beyond the kind's informational allow-list (docs/directory.md), e.g. [carLicense]. Attributes onboard manages and passwords cannot be allowed.",
	"inventory.Naming.username":                 "Template of a derived username, e.g. ${person.given_name|first|lower}${person.surname|lower|ascii}; transliterated to ASCII (any script), lowercased, only letters, digits, '.', '_', '-' kept, leading digits and '.'/'-' and trailing '.'/'-' dropped, cut to max_length.",
	"inventory.Naming.max_length":               "Longest derived username (default 20; at most 20 for Active Directory's sAMAccountName, 32 for OpenLDAP's POSIX login names).",
	"inventory.Naming.fallback":                 "Template of the username when a person's names give nothing readable (fewer than two characters, no letter), e.g. e${person.employee_id|lower}; repaired to the directory's rules like a derived name. Without it such a hire is an error at validate and plan.",
	"inventory.Naming.display_name":             "Template of the display name; default ${person.name}.",
	"inventory.Naming.email":                    "Template of the mail address when the playbook gives none, e.g. ${account.username}@corp.example.test.",
	"inventory.Directory.posix":                 "POSIX attributes of new accounts: OpenLDAP posixAccount settings; in Active Directory, with enabled: true, RFC 2307 uidNumber, gidNumber, unixHomeDirectory and loginShell, which a Linux join with domain logins then uses (ldap_id_mapping = False).",
	"inventory.Directory.leavers":               "What offboarding does with this directory's accounts: where a leaver's account goes, how long it can be restored, and when a later run may delete it.",
	"inventory.Leavers.ou":                      "The DN (under base_dn) a leaver's account is moved to; empty: it stays where it is.",
	"inventory.Leavers.grace_days":              "onboard restore brings a leaver back up to this many days after the leave; 0: not at all.",
	"inventory.Leavers.retention_days":          "A run at least this many days after the leave deletes the account, unless a legal hold stops it; 0: never deleted. At least grace_days.",
	"inventory.Posix.enabled":                   "Active Directory: give new accounts POSIX attributes (default false: joined Linux machines map IDs from SIDs). OpenLDAP accounts always have them.",
	"inventory.Posix.uid_min":                   "Lowest uidNumber to allocate (default 10000); onboard takes the highest in use plus one.",
	"inventory.Posix.gid_number":                "Primary gidNumber of new accounts (default 10000).",
	"inventory.Posix.home":                      "Template of the home directory; default /home/${account.username}.",
	"inventory.Posix.shell":                     "Login shell (default /bin/bash).",
	"inventory.Directory.join":                  "The account that joins machines to the domain; default: the bind account.",
	"inventory.Join.user":                       "Its sAMAccountName (for adcli --login-user).",
	"inventory.Join.password":                   "Reference to its password; it reaches the machine on stdin only.",

	"inventory.Group.description": "What the group is for.",
	"inventory.Group.defaults":    "Connection settings every member host gets, unless the host (or a later group of the host) sets them.",

	"inventory.Host.groups": "Groups whose defaults the host takes, in order, after those of all; the host's own fields win.",

	"inventory.HostFields.address":         "IP address or DNS name; every host needs one, here or from a group.",
	"inventory.HostFields.port":            "Port to connect to (default 22 over ssh).",
	"inventory.HostFields.os":              "Operating system; every host needs one, here or from a group.",
	"inventory.HostFields.transport":       "How onboard connects (default ssh; winrm on windows).",
	"inventory.HostFields.user":            "The user to log in as (default root over ssh).",
	"inventory.HostFields.credential":      "Reference to the SSH private key (or the password with auth: password): env:NAME, file:PATH (relative to this file) or cmd:COMMAND. Never the secret itself.",
	"inventory.HostFields.auth":            "What the credential is, key (a private key file) or password; agent uses the SSH agent (the default without a credential).",
	"inventory.HostFields.known_hosts":     "known_hosts files holding the host's SSH host key (relative to this file); with --accept-new-host-key, a new key is added to the first.",
	"inventory.HostFields.host_key":        "The host's SSH host keys, as known_hosts lines or bare public keys (ssh-ed25519 AAAA...).",
	"inventory.HostFields.become":          "How privileged steps gain root when user is not root, sudo (default, except on windows) or none.",
	"inventory.HostFields.become_password": "Reference to the sudo password, env:NAME, file:PATH or cmd:COMMAND; without it, sudo -n (passwordless sudo).",
	"inventory.HostFields.package_manager": "How software is installed (default apt on linux, brew on macos).",

	"inventory.Printer.queue":       "CUPS queue name (default: the catalogue name).",
	"inventory.Printer.uri":         "Device URI: ipp://, ipps://, lpd:// or socket://.",
	"inventory.Printer.model":       "CUPS model, lpadmin -m (default everywhere: driverless IPP).",
	"inventory.Printer.location":    "Where the printer is, shown to users.",
	"inventory.Printer.description": "Description shown to users.",

	"inventory.Software.description": "What the software is.",
	"inventory.Software.linux":       "How to install it on Linux.",
	"inventory.Software.macos":       "How to install it on macOS.",
	"inventory.Software.windows":     "How to install it on Windows.",

	"inventory.Install.manager":       "How to install it: apt, brew, or command (your own install and is_installed commands). Default: the host's package manager.",
	"inventory.Install.package":       "Package name for apt or brew (needed unless manager is command).",
	"inventory.Install.version":       "Exact version wanted (with apt, 3.1.0 matches an installed 3.1.0 or 3.1.0-2); leave it out to accept any version.",
	"inventory.Install.install":       "Manager command: the shell command that installs it.",
	"inventory.Install.is_installed":  "Manager command: a shell command that exits 0 when it is installed.",
	"inventory.Install.version_query": "Manager command: a shell command that prints the installed version.",
	"inventory.Install.uninstall":     "Manager command: a shell command that removes it; without one, onboard refuses to plan its removal.",
}
