# onboard-op: check-service
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"o''brien ‘‘x’’ $(calc) `n [*]\nnext"}' | ConvertFrom-Json

$svc = @(Get-Service -Name ([System.Management.Automation.WildcardPattern]::Escape($in.name)) -ErrorAction SilentlyContinue | Where-Object { $_.Name -eq $in.name })
if ($svc.Count -eq 0) {
    [pscustomobject]@{ found = $false; name = $in.name; display_name = ''; status = ''; start_type = '' } | ConvertTo-Json -Compress
} else {
    [pscustomobject]@{ found = $true; name = $svc[0].Name; display_name = $svc[0].DisplayName; status = [string]$svc[0].Status; start_type = [string]$svc[0].StartType } | ConvertTo-Json -Compress
}
