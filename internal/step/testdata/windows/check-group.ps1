# onboard-op: check-group
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"o''brien ‘‘x’’ $(calc) `n [*]\nnext"}' | ConvertFrom-Json

$grp = @(Get-LocalGroup | Where-Object { $_.Name -eq $in.name })
$members = @()
if ($grp.Count -gt 0) { $members = @(Get-LocalGroupMember -Group $grp[0] -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Name }) }
$sid = ''
if ($grp.Count -gt 0) { $sid = $grp[0].SID.Value }
[pscustomobject]@{ found = ($grp.Count -gt 0); sid = $sid; members = $members } | ConvertTo-Json -Compress
