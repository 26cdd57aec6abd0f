package playbook

import (
	"strings"
	"testing"
)

func TestNotifyRuleChecks(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{"[{on: [failure], to: [manager, on-duty, team:it-desk, a@corp.example.test], via: [mail]}]", ""},
		{"[{on: [failure], to: [boss], via: [mail]}]", `notify[0].to[0]: must be manager, on-duty, team:NAME or an email address, got "boss"`},
		{"[{on: [failure], via: []}]", "notify[0].via: names no channel"},
		{"[{on: [], via: [mail]}]", "notify[0].on: names no event"},
		{"[{on: [drift], via: [\"mail chat\"]}]", `notify[0].via[0]: must name a channel`},
		{"[{on: [handover], via: [mail]}]", `unknown event "handover"`},
	} {
		_, err := Parse("hire.yaml", []byte("person: {employee_id: E1, given_name: A, surname: B, start_date: 2027-01-04}\nnotify: "+tc.rules+"\n"))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.rules, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.rules, err, tc.want)
		}
	}
}
