# onboard: the script is on stdin, in UTF-8
try { [Console]::InputEncoding = New-Object System.Text.UTF8Encoding $false } catch { $null = $_ }
$s = @($input) -join "`n"
& ([scriptblock]::Create($s))
