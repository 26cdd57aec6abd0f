# onboard-op: choco-check
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$chocoVersion = (& choco --version 2>&1 | Out-String).Trim()
$major = 0
if ($chocoVersion -match '(\d+)\.\d+') { $major = [int]$Matches[1] }
if ($major -ge 2) {
    $argList = @('list', '--exact', $in.package, '--limit-output')
} else {
    $argList = @('list', '--local-only', '--exact', $in.package, '--limit-output')
}
$lines = @(& choco @argList 2>&1 | ForEach-Object { [string]$_ })
$code = $LASTEXITCODE
if ($code -ne 0 -and $code -ne 2) { throw ('choco ' + ($argList -join ' ') + ' failed with exit code ' + $code + ': ' + ($lines -join ' ').Trim()) }
$version = ''
foreach ($line in $lines) {
    if ($line -match '^([^|]+)\|(.+)$' -and $Matches[1].Trim() -eq $in.package) { $version = $Matches[2].Trim() }
}
[pscustomobject]@{ installed = ($version -ne ''); version = $version } | ConvertTo-Json -Compress
