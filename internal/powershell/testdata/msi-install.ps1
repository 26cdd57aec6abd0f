# onboard-op: msi-install
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"path":"\\\\fs01\\Software$\\7-Zip\\7z2408-x64.msi","productCode":"{23170F69-40C1-2702-2408-000001000000}","properties":{"COMPANYNAME":"O''Brien & \"Sons\"","INSTALLDIR":"C:\\Program Files\\7-Zip"}}' | ConvertFrom-Json

$installed = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\' + $in.productCode) -ErrorAction SilentlyContinue
if ($null -ne $installed) {
    [pscustomobject]@{ changed = $false; exitCode = 0; rebootRequired = $false } | ConvertTo-Json -Compress
    return
}
$log = Join-Path $env:TEMP ('onboard-msi-' + [guid]::NewGuid().ToString('N') + '.log')
# msiexec parses its own command line: quote paths, double quotes in values.
$arguments = @('/i', ('"{0}"' -f $in.path), '/qn', '/norestart', '/l*v', ('"{0}"' -f $log))
foreach ($property in $in.properties.PSObject.Properties) {
    $arguments += ('{0}="{1}"' -f $property.Name, ($property.Value -replace '"', '""'))
}
$process = Start-Process -FilePath 'msiexec.exe' -ArgumentList $arguments -Wait -PassThru
switch ($process.ExitCode) {
    0 { $reboot = $false }
    1641 { $reboot = $true }
    3010 { $reboot = $true }
    default {
        $tail = Get-Content -LiteralPath $log -Tail 20 -ErrorAction SilentlyContinue
        throw ('msiexec exited {0} for {1}: {2}' -f $process.ExitCode, $in.path, ($tail -join [Environment]::NewLine))
    }
}
[pscustomobject]@{ changed = $true; exitCode = $process.ExitCode; rebootRequired = $reboot } | ConvertTo-Json -Compress
