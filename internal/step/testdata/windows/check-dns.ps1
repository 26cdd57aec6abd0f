# onboard-op: check-dns
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"name":"o''brien ‘‘x’’ $(calc) `n [*]\nnext"}' | ConvertFrom-Json

$addrs = @()
$code = ''
$msg = ''
try {
    $addrs = @(Resolve-DnsName -Name $in.name -QuickTimeout -ErrorAction Stop | Where-Object { $_.IPAddress } | ForEach-Object { [string]$_.IPAddress })
} catch {
    $code = ([string]$_.FullyQualifiedErrorId).Split(',')[0]
    $msg = $_.Exception.Message
}
[pscustomobject]@{ addresses = $addrs; error_id = $code; error = $msg } | ConvertTo-Json -Compress
