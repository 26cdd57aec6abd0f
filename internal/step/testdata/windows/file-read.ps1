# onboard-op: file-read
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"args":"ALLUSERS=1","connection":"\\\\print01\\Office 2F","creates":"C:\\Acme\\done.txt","domain":"corp.example.test","driver":"Microsoft IPP Class Driver","group":"Remote Desktop Users","member":"CORP\\o''brien","new_name":"WS-ADA","ou":"OU=Workstations,DC=corp,DC=example,DC=test","package":"Acme.Chat","path":"C:\\Acme\\motd.txt","product_code":"{12345678-1234-1234-1234-123456789012}","run":"New-Item -ItemType Directory -Path ''C:\\Acme'' -Force","source":"\\\\files\\share\\App.msi","unless":"Test-Path ''C:\\x''","version":"3.1.0"}' | ConvertFrom-Json

$item = Get-Item -LiteralPath $in.path -Force -ErrorAction SilentlyContinue
$state = 'absent'; $data = ''
if ($null -ne $item -and $item.LinkType) { $state = 'link' }
elseif ($null -ne $item -and -not $item.PSIsContainer) {
  $state = 'file'
  $fs = [System.IO.File]::OpenRead($item.FullName)
  try {
    $buf = New-Object byte[] ([Math]::Min($fs.Length, [int64]$in.max + 1))
    $n = 0
    while ($n -lt $buf.Length) { $r = $fs.Read($buf, $n, $buf.Length - $n); if ($r -le 0) { break }; $n += $r }
    $data = [Convert]::ToBase64String($buf, 0, $n)
  } finally { $fs.Dispose() }
}
[pscustomobject]@{ state = $state; data = $data } | ConvertTo-Json -Compress
