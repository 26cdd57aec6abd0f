# onboard-op: check-login
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::InputEncoding = [Console]::OutputEncoding
$OutputEncoding = [Console]::OutputEncoding
$in = '{"domain":"corp.example.test","user":"o''brien"}' | ConvertFrom-Json

$secret = [Console]::In.ReadToEnd() | ConvertFrom-Json
Add-Type -Namespace Onboard -Name Logon -MemberDefinition @'
[DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool LogonUser(string user, string domain, string password, int logonType, int logonProvider, out IntPtr token);
[DllImport("kernel32.dll", SetLastError = true)]
public static extern bool CloseHandle(IntPtr handle);
'@
$res = [ordered]@{ ok = $false; code = 0; error = ''; account = ''; sid = '' }
$token = [IntPtr]::Zero
# 2: LOGON32_LOGON_INTERACTIVE, 0: LOGON32_PROVIDER_DEFAULT.
if ([Onboard.Logon]::LogonUser($in.user, $in.domain, $secret.password, 2, 0, [ref]$token)) {
    try {
        $id = New-Object -TypeName System.Security.Principal.WindowsIdentity -ArgumentList $token
        $res.ok = $true
        $res.account = $id.Name
        $res.sid = $id.User.Value
        $id.Dispose()
    } finally {
        $null = [Onboard.Logon]::CloseHandle($token)
    }
} else {
    $res.code = [System.Runtime.InteropServices.Marshal]::GetLastWin32Error()
    $res.error = (New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList $res.code).Message
}
[pscustomobject]$res | ConvertTo-Json -Compress
