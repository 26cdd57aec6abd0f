// Package hrevent turns an HR system's webhook delivery into an Event:
// the native JSON schema and the shapes of Workday, BambooHR and Personio
// exports, decoded strictly with every problem named by JSON pointer, and
// the HMAC signature that proves who sent it. It does no I/O.
package hrevent

import "time"

// Type is what an event asks for.
type Type string

// The event types.
const (
	Hire   Type = "hire"   // a new person starts: given_name, surname and start_date required
	Change Type = "change" // fields of a known person changed: absent fields are unchanged
	Cancel Type = "cancel" // a hire, or a pending leave, is called off: only employee_id is needed
	// Leave: the person leaves; last_day required, leave_at optional. Their
	// access ends at leave_at on the last day, or when that day ends.
	Leave Type = "leave"
)

// The formats Decode reads, which are also an Event's Source.
const (
	Native   = "native"
	Workday  = "workday"
	BambooHR = "bamboohr"
	Personio = "personio"
)

// Formats lists the formats Decode reads.
var Formats = []string{Native, Workday, BambooHR, Personio}

// MaxBody is the largest body Decode reads: an HR event is a few hundred
// bytes, and a bound keeps a hostile sender from making the server hold
// (and parse) an arbitrarily large document. A server reads at most
// MaxBody+1 bytes (http.MaxBytesReader) and lets Decode refuse the excess
// with a problem.
const MaxBody = 1 << 20

// The HTTP headers an HR sender uses.
const (
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "Onboard-Timestamp"
	// HeaderSignature carries v1=<hex HMAC-SHA256>, comma-separated when
	// several keys sign during a rotation.
	HeaderSignature = "Onboard-Signature"
	// HeaderEventID gives the event id for formats whose document has none.
	HeaderEventID = "Onboard-Event-Id"
	// HeaderEventType gives the event type (hire, change, cancel, leave) for
	// formats whose document has none.
	HeaderEventType = "Onboard-Event-Type"
)

// Event is one decoded, validated HR event.
type Event struct {
	// ID is the sender's id for this event, the key that makes a
	// redelivery a duplicate.
	ID   string `json:"id"`
	Type Type   `json:"type"`
	// OccurredAt is when the HR system says it happened, in UTC; zero
	// when the sender did not say.
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	Person     Person    `json:"person"`
	// Workstation is a machine HR or IT assigned, an inventory host name.
	Workstation string `json:"workstation,omitempty"`
	// Source is the format the event came in: native, workday, bamboohr
	// or personio. It is not part of the native schema.
	Source string `json:"source,omitempty"`
}

// Person is who the event is about. Every field but EmployeeID is a
// pointer: nil means the document did not mention it (a change leaves it
// as it was), a pointer to "" means it was given empty (a change clears
// it).
type Person struct {
	EmployeeID    string  `json:"employee_id"`
	GivenName     *string `json:"given_name,omitempty"`
	Surname       *string `json:"surname,omitempty"`
	PreferredName *string `json:"preferred_name,omitempty"`
	Title         *string `json:"title,omitempty"`
	Department    *string `json:"department,omitempty"`
	Manager       *string `json:"manager,omitempty"`
	Email         *string `json:"email,omitempty"`
	Location      *string `json:"location,omitempty"`
	CostCenter    *string `json:"cost_center,omitempty"`
	StartDate     *string `json:"start_date,omitempty"` // YYYY-MM-DD
	// LastDay and LeaveAt belong to a leave only: the last working day
	// (YYYY-MM-DD) and the local time (HH:MM) access ends on it.
	LastDay *string `json:"last_day,omitempty"`
	LeaveAt *string `json:"leave_at,omitempty"`
}

// personField names one optional field of Person: its name in the native
// schema, where it lives, and how long it may be (in characters).
type personField struct {
	name string
	ptr  func(*Person) **string
	max  int
}

// personFields lists Person's optional fields in schema order.
var personFields = []personField{
	{"given_name", func(p *Person) **string { return &p.GivenName }, maxName},
	{"surname", func(p *Person) **string { return &p.Surname }, maxName},
	{"preferred_name", func(p *Person) **string { return &p.PreferredName }, maxName},
	{"title", func(p *Person) **string { return &p.Title }, maxText},
	{"department", func(p *Person) **string { return &p.Department }, maxText},
	{"manager", func(p *Person) **string { return &p.Manager }, maxText},
	{"email", func(p *Person) **string { return &p.Email }, maxEmail},
	{"location", func(p *Person) **string { return &p.Location }, maxText},
	{"cost_center", func(p *Person) **string { return &p.CostCenter }, maxText},
	{"start_date", func(p *Person) **string { return &p.StartDate }, 10},
	{"last_day", func(p *Person) **string { return &p.LastDay }, 10},
	{"leave_at", func(p *Person) **string { return &p.LeaveAt }, 5},
}

// Set returns the fields the event gave, by their native schema name
// (employee_id always), so that a change can be applied field by field.
func (p Person) Set() map[string]string {
	m := map[string]string{"employee_id": p.EmployeeID}
	for _, f := range personFields {
		if v := *f.ptr(&p); v != nil {
			m[f.name] = *v
		}
	}
	return m
}

// Options carries what a delivery says outside its body.
type Options struct {
	// EventID and EventType are the Onboard-Event-Id and
	// Onboard-Event-Type header values, "" when absent. They fill in what
	// a format's document lacks; where the document has its own, a header
	// that says otherwise is a problem.
	EventID   string
	EventType string
}
