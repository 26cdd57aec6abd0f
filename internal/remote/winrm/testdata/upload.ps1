# onboard-op: win-upload
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"path":"C:\\ProgramData\\Onboard\\O''Brien.txt","temp":"C:\\ProgramData\\Onboard\\O''Brien.txt.onboard-0a1b2c3d.tmp","data":"aGVsbG8=","append":true,"final":true,"size":5}' | ConvertFrom-Json

$bytes = [Convert]::FromBase64String($in.data)
if ($in.append) { $mode = [IO.FileMode]::Append } else { $mode = [IO.FileMode]::Create }
try {
    $file = [IO.File]::Open($in.temp, $mode, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try { $file.Write($bytes, 0, $bytes.Length) } finally { $file.Dispose() }
    if ($in.final) {
        $size = (Get-Item -LiteralPath $in.temp).Length
        if ($size -ne $in.size) { throw ('received ' + $size + ' of ' + $in.size + ' bytes') }
        Move-Item -LiteralPath $in.temp -Destination $in.path -Force
    }
} catch {
    Remove-Item -LiteralPath $in.temp -Force -ErrorAction SilentlyContinue
    throw
}
