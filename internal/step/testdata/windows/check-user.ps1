# onboard-op: check-user
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"CORP\\o''brien ‘‘x’’ $(calc) `n [*]\nnext"}' | ConvertFrom-Json

$sid = ''
$account = ''
try {
    $sid = ([System.Security.Principal.NTAccount]$in.name).Translate([System.Security.Principal.SecurityIdentifier]).Value
    $account = ([System.Security.Principal.SecurityIdentifier]$sid).Translate([System.Security.Principal.NTAccount]).Value
} catch {
    if ($_.Exception.GetBaseException() -isnot [System.Security.Principal.IdentityNotMappedException]) { throw }
}
$groups = @()
$enabled = $null
if ($sid -ne '') {
    $local = @(Get-LocalUser | Where-Object { $_.SID.Value -eq $sid })
    if ($local.Count -gt 0) { $enabled = [bool]$local[0].Enabled }
    foreach ($g in @(Get-LocalGroup)) {
        $members = @(Get-LocalGroupMember -Group $g -ErrorAction SilentlyContinue | Where-Object { $_.SID.Value -eq $sid })
        if ($members.Count -gt 0) { $groups += $g.Name }
    }
}
[pscustomobject]@{ found = ($sid -ne ''); account = $account; sid = $sid; enabled = $enabled; groups = $groups } | ConvertTo-Json -Compress
