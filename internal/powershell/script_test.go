package powershell

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"

	"github.com/google/go-cmp/cmp"
)

// Realistic scripts of the kinds onboard runs on Windows. Their text is in
// testdata/<name>.ps1, where TestGrammar checks it with a PowerShell
// grammar. Go raw strings cannot hold PowerShell's backtick: bodies use
// [Environment]::NewLine and the like instead.
var goldenScripts = []struct {
	name string
	s    Script
}{
	{"demo", Script{
		Op: "demo",
		Data: struct {
			Name string `json:"name"`
		}{"José's Tool ‘Pro’"},
		Body: `
$package = Get-Package -Name $in.name -ErrorAction SilentlyContinue | Select-Object -First 1
if ($null -eq $package) {
    [pscustomobject]@{ name = $in.name; installed = $false; version = $null } | ConvertTo-Json -Compress
} else {
    [pscustomobject]@{ name = $package.Name; installed = $true; version = [string]$package.Version } | ConvertTo-Json -Compress
}
`,
	}},
	{"msi-install", Script{
		Op: "msi-install",
		Data: map[string]any{
			"path":        `\\fs01\Software$\7-Zip\7z2408-x64.msi`,
			"productCode": "{23170F69-40C1-2702-2408-000001000000}",
			"properties":  map[string]string{"INSTALLDIR": `C:\Program Files\7-Zip`, "COMPANYNAME": `O'Brien & "Sons"`},
		},
		Body: `
$installed = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\' + $in.productCode) -ErrorAction SilentlyContinue
if ($null -ne $installed) {
    [pscustomobject]@{ changed = $false; exitCode = 0; rebootRequired = $false } | ConvertTo-Json -Compress
    return
}
$log = Join-Path $env:TEMP ('onboard-msi-' + [guid]::NewGuid().ToString('N') + '.log')
# msiexec parses its own command line: quote paths, double quotes in values.
$arguments = @('/i', ('"{0}"' -f $in.path), '/qn', '/norestart', '/l*v', ('"{0}"' -f $log))
foreach ($property in $in.properties.PSObject.Properties) {
    $arguments += ('{0}="{1}"' -f $property.Name, ($property.Value -replace '"', '""'))
}
$process = Start-Process -FilePath 'msiexec.exe' -ArgumentList $arguments -Wait -PassThru
switch ($process.ExitCode) {
    0 { $reboot = $false }
    1641 { $reboot = $true }
    3010 { $reboot = $true }
    default {
        $tail = Get-Content -LiteralPath $log -Tail 20 -ErrorAction SilentlyContinue
        throw ('msiexec exited {0} for {1}: {2}' -f $process.ExitCode, $in.path, ($tail -join [Environment]::NewLine))
    }
}
[pscustomobject]@{ changed = $true; exitCode = $process.ExitCode; rebootRequired = $reboot } | ConvertTo-Json -Compress
`,
	}},
	{"local-user", Script{
		Op: "local-user",
		Data: map[string]any{
			"name":        "jlukasiewicz",
			"fullName":    "José Łukasiewicz",
			"description": "O'Brien’s team; $HOME `whoami` $(Remove-Item C:\\ -Recurse)",
			"groups":      []string{"Remote Desktop Users", "Użytkownicy pulpitu zdalnego"},
		},
		Body: `
# The password is not in the script's text: it comes as JSON on stdin.
$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
$user = Get-LocalUser -Name $in.name -ErrorAction SilentlyContinue
$changed = $false
if ($null -eq $user) {
    $password = ConvertTo-SecureString -String $secret.password -AsPlainText -Force
    New-LocalUser -Name $in.name -FullName $in.fullName -Description $in.description -Password $password | Out-Null
    $changed = $true
} elseif ($user.FullName -ne $in.fullName -or $user.Description -ne $in.description) {
    Set-LocalUser -Name $in.name -FullName $in.fullName -Description $in.description
    $changed = $true
}
foreach ($group in $in.groups) {
    $member = Get-LocalGroupMember -Group $group -ErrorAction SilentlyContinue |
        Where-Object { $_.Name -like ('*\' + $in.name) }
    if ($null -eq $member) {
        Add-LocalGroupMember -Group $group -Member $in.name
        $changed = $true
    }
}
[pscustomobject]@{ changed = $changed } | ConvertTo-Json -Compress
`,
	}},
	{"printer-add", Script{
		Op: "printer-add",
		Data: map[string]any{
			"connection": `\\print01\Office-2F (Łódź)`,
			"default":    true,
		},
		Body: `
$changed = $false
if ($null -eq (Get-Printer -Name $in.connection -ErrorAction SilentlyContinue)) {
    Add-Printer -ConnectionName $in.connection
    $changed = $true
}
if ($in.default) {
    # Compare in PowerShell rather than build a WQL filter from the name.
    $printer = Get-CimInstance -ClassName Win32_Printer | Where-Object { $_.Name -eq $in.connection }
    if (-not $printer.Default) {
        Invoke-CimMethod -InputObject $printer -MethodName SetDefaultPrinter | Out-Null
        $changed = $true
    }
}
[pscustomobject]@{ changed = $changed } | ConvertTo-Json -Compress
`,
	}},
	{"domain-join", Script{
		Op: "domain-join",
		Data: map[string]any{
			"domain":  "corp.example.test",
			"ou":      "OU=Workstations,OU=Kraków,DC=corp,DC=example,DC=test",
			"user":    `CORP\svc-join`,
			"newName": "WS-0042",
		},
		Body: `
$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
$computer = Get-CimInstance -ClassName Win32_ComputerSystem
if ($computer.PartOfDomain -and $computer.Domain -eq $in.domain) {
    [pscustomobject]@{ changed = $false; rebootRequired = $false } | ConvertTo-Json -Compress
    return
}
$password = ConvertTo-SecureString -String $secret.password -AsPlainText -Force
$credential = New-Object System.Management.Automation.PSCredential ($in.user, $password)
$arguments = @{ DomainName = $in.domain; Credential = $credential; Force = $true }
if ($in.ou) { $arguments.OUPath = $in.ou }
if ($in.newName -and $in.newName -ne $env:COMPUTERNAME) { $arguments.NewName = $in.newName }
Add-Computer @arguments
[pscustomobject]@{ changed = $true; rebootRequired = $true } | ConvertTo-Json -Compress
`,
	}},
	{"facts", Script{
		Op: "facts",
		Data: map[string]any{
			"packages": []string{"7-Zip*", "Mozilla Firefox*", "Microsoft Office*", "Zoom*", "Notepad++*"},
		},
		Body: factsBody,
	}},
}

