# onboard-op: command-check
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$__onboard_n = 0
foreach ($__onboard_v in $in.vars) { $__onboard_n++; Set-Variable -Name ('__onboard_' + $__onboard_n) -Value ([string]$__onboard_v) }
$done = $false
if ($in.unless) {
    $parseErrors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($in.unless, [ref]$null, [ref]$parseErrors)
    if ($parseErrors) { throw ('unless does not parse: ' + $parseErrors[0].Message) }
    if ($ast.Find({ param($node) $node -is [System.Management.Automation.Language.ExitStatementAst] }, $true)) {
        throw 'unless must not call exit (it would end the check script): make it an expression that is $true when the work is done'
    }
}
if ($in.creates -or $in.unless) {
    $done = $true
    if ($in.creates) { $done = Test-Path -LiteralPath $in.creates }
    if ($done -and $in.unless) {
        try {
            $r = & ([scriptblock]::Create($in.unless))
            $done = [bool]($r | Select-Object -Last 1)
        } catch {
            $done = $false
        }
    }
}
[pscustomobject]@{ done = [bool]$done } | ConvertTo-Json -Compress
