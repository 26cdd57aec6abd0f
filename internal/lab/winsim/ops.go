package winsim

// ops maps each onboard op to what Windows makes its script answer.
//
//	win-facts          {"computer_name","domain","part_of_domain","secure_channel","join_pending","boot_time","pending_reboot"}:
//	                   Win32_ComputerSystem's Name (NetBIOS, upper case) and Domain ("WORKGROUP" or the
//	                   DNS domain); secure_channel only once a join completed at a reboot (and OnJoin
//	                   succeeded); join_pending between Add-Computer and the reboot (Netlogon\JoinDomain);
//	                   boot_time as ToString('o') in UTC, new at each reboot; pending_reboot while a join
//	                   or an installer's 3010/1641 waits.
//	win-join           reads {"user","password"} from stdin; Add-Computer's errors (unknown domain, wrong
//	                   credentials, already in the domain, bad new name) as CLIXML, exit 1; else records
//	                   the join (and the rename) for the next reboot: {"joined":true,"reboot":true}.
//	win-restart        {"restarting":true}; ShutdownDelay later the host goes down for RebootTime.
//	msi-check          the Uninstall key of the product code: {"installed","version"}.
//	msi-install        msiexec's exit code and the last 20 lines of its verbose log: {"exit_code","log"};
//	                   an unknown product code fails with 1603.
//	winget-check       prints winget's real table (spinner frames first; columns one space apart, padded
//	                   by display width) and parses it the way the script does (header positions above
//	                   the dashed line, the word after the id for a shifted row); exit 0x8A150014 when
//	                   nothing is installed.
//	winget-install     winget's output and exit code ($LASTEXITCODE): 0; an installer's 3010/1641 as
//	                   winget reports them (0x8A150109 / 0x8A15010B); other installer failures
//	                   0x8A150006; no such package 0x8A150014; already installed 0x8A15002B.
//	choco-check        `choco --version`, then `choco list --exact X --limit-output` on Chocolatey 2 or
//	                   with --local-only on 1 (Chocolatey 2 refuses --local-only: exit 1; Chocolatey 1
//	                   without it lists the remote source); name|version lines, parsed as the script does.
//	choco-install      choco's output; its exit code is the installer's (3010, 1641, 1603) or 1.
//	printer-check      {"driver","machine_wide","printer"}: Get-PrinterDriver / Get-Printer -Name take
//	                   wildcards; machine_wide is the ,,server,share key under Print\Connections.
//	printer-add        Add-PrinterDriver (the driver must be offered by Printers[connection] or be in
//	                   DriverStore), printui /ga (exit 1 for a share that is not in Printers), spooler
//	                   restart: {"exit_code"}.
//	localgroup-check   Get-LocalGroupMember names (DOMAIN\name) compared with -eq: {"member"}.
//	localgroup-add     Add-LocalGroupMember: domain principals resolve only once the host is joined.
//	command-check      refuses an unless with an exit statement (or a parse error) first, as the
//	                   script's parser check does; done = Test-Path creates (when given) and then
//	                   [bool] of unless's last output (when given): a bool from Test-Path, a string
//	                   from Write-Output, an item from New-Item; a Windows error in unless is false.
//	command-run        runs the text: {"ok","output"} (Out-String of its output).
//	file-check         Get-FileHash SHA256 of a file: {"exists","sha256"}.
//	file-read          a file's first max+1 bytes, base64: {"state","data"} (state file or absent).
//	win-upload         appends a base64 chunk to the temporary file; the final chunk checks the size
//	                   and moves it over the path; no output.
//	win-upload-abort   removes the temporary file.
//	check-dns          Resolve-DnsName from the hosts table (SetHostsEntry), else Config.DNSServer:
//	                   {"addresses","error_id","error"} (see checks.go for the shapes and their references).
//	check-tcp          a real TCP connection from this machine within timeout_ms: {"result","error"}.
//	check-service      Get-Service from the service table (SetService): {"found","name","display_name",
//	                   "status","start_type"}.
//	check-user         NTAccount.Translate as Add-LocalGroupMember resolves (local, then the domain once
//	                   joined), Get-LocalUser's Enabled, the local groups holding it:
//	                   {"found","account","sid","enabled","groups"}.
//	check-group        Get-LocalGroup, Get-LocalGroupMember names: {"found","sid","members"}.
//	check-http         a real HTTP(S) GET from this machine, no redirects, trust against Config.RootCAs:
//	                   {"status","body","error","error_status","subject","issuer","expires","trust"}.
//	check-login        LogonUser (interactive) as $in.user of $in.domain with the password read from
//	                   stdin: a local account against Config.Users, a domain account (joined, secure
//	                   channel) by DomainConfig.Logon: {"ok","code","error","account","sid"}, code the
//	                   Win32 error (1326 wrong password, 1331 disabled, 1907 must change...), see login.go.
//	win-baseline       BitLocker C: (SetBitLocker), Defender (SetDefender), firewall profiles
//	                   (SetFirewallProfile), reboot markers (a join, an installer's 3010, Windows
//	                   Update's RebootRequired): see baseline.go.
//	msi-uninstall      msiexec /x: the Uninstall key goes when the uninstaller's exit code (Package.
//	                   UninstallExitCode) is 0, 3010 or 1641 (the last two leave a reboot pending);
//	                   1605 for a product that is not installed: {"exit_code","log"}.
//	winget-uninstall   0; 3010/1641 as 0x8A150109 / 0x8A15010B; other uninstaller failures 0x8A150030;
//	                   not installed 0x8A150014.
//	choco-uninstall    the uninstaller's code (3010, 1641, failures) or 1 when not installed.
//	printer-remove     printui /gd /q (exit 0), spooler restart, Remove-Printer of what is still shown.
//	localgroup-remove  Remove-LocalGroupMember: {"removed"}; false when not a member (the script catches
//	                   MemberNotFoundException); unknown group or principal: the error record.
//	login-revoke-check the sign-in groups (of $in.groups that exist) listing the member, and the session
//	                   IDs quser shows for its name, parsed as the script does: {"groups","sessions"}.
//	login-revoke-apply the same, after Remove-LocalGroupMember from each and logoff of each session.
var ops map[string]func(*inv) int

