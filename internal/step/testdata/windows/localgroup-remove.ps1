# onboard-op: localgroup-remove
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$removed = $true
try {
    Remove-LocalGroupMember -Group $in.group -Member $in.member -ErrorAction Stop
} catch [Microsoft.PowerShell.Commands.MemberNotFoundException] {
    $removed = $false
}
[pscustomobject]@{ removed = $removed } | ConvertTo-Json -Compress
