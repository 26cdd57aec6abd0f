package hrevent

import (
	"errors"
	"strings"
	"testing"
)

const hire = `{"id": "evt-1", "type": "hire", "person": {"employee_id": "E1", "given_name": "Ada", "surname": "Lovelace", "start_date": "2026-12-07"}}`

// withPerson returns a native hire whose person has extra fields added or
// replaced (given as JSON members).
func withPerson(members string) string {
	return `{"id": "evt-1", "type": "hire", "person": {"employee_id": "E1", ` + members + `}}`
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, format, body string
		opt                Options
		want               string
	}{
		{"malformed", Native, `{"id": "evt-1",, "type": "hire"}`, Options{},
			`event: line 1, column 16: malformed JSON: invalid character ',' looking for beginning of object key string`},
		{"malformed on a later line", Native, "{\n  \"id\": \"evt-1\",\n  \"type\": hire\n}", Options{},
			`event: line 3, column 11: malformed JSON: invalid character 'h' looking for beginning of value`},
		{"truncated", Native, `{"id": "evt-1"`, Options{},
			`event: line 1, column 15: malformed JSON: the document ends early`},
		{"empty", Native, " \n", Options{}, `event: is empty: an event is a JSON object`},
		{"two documents", Native, hire + ` {}`, Options{},
			`event: line 1, column 138: malformed JSON: invalid character '{' after top-level value`},
		{"not UTF-8", Native, "{\"id\": \"evt-\xff\"}", Options{}, `event: line 1, column 13: is not valid UTF-8 (byte 0xff)`},
		{"too large", Native, `{"id": "` + strings.Repeat("a", MaxBody) + `"}`, Options{},
			`event: is 1048586 bytes, more than the 1048576 allowed`},
		{"too deep", Native, strings.Repeat("[", 40) + strings.Repeat("]", 40), Options{},
			`event: line 1, column 34: malformed JSON: nested deeper than 32 levels`},
		{"duplicate key", Native, `{"id": "evt-1", "id": "evt-2", "type": "cancel", "person": {"employee_id": "E1"}}`, Options{},
			`event evt-1: /id (id): is written twice`},
		{"duplicate key with a control character", Native, `{"id": "evt-1", "type": "cancel", "person": {"employee_id": "E1", "\u202e": "", "\u202e": ""}}`, Options{},
			"event evt-1: 2 problems:\n" +
				"  /person (person): key \"\\u202e\" is written twice\n" +
				"  /person (person): unknown field \"\\u202e\" (known fields: employee_id, given_name, surname, preferred_name, title, department, manager, email, location, cost_center, start_date, last_day, leave_at)"},
		{"unknown field with a suggestion", Native, `{"id": "evt-1", "type": "cancel", "persn": {}, "person": {"employee_id": "E1"}}`, Options{},
			`event evt-1: /persn (persn): unknown field (did you mean "person"?)`},
		{"unknown person field", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-12-07", "salary": "1"`), Options{},
			`event evt-1: /person/salary (person.salary): unknown field (known fields: employee_id, given_name, surname, preferred_name, title, department, manager, email, location, cost_center, start_date, last_day, leave_at)`},
		{"unknown field with a control character", Native, `{"id": "evt-1", "type": "cancel", "person": {"employee_id": "E1", "a\u001bb": ""}}`, Options{},
			`event evt-1: /person (person): unknown field "a\x1bb" (known fields: employee_id, given_name, surname, preferred_name, title, department, manager, email, location, cost_center, start_date, last_day, leave_at)`},
		{"wrong type", Native, withPerson(`"given_name": 42, "surname": "L", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/given_name (person.given_name): must be a string, got a number`},
		{"null", Native, withPerson(`"given_name": null, "surname": "L", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/given_name (person.given_name): must be a string, got null`},
		{"no such month", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-13-01"`), Options{},
			`event evt-1: /person/start_date (person.start_date): must be a date written YYYY-MM-DD, got "2026-13-01"`},
		{"no such day", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-02-30"`), Options{},
			`event evt-1: /person/start_date (person.start_date): must be a date written YYYY-MM-DD, got "2026-02-30"`},
		{"date written otherwise", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "07.12.2026"`), Options{},
			`event evt-1: /person/start_date (person.start_date): must be a date written YYYY-MM-DD, got "07.12.2026"`},
		{"email", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-12-07", "email": "Ada <ada@example.com>"`), Options{},
			`event evt-1: /person/email (person.email): is not an email address: "Ada <ada@example.com>"`},
		{"escape sequence", Native, withPerson(`"given_name": "Ada", "surname": "L\u001b[31m", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/surname (person.surname): must not contain a control character (U+001B at character 2 of the value)`},
		{"bidi override", Native, withPerson(`"given_name": "Ada", "surname": "L", "title": "gnp.exe\u202e", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/title (person.title): must not contain a control character (U+202E at character 8 of the value)`},
		{"line break", Native, withPerson(`"given_name": "Ada\nEve", "surname": "L", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/given_name (person.given_name): must not contain a control character (U+000A at character 4 of the value)`},
		{"too long", Native, withPerson(`"given_name": "` + strings.Repeat("ä", 129) + `", "surname": "L", "start_date": "2026-12-07"`), Options{},
			`event evt-1: /person/given_name (person.given_name): is 129 characters long, more than the 128 allowed`},
		{"hire without names", Native, withPerson(`"title": "x"`), Options{},
			"event evt-1: 3 problems:\n" +
				"  /person/given_name (person.given_name): is required for a hire\n" +
				"  /person/surname (person.surname): is required for a hire\n" +
				"  /person/start_date (person.start_date): is required for a hire"},
		{"change clears a surname", Native, `{"id": "evt-1", "type": "change", "person": {"employee_id": "E1", "surname": ""}}`, Options{},
			`event evt-1: /person/surname (person.surname): must not be empty`},
		{"bad id", Native, `{"id": "evt 1/\u001b", "type": "cancel", "person": {"employee_id": "E1"}}`, Options{},
			`event: /id (id): must be 1 to 128 letters, digits, '.', '_', ':' or '-' (it is the key that finds a redelivery), got "evt 1/\x1b"`},
		{"no id, unknown type", Native, `{"type": "fire", "person": {"employee_id": "../E1"}}`, Options{},
			"event: 3 problems:\n" +
				"  /id (id): is required and must not be empty\n" +
				"  /type (type): must be hire, change, cancel or leave, got \"fire\"\n" +
				"  /person/employee_id (person.employee_id): must be 1 to 64 letters, digits, '.', '_' or '-' (it names steps and files), got \"../E1\""},
		{"header disagrees", Native, hire, Options{EventID: "evt-2", EventType: "hire"},
			`event evt-1: header Onboard-Event-Id: says "evt-2" but the document says "evt-1"`},
		{"workstation", Native, `{"id": "evt-1", "type": "cancel", "person": {"employee_id": "E1"}, "workstation": "-ws 2"}`, Options{},
			`event evt-1: /workstation (workstation): must be an inventory host name (letters, digits, '.', '_', '-'; at most 253), got "-ws 2"`},
		{"no person", Native, `{"id": "evt-1", "type": "hire"}`, Options{},
			`event evt-1: /person (person): is required`},
		{"person not an object", Native, `{"id": "evt-1", "type": "hire", "person": ["E1"]}`, Options{},
			`event evt-1: /person (person): must be an object, got a list`},
		{"occurred_at", Native, `{"id": "evt-1", "type": "cancel", "occurred_at": "yesterday", "person": {"employee_id": "E1"}}`, Options{},
			`event evt-1: /occurred_at (occurred_at): must be a time written as RFC 3339 (2026-11-20T09:00:00Z), got "yesterday"`},
		{"not an object", Native, `[1, 2]`, Options{}, `event: must be an object, got a list`},
		{"unknown format", "csv", hire, Options{}, `event: unknown format "csv" (known: native, workday, bamboohr, personio)`},

		{"workday without headers", Workday, `{"Worker": {"Worker_ID": "21001"}}`, Options{},
			"event: 2 problems:\n" +
				"  header Onboard-Event-Id: is required: a workday document carries no event id\n" +
				"  header Onboard-Event-Type: is required: a workday document carries no event type"},
		{"workday wrong types", Workday, `{"Worker": {"Worker_ID": "21001", "Personal_Data": {"Legal_Name_Data": {"First_Name": 7, "Last_Name": "L"}, "Contact_Data": "x"}, "Hire_Date": "2026-12-07"}}`,
			Options{EventID: "wd-1", EventType: "hire"},
			"event wd-1: 2 problems:\n" +
				"  /Worker/Personal_Data/Legal_Name_Data/First_Name (Worker.Personal_Data.Legal_Name_Data.First_Name): must be a string, got a number\n" +
				"  /Worker/Personal_Data/Contact_Data (Worker.Personal_Data.Contact_Data): must be an object, got a string"},
		{"workday bad header type", Workday, `{"Worker": {"Worker_ID": "21001"}}`, Options{EventID: "wd-1", EventType: "rehire"},
			`event wd-1: header Onboard-Event-Type: must be hire, change, cancel or leave, got "rehire"`},
		{"workday hire date", Workday, `{"Worker": {"Worker_ID": "21001", "Personal_Data": {"Legal_Name_Data": {"First_Name": "A", "Last_Name": "L"}}, "Hire_Date": "12/07/2026"}}`,
			Options{EventID: "wd-1", EventType: "hire"},
			`event wd-1: /Worker/Hire_Date (Worker.Hire_Date): must be a date written YYYY-MM-DD, got "12/07/2026" (read as person.start_date)`},
		{"bamboohr action", BambooHR, `{"employees": [{"id": "1", "action": "Hired", "timestamp": "2026-11-20T09:00:00+00:00", "fields": {}}]}`, Options{},
			`event bamboohr:1:1795165200: /employees/0/action (employees[0].action): must be Created, Updated or Deleted, got "Hired"`},
		{"bamboohr hire without a surname", BambooHR, `{"employees": [{"id": "1", "action": "Created", "timestamp": "2026-11-20T09:00:00Z", "fields": {"firstName": "A", "lastName": "", "hireDate": "2026-12-07"}}]}`, Options{},
			`event bamboohr:1:1795165200: /employees/0/fields/lastName (employees[0].fields.lastName): is required for a hire (read as person.surname)`},
		{"bamboohr without timestamp", BambooHR, `{"employees": [{"id": "1", "action": "Deleted"}]}`, Options{},
			`event: /employees/0/timestamp (employees[0].timestamp): is required`},
		{"bamboohr empty", BambooHR, `{"employees": []}`, Options{}, `event: /employees (employees): holds no employee`},
		{"bamboohr batch to Decode", BambooHR, `{"employees": [{"id": "1", "action": "Deleted", "timestamp": "2026-11-20T09:00:00Z"}, {"id": "2", "action": "Deleted", "timestamp": "2026-11-20T09:00:00Z"}]}`, Options{},
			`event: holds 2 events where one was expected`},
		{"personio event", Personio, `{"event": "employee.hired", "id": "p-1", "data": {"attributes": {"id": {"value": 1}}}}`, Options{},
			`event p-1: /event (event): must be employee.created, employee.updated or employee.deleted, got "employee.hired"`},
		{"personio api response without headers", Personio, `{"success": true, "data": {"type": "Employee", "attributes": {"id": {"value": 1}}}}`, Options{},
			"event: 2 problems:\n" +
				"  header Onboard-Event-Id: is required: a personio document carries no event id\n" +
				"  header Onboard-Event-Type: is required: a personio document carries no event type"},
		{"personio wrong shapes", Personio, `{"event": "employee.updated", "id": "p-1", "data": {"attributes": {"id": {"value": 1.5}, "office": {"value": "Berlin"}, "cost_centers": {"value": [{"attributes": {}}]}, "hire_date": {"value": "tomorrow"}}}}`, Options{},
			"event p-1: 4 problems:\n" +
				"  /data/attributes/id/value (data.attributes.id.value): must be a string or a whole number, got a number\n" +
				"  /data/attributes/office/value (data.attributes.office.value): must be an object, got a string\n" +
				"  /data/attributes/cost_centers/value/0/attributes/name (data.attributes.cost_centers.value[0].attributes.name): is required\n" +
				"  /data/attributes/hire_date/value (data.attributes.hire_date.value): must be a date written YYYY-MM-DD, got \"tomorrow\" (read as person.start_date)"},
		{"leave without last day", Native, `{"id": "evt-1", "type": "leave", "person": {"employee_id": "E1", "leave_at": "17:00"}}`, Options{},
			`event evt-1: /person/last_day (person.last_day): is required for a leave`},
		{"leave with an empty last day", Native, `{"id": "evt-1", "type": "leave", "person": {"employee_id": "E1", "last_day": ""}}`, Options{},
			`event evt-1: /person/last_day (person.last_day): is required for a leave and must not be empty`},
		{"leave on no such day, at no such time", Native, `{"id": "evt-1", "type": "leave", "person": {"employee_id": "E1", "last_day": "2027-02-29", "leave_at": "24:00"}}`, Options{},
			"event evt-1: 2 problems:\n" +
				"  /person/last_day (person.last_day): must be a date written YYYY-MM-DD, got \"2027-02-29\"\n" +
				"  /person/leave_at (person.leave_at): must be a local time written HH:MM (00:00 to 23:59), got \"24:00\""},
		{"leave time as a date-time", Native, `{"id": "evt-1", "type": "leave", "person": {"employee_id": "E1", "last_day": "2027-03-31", "leave_at": "2027-03-31T17:00:00Z"}}`, Options{},
			`event evt-1: /person/leave_at (person.leave_at): is 20 characters long, more than the 5 allowed`},
		{"last day in a hire", Native, withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-12-07", "last_day": "2027-03-31"`), Options{},
			`event evt-1: /person/last_day (person.last_day): belongs to a leave event only, not to a hire`},
		{"leave time in a change", Native, `{"id": "evt-1", "type": "change", "person": {"employee_id": "E1", "leave_at": "17:00"}}`, Options{},
			`event evt-1: /person/leave_at (person.leave_at): belongs to a leave event only, not to a change`},
		{"workday leave with the no-date date", Workday, `{"Worker": {"Worker_ID": "21001", "Termination_Date": "0000-00-00"}}`, Options{EventID: "wd-1", EventType: "leave"},
			`event wd-1: /Worker/Termination_Date (Worker.Termination_Date): is required for a leave (read as person.last_day)`},
		{"workday leave, no date at all", Workday, `{"Worker": {"Worker_ID": "21001"}}`, Options{EventID: "wd-1", EventType: "leave"},
			`event wd-1: /Worker/Termination_Date (Worker.Termination_Date): is required for a leave (read as person.last_day)`},
		{"bamboohr termination date in a hire", BambooHR, `{"employees": [{"id": "9", "action": "Created", "timestamp": "2027-03-01T10:00:00+00:00", "fields": {"firstName": "A", "lastName": "B", "hireDate": "2027-03-01", "terminationDate": "2027-03-31"}}]}`, Options{},
			`event bamboohr:9:1803895200: /employees/0/fields/terminationDate (employees[0].fields.terminationDate): belongs to a leave event only, not to a hire (read as person.last_day)`},
		{"personio termination date not a date", Personio, `{"event": "employee.updated", "id": "p-1", "data": {"attributes": {"id": {"value": 1}, "termination_date": {"value": "31.03.2027"}}}}`, Options{},
			`event p-1: /data/attributes/termination_date/value (data.attributes.termination_date.value): must be a date written YYYY-MM-DD, got "31.03.2027" (read as person.last_day)`},
		{"personio header says change, the document a leave", Personio, `{"event": "employee.updated", "id": "p-1", "data": {"attributes": {"id": {"value": 1}, "termination_date": {"value": "2027-03-31"}}}}`, Options{EventType: "change"},
			`event p-1: header Onboard-Event-Type: says "change" but the document says "leave"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := Decode(tc.format, []byte(tc.body), tc.opt)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", ev)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