// factsBody is longer than a command line can carry, so its script
// travels on stdin.
const factsBody = `
function Get-InstalledSoftware {
    $roots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    foreach ($root in $roots) {
        if (-not (Test-Path -LiteralPath $root)) { continue }
        foreach ($key in (Get-ChildItem -LiteralPath $root)) {
            $entry = Get-ItemProperty -LiteralPath $key.PSPath
            if (-not $entry.DisplayName) { continue }
            $productCode = $null
            if ($key.PSChildName -match '^\{[0-9A-Fa-f-]{36}\}$') { $productCode = $key.PSChildName }
            [pscustomobject]@{
                name        = [string]$entry.DisplayName
                version     = [string]$entry.DisplayVersion
                publisher   = [string]$entry.Publisher
                productCode = $productCode
            }
        }
    }
}

function Test-RebootPending {
    $keys = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    )
    foreach ($key in $keys) {
        if (Test-Path -LiteralPath $key) { return $true }
    }
    $renames = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
    return ($null -ne $renames)
}

function Format-Date($value) {
    if ($null -eq $value) { return $null }
    return $value.ToUniversalTime().ToString('o')
}

$os = Get-CimInstance -ClassName Win32_OperatingSystem
$system = Get-CimInstance -ClassName Win32_ComputerSystem
$software = @(Get-InstalledSoftware | Sort-Object -Property name)

$wanted = foreach ($pattern in $in.packages) {
    $found = @($software | Where-Object { $_.name -like $pattern })
    [pscustomobject]@{
        pattern   = $pattern
        installed = ($found.Count -gt 0)
        versions  = @($found | ForEach-Object { $_.version })
    }
}

$users = @(Get-LocalUser | ForEach-Object {
    [pscustomobject]@{
        name      = $_.Name
        fullName  = $_.FullName
        enabled   = [bool]$_.Enabled
        lastLogon = Format-Date $_.LastLogon
    }
})

$printers = @(Get-Printer -ErrorAction SilentlyContinue | ForEach-Object {
    [pscustomobject]@{ name = $_.Name; driver = $_.DriverName; port = $_.PortName; shared = [bool]$_.Shared }
})

$disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3' | ForEach-Object {
    [pscustomobject]@{ drive = $_.DeviceID; sizeBytes = [int64]$_.Size; freeBytes = [int64]$_.FreeSpace }
})

$adapters = @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE' | ForEach-Object {
    [pscustomobject]@{
        description = $_.Description
        mac         = $_.MACAddress
        addresses   = @($_.IPAddress)
        dnsServers  = @($_.DNSServerSearchOrder)
        dhcp        = [bool]$_.DHCPEnabled
    }
})

[pscustomobject]@{
    hostname      = $env:COMPUTERNAME
    os            = [pscustomobject]@{
        caption      = $os.Caption
        version      = $os.Version
        build        = $os.BuildNumber
        architecture = $os.OSArchitecture
        installDate  = Format-Date $os.InstallDate
        lastBoot     = Format-Date $os.LastBootUpTime
    }
    domain        = [pscustomobject]@{ joined = [bool]$system.PartOfDomain; name = $system.Domain; workgroup = $system.Workgroup }
    memoryBytes   = [int64]$system.TotalPhysicalMemory
    powershell    = $PSVersionTable.PSVersion.ToString()
    rebootPending = Test-RebootPending
    packages      = @($wanted)
    users         = $users
    printers      = $printers
    disks         = $disks
    adapters      = $adapters
    hotfixes      = @(Get-HotFix -ErrorAction SilentlyContinue | ForEach-Object { $_.HotFixID })
} | ConvertTo-Json -Depth 6 -Compress
`

