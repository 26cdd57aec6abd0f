package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKnowledgeBase(t *testing.T) {
	const article = "---\nid: a\ntitle: A\nmatches:\n  - output: x\n---\nFix it.\n"
	tests := []struct {
		name     string
		files    []string
		articles map[string]string // in kb/
		want     string            // an error's words, or "" for valid
	}{
		{"valid", []string{"knowledge_base: kb\n"}, map[string]string{"a.md": article}, ""},
		{"none", []string{"hosts: {}\n"}, nil, ""},
		{"missing folder", []string{"knowledge_base: nowhere\n"}, nil, "a.yaml:1:17: knowledge_base: is not a folder"},
		{"twice", []string{"knowledge_base: kb\n", "knowledge_base: kb\n"}, map[string]string{"a.md": article}, "knowledge_base: is also defined at"},
		{"bad article", []string{"knowledge_base: kb\n"}, map[string]string{"a.md": strings.Replace(article, "output: x", "outptu: x", 1)},
			"kb/a.md:5:5: matches[0].outptu: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".yaml"), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.articles != nil {
				if err := os.Mkdir(filepath.Join(dir, "kb"), 0o755); err != nil {
					t.Fatal(err)
				}
				for name, body := range tt.articles {
					if err := os.WriteFile(filepath.Join(dir, "kb", name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			inv, err := Load(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				b := inv.KnowledgeBase()
				if tt.name == "valid" && (b == nil || len(b.Articles) != 1 || b.Articles[0].Fix() != "Fix it.") {
					t.Errorf("knowledge base %+v", b)
				}
				if tt.name == "none" && b != nil {
					t.Errorf("a knowledge base without one named: %+v", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestShippedKnowledgeBase(t *testing.T) {
	inv, err := Load(filepath.Join("..", "..", "inventory"))
	if err != nil {
		t.Fatal(err)
	}
	if b := inv.KnowledgeBase(); b == nil || len(b.Articles) != 7 {
		t.Fatalf("the shipped inventory's knowledge base: %+v", b)
	}
}
