package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpdesk(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string // an error's words, or "" for valid
	}{
		{"valid", []string{"helpdesk: {name: IT, email: it@example.test, phone: '+1 555 0100', url: 'https://it.example.test/help'}\n"}, ""},
		{"none", []string{"hosts: {}\n"}, ""},
		{"script url", []string{"helpdesk: {url: 'javascript:alert(1)'}\n"}, "helpdesk.url: must be an http:// or https:// address"},
		{"bad email", []string{"helpdesk: {email: 'IT <it@example.test>'}\n"}, "helpdesk.email: is not an email address"},
		{"empty", []string{"helpdesk: {}\n"}, "helpdesk: says nothing"},
		{"two lines", []string{"helpdesk: {name: \"IT\\nDesk\"}\n"}, "helpdesk.name: must not contain a line break"},
		{"twice", []string{"helpdesk: {name: IT}\n", "helpdesk: {name: Other}\n"}, "helpdesk: is also defined at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".yaml"), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			inv, err := Load(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if h := inv.Helpdesk(); tt.name == "valid" && (h == nil || h.Name != "IT" || h.URL != "https://it.example.test/help") {
					t.Errorf("helpdesk %+v", h)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
