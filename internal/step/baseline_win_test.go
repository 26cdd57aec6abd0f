package step

import (
	"encoding/json"
	"testing"
)

// Each windows_security item's verdict: what Windows reported is the
// evidence (in words and field by field), pass or fail; a part Windows
// could not read cannot tell, and one whose cmdlet is missing cannot run.
func TestWinSecurityStates(t *testing.T) {
	read := func(js string) map[string]State {
		var b WinBaseline
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			t.Fatal(err)
		}
		out := map[string]State{}
		for _, f := range b.Findings() {
			out[f.Item] = f.State()
		}
		return out
	}
	good := read(`{"bitlocker":{"protection_status":"On","volume_status":"FullyEncrypted","encryption_method":"XtsAes256","encryption_percentage":100},"bitlocker_error":"",` +
		`"defender":{"real_time_protection_enabled":true,"antivirus_enabled":true,"signature_last_updated":"2026-12-02T06:00:00Z"},"defender_error":"",` +
		`"firewall":[{"name":"Domain","enabled":"True"},{"name":"Private","enabled":"True"},{"name":"Public","enabled":"True"}],"firewall_error":"","pending_reboot":[]}`)
	bad := read(`{"bitlocker":{"protection_status":"Unknown","volume_status":"FullyEncrypted","encryption_method":"XtsAes256","encryption_percentage":100},"bitlocker_error":"",` +
		`"defender":{"real_time_protection_enabled":false,"antivirus_enabled":true,"signature_last_updated":"2026-12-02T06:00:00Z"},"defender_error":"",` +
		`"firewall":null,"firewall_error":"The term 'Get-NetFirewallProfile' is not recognized as the name of a cmdlet, function, script file, or operable program.",` +
		`"pending_reboot":["WindowsUpdate\\Auto Update\\RebootRequired"]}`)
	tests := []struct {
		name    string
		st      State
		verdict string
		fields  string
	}{
		{"bitlocker on", good["bitlocker"], "pass: C: ProtectionStatus On, VolumeStatus FullyEncrypted, EncryptionMethod XtsAes256, 100% encrypted",
			"protection status=On; volume status=FullyEncrypted; encryption method=XtsAes256; encrypted=100%"},
		{"defender on", good["defender"], "pass: RealTimeProtectionEnabled true, AntivirusEnabled true, signatures updated 2026-12-02T06:00:00Z",
			"real-time protection=true; antivirus=true; signatures updated=2026-12-02T06:00:00Z"},
		{"firewall on", good["firewall"], "pass: profiles enabled: Domain True, Private True, Public True",
			"Domain profile=True; Private profile=True; Public profile=True"},
		{"no reboot", good["pending-reboot"], "pass: no reboot pending (no marker in the registry)", "pending reboot=none"},
		{"bitlocker locked", bad["bitlocker"], "cannot-run: cannot tell: C: ProtectionStatus Unknown, VolumeStatus FullyEncrypted, EncryptionMethod XtsAes256, 100% encrypted",
			"protection status=Unknown; volume status=FullyEncrypted; encryption method=XtsAes256; encrypted=100%"},
		{"defender off", bad["defender"], "fail: RealTimeProtectionEnabled false, AntivirusEnabled true, signatures updated 2026-12-02T06:00:00Z",
			"real-time protection=false; antivirus=true; signatures updated=2026-12-02T06:00:00Z"},
		{"no firewall cmdlet", bad["firewall"], "cannot-run: cannot run: Get-NetFirewallProfile failed: The term 'Get-NetFirewallProfile' is not recognized as the name of a cmdlet, function, script file, or operable program.", ""},
		{"reboot pending", bad["pending-reboot"], `fail: a reboot is pending: WindowsUpdate\Auto Update\RebootRequired`, `pending reboot=WindowsUpdate\Auto Update\RebootRequired`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := said(tt.st); got != tt.verdict {
				t.Errorf("got  %s\nwant %s", got, tt.verdict)
			}
			if got := fields(tt.st); got != tt.fields {
				t.Errorf("fields %s, want %s", got, tt.fields)
			}
		})
	}
}
