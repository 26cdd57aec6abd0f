package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"restart"}, `unknown command "restart"`},
		{"stray argument", []string{"down", "extra"}, "unexpected arguments"},
		{"flag of another command", []string{"down", "-n", "3"}, "flag provided but not defined"},
		{"bad lab name", []string{"status", "-name", "Not-Valid"}, "lab name"},
		{"directories only for up", []string{"status", "-directories"}, "flag provided but not defined"},
		{"ad only for up", []string{"down", "-ad"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}
