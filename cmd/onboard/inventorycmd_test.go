package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// onboard inventory lists and graphs what a playbook can name, as text,
// JSON and DOT; a broken inventory is reported as validate reports it.
func TestInventoryCommand(t *testing.T) {
	site := filepath.Join("testdata", "inventory", "site")
	abs, err := filepath.Abs(site)
	if err != nil {
		t.Fatal(err)
	}
	load := []string{"-i", filepath.Join(site, "inventory"), "--profiles", filepath.Join(site, "profiles")}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"list.golden", []string{"inventory"}},
		{"list.golden", []string{"inventory", "list"}},
		{"list.json.golden", []string{"inventory", "list", "-o", "json"}},
		{"graph.dot.golden", []string{"inventory", "graph"}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			code, out, errs := onboardCLI(append(tc.args, load...)...)
			if code != exitOK || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			golden.Assert(t, filepath.Join("testdata", "inventory", tc.name), []byte(strings.ReplaceAll(out, abs, "SITE")))
		})
	}

	// The JSON is what the text shows: every host with its groups.
	_, out, _ := onboardCLI(append([]string{"inventory", "-o", "json"}, load...)...)
	var v inventoryView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Hosts) != 3 || v.Hosts[2].Name != "ws2" || strings.Join(v.Hosts[2].Groups, ",") != "all,linux,sales-floor" || v.Hosts[2].Port != 2222 {
		t.Errorf("hosts: %+v", v.Hosts)
	}

	broken := filepath.Join(t.TempDir(), "inv.yaml")
	if err := os.WriteFile(broken, []byte("printers:\n  lobby: {location: Lobby}\nhosts:\n  ws1: {address: 192.0.2.1, groups: [nope]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inventory", "graph", "-o", "json"}, "onboard: onboard inventory graph prints DOT: drop -o json (onboard inventory list -o json is the JSON)\n"},
		{[]string{"inventory", "lst"}, `onboard: onboard inventory has no command "lst"; did you mean list?` + "\n"},
		{[]string{"inventory", "-o", "yaml"}, `onboard: --output must be text or json, got "yaml"` + "\n"},
		{[]string{"inventory", "-i", broken}, "printers.lobby.uri: is required"},
		{[]string{"inventory", "-i", broken}, "nope"},
	} {
		code, out, errs := onboardCLI(tc.args...)
		if code != exitInvalid || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("onboard %s: exit %d, stdout %q, stderr %q, want %q", strings.Join(tc.args, " "), code, out, errs, tc.want)
		}
	}
}
