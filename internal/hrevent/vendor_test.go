package hrevent

import "testing"

func TestVendorDate(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-07":                "2026-12-07",
		"2026-12-07T00:00:00+01:00": "2026-12-07", // Personio: the date as written, not as UTC
		"2026-12-07T23:30:00-08:00": "2026-12-07",
		"2026-12-07-08:00":          "2026-12-07", // Workday's xsd:date with a zone
		"2026-12-07+01:00":          "2026-12-07",
		"2026-12-07Z":               "2026-12-07",
		"0000-00-00":                "", // BambooHR: no date
		"2026-12-07T25:00:00Z":      "2026-12-07T25:00:00Z",
		"2026-12-07 09:00":          "2026-12-07 09:00",
		"2026-12-07-8":              "2026-12-07-8",
		"12/07/2026":                "12/07/2026",
		"":                          "",
	} {
		if got := vendorDate(in); got != want {
			t.Errorf("vendorDate(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVendorNulls: a vendor's null is an empty value, also where an object
// was expected (no department, no supervisor), and an empty name is "not
// given".
func TestVendorNulls(t *testing.T) {
	body := `{"event": "employee.updated", "id": "p-2", "data": {"attributes": {
		"id": {"value": "4711"}, "first_name": {"value": null},
		"department": {"value": null}, "office": {"value": {"attributes": {"name": null}}},
		"cost_centers": {"value": null}, "supervisor": {"value": null}}}}`
	ev, err := Decode(Personio, []byte(body), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Person
	if p.GivenName != nil {
		t.Errorf("given_name = %q, want not given", *p.GivenName)
	}
	for name, v := range map[string]*string{"department": p.Department, "location": p.Location, "cost_center": p.CostCenter, "manager": p.Manager} {
		if v == nil || *v != "" {
			t.Errorf("%s = %v, want a pointer to \"\" (cleared)", name, v)
		}
	}
}