func init() {
	ops = map[string]func(*inv) int{
		"win-facts":        opFacts,
		"win-join":         opJoin,
		"win-restart":      opRestart,
		"msi-check":        opMSICheck,
		"msi-install":      opMSIInstall,
		"winget-check":     opWingetCheck,
		"winget-install":   opWingetInstall,
		"choco-check":      opChocoCheck,
		"choco-install":    opChocoInstall,
		"printer-check":    opPrinterCheck,
		"printer-add":      opPrinterAdd,
		"localgroup-check": opLocalGroupCheck,
		"localgroup-add":   opLocalGroupAdd,
		"command-check":    opCommandCheck,
		"command-run":      opCommandRun,
		"file-check":       opFileCheck,
		"file-read":        opFileRead,
		"win-upload":       opUpload,
		"win-upload-abort": opUploadAbort,
		"check-dns":        opCheckDNS,
		"check-tcp":        opCheckTCP,
		"check-service":    opCheckService,
		"check-user":       opCheckUser,
		"check-group":      opCheckGroup,
		"win-baseline":     opBaseline,
		"check-http":       opCheckHTTP,
		"check-login":      opCheckLogin,

		"msi-uninstall":      opMSIUninstall,
		"winget-uninstall":   opWingetUninstall,
		"choco-uninstall":    opChocoUninstall,
		"printer-remove":     opPrinterRemove,
		"localgroup-remove":  opLocalGroupRemove,
		"login-revoke-check": opLoginRevoke(false),
		"login-revoke-apply": opLoginRevoke(true),
	}
}
