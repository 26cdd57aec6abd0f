# onboard-op: msi-uninstall
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$log = Join-Path -Path $env:TEMP -ChildPath ('onboard-msi-' + [guid]::NewGuid().ToString() + '.log')
$argList = @('/x', $in.product_code, '/qn', '/norestart', '/l*v', ('"' + $log + '"'))
$p = Start-Process -FilePath 'msiexec.exe' -ArgumentList $argList -Wait -PassThru
$tail = ''
if (Test-Path -LiteralPath $log) { $tail = (Get-Content -LiteralPath $log -Tail 20) -join "`n" }
[pscustomobject]@{ exit_code = $p.ExitCode; log = $tail } | ConvertTo-Json -Compress
