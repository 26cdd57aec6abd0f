# onboard-op: win-upload-abort
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"temp":"C:\\ProgramData\\Onboard\\O''Brien.txt.onboard-0a1b2c3d.tmp"}' | ConvertFrom-Json

Remove-Item -LiteralPath $in.temp -Force -ErrorAction SilentlyContinue
