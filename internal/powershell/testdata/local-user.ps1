# onboard-op: local-user
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"description":"O''Brien’’s team; $HOME `whoami` $(Remove-Item C:\\ -Recurse)","fullName":"José Łukasiewicz","groups":["Remote Desktop Users","Użytkownicy pulpitu zdalnego"],"name":"jlukasiewicz"}' | ConvertFrom-Json

# The password is not in the script's text: it comes as JSON on stdin.
$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
$user = Get-LocalUser -Name $in.name -ErrorAction SilentlyContinue
$changed = $false
if ($null -eq $user) {
    $password = ConvertTo-SecureString -String $secret.password -AsPlainText -Force
    New-LocalUser -Name $in.name -FullName $in.fullName -Description $in.description -Password $password | Out-Null
    $changed = $true
} elseif ($user.FullName -ne $in.fullName -or $user.Description -ne $in.description) {
    Set-LocalUser -Name $in.name -FullName $in.fullName -Description $in.description
    $changed = $true
}
foreach ($group in $in.groups) {
    $member = Get-LocalGroupMember -Group $group -ErrorAction SilentlyContinue |
        Where-Object { $_.Name -like ('*\' + $in.name) }
    if ($null -eq $member) {
        Add-LocalGroupMember -Group $group -Member $in.name
        $changed = $true
    }
}
[pscustomobject]@{ changed = $changed } | ConvertTo-Json -Compress
