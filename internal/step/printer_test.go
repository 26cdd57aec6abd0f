package step

import "testing"

// lpstatAll is what lpstatCmd() prints on a workstation with three queues
// (CUPS 2.4 on Debian 12): one whose name begins another's, one disabled
// and refusing jobs, one without a driver.
const lpstatAll = `device for Office-2F: ipp://10.213.30.1:8631/ipp/print
device for Office-2F-Color: ipp://10.213.30.1:8632/ipp/print
device for Lobby: socket://10.213.30.1:9100
@@onboard@@
Office-2F accepting requests since Thu 03 Dec 2026 02:18:10 PM UTC
Office-2F-Color not accepting requests since Thu 03 Dec 2026 02:18:11 PM UTC -
	Rejecting Jobs
Lobby accepting requests since Thu 03 Dec 2026 02:18:12 PM UTC
@@onboard@@
printer Office-2F is idle.  enabled since Thu 03 Dec 2026 02:18:10 PM UTC
	Form mounted:
	Content types: any
	Printer types: unknown
	Description: Office 2F
	Alerts: none
	Location: Reception, Bob's desk
	Connection: direct
	Interface: /etc/cups/ppd/Office-2F.ppd
	On fault: no alert
	Users allowed:
		(all)
printer Office-2F-Color disabled since Thu 03 Dec 2026 02:18:11 PM UTC -
	Paused
	Description: Colour
	Location: 2F
	Interface: /etc/cups/ppd/Office-2F-Color.ppd
printer Lobby is idle.  enabled since Thu 03 Dec 2026 02:18:12 PM UTC
	Description: Lobby
	Location:
@@onboard@@
system default destination: Office-2F
`

func TestParsePrinter(t *testing.T) {
	tests := []struct {
		name, out, queue string
		want             printerState
	}{
		{"the queue among others", lpstatAll, "Office-2F",
			printerState{exists: true, accepting: true, enabled: true, isDefault: true, hasPPD: true, uri: "ipp://10.213.30.1:8631/ipp/print", location: "Reception, Bob's desk", info: "Office 2F"}},
		{"a queue named with another's prefix, disabled and refusing", lpstatAll, "Office-2F-Color",
			printerState{exists: true, hasPPD: true, uri: "ipp://10.213.30.1:8632/ipp/print", location: "2F", info: "Colour"}},
		{"case-insensitive name, no driver", lpstatAll, "lobby",
			printerState{exists: true, accepting: true, enabled: true, uri: "socket://10.213.30.1:9100", info: "Lobby"}},
		{"a queue that does not exist", lpstatAll, "Annex", printerState{}},
		{"the queue read alone", "lpstat: Invalid destination name in list \"Annex\".\n@@onboard@@\nlpstat: Invalid destination name in list \"Annex\".\n@@onboard@@\nlpstat: Invalid destination name in list \"Annex\".\n@@onboard@@\nno system default destination\n",
			"Annex", printerState{}},
		{"no queues at all", "lpstat: No destinations added.\n@@onboard@@\n@@onboard@@\nlpstat: No destinations added.\n@@onboard@@\nno system default destination\n",
			"Lobby", printerState{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePrinter("ws1", Out{Stdout: tt.out}, tt.queue)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, down := range []string{"lpstat: Scheduler is not running.\n@@onboard@@\n@@onboard@@\n@@onboard@@\n", "truncated"} {
		if _, err := parsePrinter("ws1", Out{Stdout: down}, "Lobby"); err == nil {
			t.Errorf("no error for %q", down)
		}
	}
}