// quotingSamples are hostile values; testdata/quoting.ps1 assigns each,
// quoted, to a variable so that the grammar check reads them too.
var quotingSamples = []string{
	"", "O'Brien", "O’Brien", "‘quoted’", "‚low‛", "'’‘‚‛", `say "hi"`,
	"$env:USERPROFILE $(whoami) @(1)", "a`nb`", "a; b | c & d", "line 1\nline 2",
	"José Łukasiewicz 😀", `\\fs01\Software$\7-Zip`, `O'Brien; Remove-Item C:\ -Recurse`,
	`x’; Remove-Item C:\ -Recurse; ’`, "'@\n'@", "#>", "<#",
}

func TestGolden(t *testing.T) {
	for _, g := range goldenScripts {
		t.Run(g.name, func(t *testing.T) {
			golden.Assert(t, filepath.Join("testdata", g.name+".ps1"), []byte(g.s.Text()))
		})
	}
	t.Run("bootstrap", func(t *testing.T) {
		golden.Assert(t, filepath.Join("testdata", "bootstrap.ps1"), []byte(bootstrap))
	})
	t.Run("quoting", func(t *testing.T) {
		golden.Assert(t, filepath.Join("testdata", "quoting.ps1"), []byte(quotingScript()))
	})
}

func quotingScript() string {
	var b strings.Builder
	b.WriteString("# Hostile values quoted by Quote: each line must assign one string.\n")
	for i, s := range quotingSamples {
		fmt.Fprintf(&b, "$v%d = %s\n", i, Quote(s))
	}
	return b.String()
}

func TestText(t *testing.T) {
	got := Script{Op: "demo", Data: map[string]string{"name": "O'Brien"}, Body: "\nGet-Package -Name $in.name\n\n"}.Text()
	want := `# onboard-op: demo
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"O''Brien"}' | ConvertFrom-Json

Get-Package -Name $in.name
`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Text() (-want +got):\n%s", d)
	}
}

