# onboard-op: facts
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"packages":["7-Zip*","Mozilla Firefox*","Microsoft Office*","Zoom*","Notepad++*"]}' | ConvertFrom-Json

function Get-InstalledSoftware {
    $roots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    foreach ($root in $roots) {
        if (-not (Test-Path -LiteralPath $root)) { continue }
        foreach ($key in (Get-ChildItem -LiteralPath $root)) {
            $entry = Get-ItemProperty -LiteralPath $key.PSPath
            if (-not $entry.DisplayName) { continue }
            $productCode = $null
            if ($key.PSChildName -match '^\{[0-9A-Fa-f-]{36}\}$') { $productCode = $key.PSChildName }
            [pscustomobject]@{
                name        = [string]$entry.DisplayName
                version     = [string]$entry.DisplayVersion
                publisher   = [string]$entry.Publisher
                productCode = $productCode
            }
        }
    }
}

function Test-RebootPending {
    $keys = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    )
    foreach ($key in $keys) {
        if (Test-Path -LiteralPath $key) { return $true }
    }
    $renames = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
    return ($null -ne $renames)
}

function Format-Date($value) {
    if ($null -eq $value) { return $null }
    return $value.ToUniversalTime().ToString('o')
}

$os = Get-CimInstance -ClassName Win32_OperatingSystem
$system = Get-CimInstance -ClassName Win32_ComputerSystem
$software = @(Get-InstalledSoftware | Sort-Object -Property name)

$wanted = foreach ($pattern in $in.packages) {
    $found = @($software | Where-Object { $_.name -like $pattern })
    [pscustomobject]@{
        pattern   = $pattern
        installed = ($found.Count -gt 0)
        versions  = @($found | ForEach-Object { $_.version })
    }
}

$users = @(Get-LocalUser | ForEach-Object {
    [pscustomobject]@{
        name      = $_.Name
        fullName  = $_.FullName
        enabled   = [bool]$_.Enabled
        lastLogon = Format-Date $_.LastLogon
    }
})

$printers = @(Get-Printer -ErrorAction SilentlyContinue | ForEach-Object {
    [pscustomobject]@{ name = $_.Name; driver = $_.DriverName; port = $_.PortName; shared = [bool]$_.Shared }
})

$disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3' | ForEach-Object {
    [pscustomobject]@{ drive = $_.DeviceID; sizeBytes = [int64]$_.Size; freeBytes = [int64]$_.FreeSpace }
})

$adapters = @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE' | ForEach-Object {
    [pscustomobject]@{
        description = $_.Description
        mac         = $_.MACAddress
        addresses   = @($_.IPAddress)
        dnsServers  = @($_.DNSServerSearchOrder)
        dhcp        = [bool]$_.DHCPEnabled
    }
})

[pscustomobject]@{
    hostname      = $env:COMPUTERNAME
    os            = [pscustomobject]@{
        caption      = $os.Caption
        version      = $os.Version
        build        = $os.BuildNumber
        architecture = $os.OSArchitecture
        installDate  = Format-Date $os.InstallDate
        lastBoot     = Format-Date $os.LastBootUpTime
    }
    domain        = [pscustomobject]@{ joined = [bool]$system.PartOfDomain; name = $system.Domain; workgroup = $system.Workgroup }
    memoryBytes   = [int64]$system.TotalPhysicalMemory
    powershell    = $PSVersionTable.PSVersion.ToString()
    rebootPending = Test-RebootPending
    packages      = @($wanted)
    users         = $users
    printers      = $printers
    disks         = $disks
    adapters      = $adapters
    hotfixes      = @(Get-HotFix -ErrorAction SilentlyContinue | ForEach-Object { $_.HotFixID })
} | ConvertTo-Json -Depth 6 -Compress
