# onboard-op: printer-add
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"connection":"\\\\print01\\Office-2F (Łódź)","default":true}' | ConvertFrom-Json

$changed = $false
if ($null -eq (Get-Printer -Name $in.connection -ErrorAction SilentlyContinue)) {
    Add-Printer -ConnectionName $in.connection
    $changed = $true
}
if ($in.default) {
    # Compare in PowerShell rather than build a WQL filter from the name.
    $printer = Get-CimInstance -ClassName Win32_Printer | Where-Object { $_.Name -eq $in.connection }
    if (-not $printer.Default) {
        Invoke-CimMethod -InputObject $printer -MethodName SetDefaultPrinter | Out-Null
        $changed = $true
    }
}
[pscustomobject]@{ changed = $changed } | ConvertTo-Json -Compress