func TestTextData(t *testing.T) {
	tests := []struct {
		name string
		data any
		want string // the $in line
	}{
		{"nil", nil, `$in = 'null' | ConvertFrom-Json`},
		{"HTML characters stay readable", map[string]string{"a": "<b> & c"}, `$in = '{"a":"<b> & c"}' | ConvertFrom-Json`},
		{"typographic quotes doubled", []string{"’", "‘"}, `$in = '["’’","‘‘"]' | ConvertFrom-Json`},
		{"NUL becomes U+FFFD", []string{"a\x00b"}, `$in = '["a\ufffdb"]' | ConvertFrom-Json`},
		{"an escaped backslash before u0000 stays", []string{`\u0000`}, `$in = '["\\u0000"]' | ConvertFrom-Json`},
		{"newline escaped by JSON", []string{"a\nb"}, `$in = '["a\nb"]' | ConvertFrom-Json`},
		{"not UTF-8 (escaped by JSON)", []string{"a\xffb"}, `$in = '["a\ufffdb"]' | ConvertFrom-Json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := Script{Op: "x", Data: tt.data}.Text()
			lines := strings.Split(text, "\n")
			if got := lines[6]; got != tt.want {
				t.Errorf("data line = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTextPanics(t *testing.T) {
	for name, s := range map[string]Script{
		"empty op":           {},
		"newline in op":      {Op: "demo\nRemove-Item C:\\"},
		"space in op":        {Op: "msi install"},
		"data not JSON-able": {Op: "demo", Data: make(chan int)},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Text() did not panic")
				}
			}()
			_ = s.Text()
		})
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, g := range goldenScripts {
		t.Run(g.name, func(t *testing.T) {
			text := g.s.Text()
			line, stdin := g.s.Command()
			if len(line) > MaxCommandLine {
				t.Errorf("command line has %d characters, more than %d", len(line), MaxCommandLine)
			}
			inline := len(commandPrefix+Encode(text)) <= MaxCommandLine
			if inline != (stdin == nil) {
				t.Errorf("inline = %v, but stdin has %d bytes", inline, len(stdin))
			}
			if !inline && line != bootstrapCommand {
				t.Errorf("stdin form with command line %.80q, want the bootstrap", line)
			}
			got, err := DecodeCommand(line, stdin)
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Errorf("DecodeCommand gives back a different script (-want +got):\n%s", cmp.Diff(text, got))
			}
			op, data, err := ParseScript(got)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := marshalData(g.s.Data)
			if op != g.s.Op || string(data) != want {
				t.Errorf("ParseScript = %q, %s; want %q, %s", op, data, g.s.Op, want)
			}
		})
	}
}

func TestCommandForms(t *testing.T) {
	// The long golden script goes on stdin, the demo in the command line.
	for _, g := range goldenScripts {
		switch g.name {
		case "facts":
			if n := len(g.s.Text()); n <= 3000 {
				t.Errorf("facts script has %d characters, want more than 3,000 to exercise the stdin form", n)
			}
			if _, stdin := g.s.Command(); stdin == nil {
				t.Error("facts script travels in the command line")
			}
		case "demo":
			if _, stdin := g.s.Command(); stdin != nil {
				t.Error("demo script travels on stdin")
			}
		}
	}
	// Around the limit, the form switches exactly where the command line
	// stops fitting.
	seen := map[bool]bool{}
	for n := 2500; n < 3100; n++ {
		s := Script{Op: "pad", Body: "# " + strings.Repeat("x", n)}
		line, stdin := s.Command()
		full := commandPrefix + Encode(s.Text())
		fits := len(full) <= MaxCommandLine
		seen[fits] = true
		if fits && (stdin != nil || line != full) {
			t.Fatalf("body of %d: the command line fits (%d) but the script goes on stdin", n, len(full))
		}
		if !fits && (stdin == nil || line != bootstrapCommand) {
			t.Fatalf("body of %d: the command line does not fit (%d) but the script is in it", n, len(full))
		}
	}
	if !seen[true] || !seen[false] {
		t.Errorf("padding never crossed the limit: %v", seen)
	}
	if len(bootstrapCommand) > 1000 {
		t.Errorf("bootstrap command line has %d characters", len(bootstrapCommand))
	}
}

func TestCommandUnicodeRoundTrip(t *testing.T) {
	type person struct {
		Name  string `json:"name"`
		Title string `json:"title"`
	}
	in := person{Name: "José Łukasiewicz Ærøskøbing Ďurčo 王小明 😀", Title: "O’Brien's ‘lead’; $x `y`"}
	for _, long := range []bool{false, true} {
		s := Script{Op: "demo", Data: in, Body: "Write-Output $in.name"}
		if long {
			s.Body += "\n# " + strings.Repeat("padding ", 400)
		}
		line, stdin := s.Command()
		if long != (stdin != nil) {
			t.Fatalf("long %v: stdin has %d bytes", long, len(stdin))
		}
		text, err := DecodeCommand(line, stdin)
		if err != nil {
			t.Fatal(err)
		}
		_, data, err := ParseScript(text)
		if err != nil {
			t.Fatal(err)
		}
		var out person
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Errorf("long %v: round trip gives %+v, want %+v", long, out, in)
		}
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		in   string
		want []byte // UTF-16LE
	}{
		{"", nil},
		{"A", []byte{0x41, 0x00}},
		{"é", []byte{0xE9, 0x00}},
		{"Ł", []byte{0x41, 0x01}},
		{"😀", []byte{0x3D, 0xD8, 0x00, 0xDE}}, // U+1F600: surrogates D83D DE00
		{"a𝔘b", []byte{0x61, 0x00, 0x35, 0xD8, 0x18, 0xDD, 0x62, 0x00}},
		{"\xff", []byte{0xFD, 0xFF}}, // not UTF-8: U+FFFD
	}
	for _, tt := range tests {
		if got, want := Encode(tt.in), base64.StdEncoding.EncodeToString(tt.want); got != want {
			t.Errorf("Encode(%q) = %s, want %s", tt.in, got, want)
		}
	}
	// The example from powershell.exe -? : dir "c:\program files"
	if got := Encode(`dir "c:\program files" `); got != "ZABpAHIAIAAiAGMAOgBcAHAAcgBvAGcAcgBhAG0AIABmAGkAbABlAHMAIgAgAA==" {
		t.Errorf("Encode of the powershell.exe help example = %s", got)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a", "😀", "José", "\xff\xfe", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decode(Encode(s))
		if err != nil {
			t.Fatal(err)
		}
		if want := string([]rune(s)); got != want {
			t.Errorf("decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}

func TestDecodeCommand(t *testing.T) {
	demo := Encode("Get-Date")
	tests := []struct {
		name    string
		line    string
		stdin   []byte
		want    string
		wantErr string
	}{
		{name: "winrm.Powershell form", line: "powershell.exe -EncodedCommand " + demo, want: "Get-Date"},
		{name: "short flag and full path", line: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NoProfile -enc ` + demo, want: "Get-Date"},
		{name: "-e", line: "PowerShell -e " + demo, want: "Get-Date"},
		{name: "stdin with a byte order mark", line: bootstrapCommand, stdin: []byte("\uFEFF# onboard-op: x\n"), want: "# onboard-op: x\n"},
		{name: "not powershell", line: "cmd.exe /c dir", wantErr: "not a powershell.exe command line"},
		{name: "no encoded command", line: "powershell.exe -Command Get-Date", wantErr: "no -EncodedCommand"},
		{name: "flag without value", line: "powershell.exe -EncodedCommand", wantErr: "without a value"},
		{name: "bad base64", line: "powershell.exe -EncodedCommand !!!", wantErr: "decode base64"},
		{name: "odd length", line: "powershell.exe -EncodedCommand QQ==", wantErr: "odd length"},
		{name: "bootstrap without stdin", line: bootstrapCommand, wantErr: "without a script on stdin"},
		{name: "stdin not UTF-8", line: bootstrapCommand, stdin: []byte{0xff}, wantErr: "not UTF-8"},
		{name: "inline and stdin", line: "powershell.exe -EncodedCommand " + demo, stdin: []byte("x"), wantErr: "bytes on stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCommand(tt.line, tt.stdin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DecodeCommand = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseScript(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		op      string
		data    string
		wantErr string
	}{
		{name: "CRLF", text: "# onboard-op: demo\r\n$x = 1\r\n$in = '{\"a\":\"it''s\"}' | ConvertFrom-Json\r\nGet-Date\r\n", op: "demo", data: `{"a":"it's"}`},
		{name: "typographic quotes undoubled", text: "# onboard-op: demo\n$in = '[\"’’\"]' | ConvertFrom-Json\n", op: "demo", data: `["’"]`},
		{name: "no op line", text: "$in = '1' | ConvertFrom-Json\n", wantErr: "first line"},
		{name: "bad op", text: "# onboard-op: a b\n", wantErr: "first line"},
		{name: "no data", text: "# onboard-op: demo\nGet-Date\n", wantErr: "no \"$in"},
		{name: "unterminated", text: "# onboard-op: demo\n$in = '{}\n", wantErr: "unterminated"},
		{name: "code after the literal", text: "# onboard-op: demo\n$in = '{}'; Remove-Item x | ConvertFrom-Json\n", wantErr: "followed by"},
		{name: "not JSON", text: "# onboard-op: demo\n$in = '{' | ConvertFrom-Json\n", wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, data, err := ParseScript(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || op != tt.op || string(data) != tt.data {
				t.Errorf("ParseScript = %q, %s, %v; want %q, %s", op, data, err, tt.op, tt.data)
			}
		})
	}
}

func FuzzScriptData(f *testing.F) {
	f.Add("José", "O'Brien’s")
	f.Add("", "\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := Script{Op: "fuzz", Data: []string{a, b}, Body: "Write-Output $in"}
		line, stdin := s.Command()
		text, err := DecodeCommand(line, stdin)
		if err != nil {
			t.Fatal(err)
		}
		_, data, err := ParseScript(text)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		// JSON, like Quote, carries UTF-8 only; NUL becomes U+FFFD.
		want := []string{survivor(a), survivor(b)}
		if !cmp.Equal(got, want) {
			t.Errorf("data %q, %q comes back as %q", a, b, got)
		}
	})
}
