# onboard-op: domain-join
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"domain":"corp.example.test","newName":"WS-0042","ou":"OU=Workstations,OU=Kraków,DC=corp,DC=example,DC=test","user":"CORP\\svc-join"}' | ConvertFrom-Json

$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
$computer = Get-CimInstance -ClassName Win32_ComputerSystem
if ($computer.PartOfDomain -and $computer.Domain -eq $in.domain) {
    [pscustomobject]@{ changed = $false; rebootRequired = $false } | ConvertTo-Json -Compress
    return
}
$password = ConvertTo-SecureString -String $secret.password -AsPlainText -Force
$credential = New-Object System.Management.Automation.PSCredential ($in.user, $password)
$arguments = @{ DomainName = $in.domain; Credential = $credential; Force = $true }
if ($in.ou) { $arguments.OUPath = $in.ou }
if ($in.newName -and $in.newName -ne $env:COMPUTERNAME) { $arguments.NewName = $in.newName }
Add-Computer @arguments
[pscustomobject]@{ changed = $true; rebootRequired = $true } | ConvertTo-Json -Compress
