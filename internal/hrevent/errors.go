package hrevent

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a delivery.
type Problem struct {
	// Pointer is the RFC 6901 pointer to the value in the document as
	// sent (for a vendor format, into the vendor's document), "" for the
	// document as a whole.
	Pointer string `json:"pointer"`
	// Field is the same place as a dotted path, e.g. person.start_date or
	// employees[0].fields.hireDate.
	Field string `json:"field,omitempty"`
	// Header names the HTTP header at fault, for a problem with one.
	Header string `json:"header,omitempty"`
	// Line and Column place a syntax error (1-based; column in bytes).
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// String is the problem without the event's name.
func (p Problem) String() string {
	switch {
	case p.Header != "":
		return fmt.Sprintf("header %s: %s", p.Header, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("line %d, column %d: %s", p.Line, p.Column, p.Message)
	case p.Pointer == "":
		return p.Message
	}
	return fmt.Sprintf("%s (%s): %s", p.Pointer, p.Field, p.Message)
}

// Error is every problem found in one delivery; Decode returns it (as
// error) whenever the event is refused.
type Error struct {
	// Event is the event's id when it was readable and well-formed, for
	// the message; "" otherwise.
	Event    string
	Problems []Problem
}

// Error reads like the command line's playbook errors, the event's id in
// place of the file name and its JSON pointer in place of a position:
//
//	event evt-1: /person/start_date (person.start_date): must be a date written YYYY-MM-DD, got "2026-13-01"
func (e *Error) Error() string {
	name := "event"
	if e.Event != "" {
		name = "event " + e.Event
	}
	if len(e.Problems) == 1 {
		return name + ": " + e.Problems[0].String()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%s: %d problems:\n  %s", name, len(e.Problems), strings.Join(lines, "\n  "))
}

// Body is the JSON body of the 4xx response that refuses the event:
//
//	{"error": "invalid event", "problems": [{"pointer": ..., "field": ..., "message": ...}]}
func (e *Error) Body() []byte {
	b, err := json.Marshal(struct {
		Error    string    `json:"error"`
		Event    string    `json:"event,omitempty"`
		Problems []Problem `json:"problems"`
	}{"invalid event", e.Event, e.Problems})
	if err != nil {
		// Strings and ints always marshal; this cannot happen.
		panic(fmt.Sprintf("hrevent: marshal error body: %v", err))
	}
	return b
}
