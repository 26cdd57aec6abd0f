# onboard-op: check-http
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"insecure":false,"read_body":true,"timeout_ms":10000,"url":"https://intranet.corp.example.test/o''brien ‘‘x’’ $(calc) `n [*]\nnext"}' | ConvertFrom-Json

$res = [ordered]@{ status = 0; body = ''; error = ''; error_status = ''; subject = ''; issuer = ''; expires = ''; trust = '' }
$script:trust = ''
$script:insecure = [bool]$in.insecure
$req = [System.Net.HttpWebRequest]::Create([uri]$in.url)
$req.AllowAutoRedirect = $false
$req.Timeout = [int]$in.timeout_ms
$req.ReadWriteTimeout = [int]$in.timeout_ms
$req.UserAgent = 'onboard-check'
$req.ServerCertificateValidationCallback = { param($sender, $cert, $chain, $errors) $script:trust = [string]$errors; $script:insecure -or ($errors -eq [System.Net.Security.SslPolicyErrors]::None) }
$resp = $null
try {
    $resp = $req.GetResponse()
} catch [System.Net.WebException] {
    $resp = $_.Exception.Response
    if ($null -eq $resp) { $res.error = $_.Exception.Message; $res.error_status = [string]$_.Exception.Status }
}
if ($null -ne $resp) {
    $res.status = [int]$resp.StatusCode
    if ($in.read_body) {
        $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $resp.GetResponseStream()
        $body = $reader.ReadToEnd()
        $reader.Dispose()
        if ($body.Length -gt 1048576) { $body = $body.Substring(0, 1048576) }
        $res.body = $body
    }
    $resp.Close()
}
$cert = $req.ServicePoint.Certificate
if ($null -ne $cert) { $res.subject = $cert.Subject; $res.issuer = $cert.Issuer; $res.expires = $cert.GetExpirationDateString() }
$res.trust = $script:trust
[pscustomobject]$res | ConvertTo-Json -Compress
