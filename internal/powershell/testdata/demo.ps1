# onboard-op: demo
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"José''s Tool ‘‘Pro’’"}' | ConvertFrom-Json

$package = Get-Package -Name $in.name -ErrorAction SilentlyContinue | Select-Object -First 1
if ($null -eq $package) {
    [pscustomobject]@{ name = $in.name; installed = $false; version = $null } | ConvertTo-Json -Compress
} else {
    [pscustomobject]@{ name = $package.Name; installed = $true; version = [string]$package.Version } | ConvertTo-Json -Compress
}
