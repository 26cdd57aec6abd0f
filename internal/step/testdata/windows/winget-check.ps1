# onboard-op: winget-check
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$out = & winget list --id $in.package --exact --accept-source-agreements --disable-interactivity 2>&1 | Out-String
$code = $LASTEXITCODE
if ($code -ne 0 -and $code -ne -1978335212) { throw ('winget list failed with exit code ' + $code + ': ' + $out.Trim()) }
$lines = @($out -split "`n" | ForEach-Object { $_.TrimEnd() })
$sep = -1
for ($i = 1; $i -lt $lines.Count -and $sep -lt 0; $i++) { if ($lines[$i] -match '^-{10,}$') { $sep = $i } }
$starts = @()
if ($sep -gt 0) { $starts = @([regex]::Matches($lines[$sep - 1], '\S+') | ForEach-Object { $_.Index }) }
$ellipsis = [char]0x2026
$version = ''
for ($i = $sep + 1; $sep -gt 0 -and $starts.Count -ge 3 -and $i -lt $lines.Count; $i++) {
    $row = $lines[$i]
    if ($row.Length -le $starts[2]) { continue }
    $end = $row.Length
    if ($starts.Count -ge 4 -and $starts[3] -lt $end) { $end = $starts[3] }
    $id = $row.Substring($starts[1], $starts[2] - $starts[1]).Trim()
    if ($id -eq $in.package -or ($id.EndsWith([string]$ellipsis) -and $in.package.StartsWith($id.TrimEnd($ellipsis), [StringComparison]::OrdinalIgnoreCase))) {
        $version = $row.Substring($starts[2], $end - $starts[2]).Trim()
        continue
    }
    $words = @(-split $row)
    for ($k = $words.Count - 2; $k -ge 0; $k--) {
        if ($words[$k] -eq $in.package) { $version = $words[$k + 1]; break }
    }
}
[pscustomobject]@{ installed = ($version -ne ''); version = $version } | ConvertTo-Json -Compress
