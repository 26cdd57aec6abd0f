package suggest

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"apply", "completion", "help", "history", "plan", "resume", "schema", "serve", "validate", "version"}
	names := []string{"account.username", "machine.host", "person.email", "person.employee_id", "person.given_name", "person.name", "person.surname"}
	tests := []struct {
		word       string
		candidates []string
		want       string
		ok         bool
	}{
		{"vaildate", commands, "validate", true}, // a swap is one edit
		{"plna", commands, "plan", true},         // a swap in a short word
		{"aply", commands, "apply", true},        // a deletion
		{"VALIDATE", commands, "validate", true}, // case is ignored
		{"serv", commands, "serve", true},        // one edit: serve before server-like names
		{"deploy", commands, "", false},          // nothing near
		{"x", commands, "", false},               // too short to guess
		{"plan", commands, "", false},            // the word itself is no suggestion
		{"person.givenname", names, "person.given_name", true},
		{"person.nmae", names, "person.name", true},
		{"person.employe_id", names, "person.employee_id", true},
		{"account.usernmae", names, "account.username", true},
		{"vars.team", names, "", false},
		{"", names, "", false},
		{"abc", nil, "", false},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.word, tt.candidates)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"abcd", "acbd", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := Distance([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance([]rune(tt.b), []rune(tt.a)); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
