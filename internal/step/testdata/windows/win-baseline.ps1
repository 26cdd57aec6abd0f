# onboard-op: win-baseline
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = 'null' | ConvertFrom-Json

function Get-Part([scriptblock]$Read) {
    try { @{ value = (& $Read); error = '' } } catch { @{ value = $null; error = $_.Exception.Message } }
}
$bl = Get-Part {
    $v = Get-BitLockerVolume -MountPoint 'C:' -ErrorAction Stop
    [pscustomobject]@{ protection_status = [string]$v.ProtectionStatus; volume_status = [string]$v.VolumeStatus; encryption_method = [string]$v.EncryptionMethod; encryption_percentage = [int]$v.EncryptionPercentage }
}
$mp = Get-Part {
    $s = Get-MpComputerStatus -ErrorAction Stop
    [pscustomobject]@{ real_time_protection_enabled = [bool]$s.RealTimeProtectionEnabled; antivirus_enabled = [bool]$s.AntivirusEnabled; signature_last_updated = $s.AntivirusSignatureLastUpdated.ToUniversalTime().ToString('o') }
}
$fw = Get-Part {
    @(Get-NetFirewallProfile -ErrorAction Stop | ForEach-Object { [pscustomobject]@{ name = [string]$_.Name; enabled = [string]$_.Enabled } })
}
$reasons = @()
$keys = [ordered]@{
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' = 'Component Based Servicing\RebootPending'
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' = 'WindowsUpdate\Auto Update\RebootRequired'
    'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\JoinDomain' = 'Netlogon\JoinDomain'
}
foreach ($k in $keys.Keys) { if (Test-Path -LiteralPath $k) { $reasons += $keys[$k] } }
$rename = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
if ($null -ne $rename) { $reasons += 'Session Manager\PendingFileRenameOperations' }
[pscustomobject]@{
    bitlocker = $bl.value; bitlocker_error = $bl.error
    defender = $mp.value; defender_error = $mp.error
    firewall = @($fw.value); firewall_error = $fw.error
    pending_reboot = $reasons
} | ConvertTo-Json -Compress -Depth 4
