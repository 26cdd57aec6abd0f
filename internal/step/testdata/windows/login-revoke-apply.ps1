# onboard-op: login-revoke-apply
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"groups":["Administrators","Power Users","Users","Remote Desktop Users","Remote Management Users"],"member":"CORP\\o''brien","session_name":"o''brien"}' | ConvertFrom-Json

$groups = @()
foreach ($g in $in.groups) {
    if (-not (Get-LocalGroup -Name $g -ErrorAction SilentlyContinue)) { continue }
    foreach ($m in (Get-LocalGroupMember -Group $g -ErrorAction Stop)) {
        if ($m.Name -eq $in.member) {
            Remove-LocalGroupMember -Group $g -Member $m -ErrorAction Stop
            $groups += $g
        }
    }
}
if (-not (Get-Command -Name 'quser.exe' -ErrorAction SilentlyContinue)) { throw 'quser.exe is not on this host: onboard cannot tell who is signed in' }
$ErrorActionPreference = 'Continue'
$quser = @(& quser.exe 2>$null)
$ErrorActionPreference = 'Stop'
$sessions = @()
foreach ($line in @($quser | Select-Object -Skip 1)) {
    $words = @(-split ([string]$line).TrimStart('>', ' '))
    if ($words.Count -lt 3 -or $words[0] -ne $in.session_name) { continue }
    foreach ($w in $words[1..($words.Count - 1)]) {
        if ($w -match '^\d+$') { $sessions += [int]$w; break }
    }
}
foreach ($id in $sessions) { & logoff.exe $id }
[pscustomobject]@{ groups = @($groups); sessions = @($sessions) } | ConvertTo-Json -Compress
