package powershell

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// A failed Get-Package over WinRM, as Windows PowerShell 5.1 writes it to
// stderr: the header, a progress record from module loading, the error
// record in lines, each ending in an escaped CRLF, and a blank separator.
const getPackageError = "#< CLIXML\r\n" +
	`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">` +
	`<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>` +
	`<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil />` +
	`<PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>` +
	`<S S="Error">Get-Package : No match was found for the specified search criteria and package name 'José''s Tool_x000D__x000A_</S>` +
	`<S S="Error">‘Pro’'._x000D__x000A_</S>` +
	`<S S="Error">At line:8 char:12_x000D__x000A_</S>` +
	`<S S="Error">+ $package = Get-Package -Name $in.name | Select-Object -First 1_x000D__x000A_</S>` +
	`<S S="Error">+            ~~~~~~~~~~~~~~~~~~~~~~~~~~~~_x000D__x000A_</S>` +
	`<S S="Error">    + CategoryInfo          : ObjectNotFound: (Microsoft.Power...lets.GetPackage:GetPackage) [Get-Package], Exception_x000D__x000A_</S>` +
	`<S S="Error">    + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement.Cmdlets.GetPackage_x000D__x000A_</S>` +
	`<S S="Error"> _x000D__x000A_</S>` +
	`</Objs>`

func TestDecodeCLIXML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "Get-Package error with a progress record",
			in:   getPackageError,
			want: `Get-Package : No match was found for the specified search criteria and package name 'José''s Tool
‘Pro’'.
At line:8 char:12
+ $package = Get-Package -Name $in.name | Select-Object -First 1
+            ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : ObjectNotFound: (Microsoft.Power...lets.GetPackage:GetPackage) [Get-Package], Exception
    + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement.Cmdlets.GetPackage`,
		},
		{
			name: "not CLIXML",
			in:   "msiexec: error 1603\r\n",
			want: "msiexec: error 1603\r\n",
		},
		{
			name: "XML entities, a surrogate pair and an escaped underscore",
			in:   `#< CLIXML` + "\r\n" + `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">&lt;x&gt; &amp; _xD83D__xDE00_ tab_x0009_end _x005F_x0041_ my_x_var_x000A_</S></Objs>`,
			want: "<x> & 😀 tab\tend _x0041_ my_x_var",
		},
		{
			name: "warnings and verbose lines prefixed, in order",
			in: "#< CLIXML\r\n" + `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">` +
				`<S S="warning">Reboot required_x000D__x000A_</S><S S="verbose">Step 2</S>` +
				`<S S="Error">Add-Computer : Access is denied_x000D__x000A_</S></Objs>`,
			want: "WARNING: Reboot required\nVERBOSE: Step 2\nAdd-Computer : Access is denied",
		},
		{
			name: "two documents after a doubled header, with plain text around",
			in: "native tool: failed\r\n#< CLIXML\r\n#< CLIXML\r\n" +
				`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">first_x000D__x000A_</S></Objs>` +
				`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><MS /></Obj><S S="Error">second_x000D__x000A_</S></Objs>` +
				"\r\ntrailer",
			want: "native tool: failed\nfirst\nsecond\n\ntrailer",
		},
		{
			name: "only progress",
			in:   "#< CLIXML\r\n" + `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><MS /></Obj></Objs>`,
			want: "",
		},
		{
			name: "broken XML returned unchanged",
			in:   "#< CLIXML\r\n<Objs><S S=\"Error\">oops</Objs>",
			want: "#< CLIXML\r\n<Objs><S S=\"Error\">oops</Objs>",
		},
		{
			name: "truncated document left as it is",
			in:   "#< CLIXML\r\n<Objs><S S=\"Error\">cut off",
			want: "<Objs><S S=\"Error\">cut off",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, DecodeCLIXML(tt.in)); d != "" {
				t.Errorf("DecodeCLIXML (-want +got):\n%s", d)
			}
		})
	}
}

// escapeCLIXML writes s as PowerShell's serializer does: control
// characters, each half of a surrogate pair and the underscore of a "_x"
// as _xHHHH_.
func escapeCLIXML(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '_' && i+1 < len(rs) && rs[i+1] == 'x':
			b.WriteString("_x005F_")
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, "_x%04X_", r)
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&b, "_x%04X__x%04X_", hi, lo)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func FuzzUnescapeCLIXML(f *testing.F) {
	for _, s := range []string{"", "a_xb", "_x0041_", "😀\r\n", "__x", "_x005F_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := string([]rune(s))
		if got := unescapeCLIXML(escapeCLIXML(want)); got != want {
			t.Errorf("unescapeCLIXML(%q) = %q, want %q", escapeCLIXML(want), got, want)
		}
	})
}
