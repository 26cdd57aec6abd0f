# onboard-op: check-tcp
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"host":"o''brien ‘‘x’’ $(calc) `n [*]\nnext","port":587,"timeout_ms":1500}' | ConvertFrom-Json

$client = New-Object -TypeName System.Net.Sockets.TcpClient
$result = 'connected'
$msg = ''
try {
    if (-not $client.ConnectAsync($in.host, [int]$in.port).Wait([int]$in.timeout_ms)) { $result = 'timeout' }
} catch {
    $result = 'error'
    $msg = $_.Exception.GetBaseException().Message
} finally {
    $client.Dispose()
}
[pscustomobject]@{ result = $result; error = $msg } | ConvertTo-Json -Compress
