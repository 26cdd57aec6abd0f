package hrevent

// Workday: one worker as a Workday integration (an EIB or Studio
// outbound message) exports it in JSON, after the Worker element of the
// Get_Workers web service, cut down to what onboard reads:
//
//	{"Worker": {
//	  "Worker_ID": "21001",                                   person.employee_id
//	  "Personal_Data": {
//	    "Legal_Name_Data": {"First_Name": …, "Last_Name": …},  person.given_name, person.surname
//	    "Preferred_Name_Data": {"First_Name": …},              person.preferred_name
//	    "Contact_Data": {"Email_Address": …}},                 person.email
//	  "Position_Data": {
//	    "Business_Title": …,                                   person.title
//	    "Location": …,                                         person.location
//	    "Manager_ID": …},                                      person.manager (the manager's Worker_ID)
//	  "Organization_Data": {
//	    "Supervisory_Organization": …,                         person.department
//	    "Cost_Center": …},                                     person.cost_center
//	  "Hire_Date": "2026-12-07",                               person.start_date
//	  "Termination_Date": "2027-03-31"}}                       person.last_day (a leave only)
//
// The document carries neither an event id nor a type: both come from the
// Onboard-Event-Id and Onboard-Event-Type headers, which the integration
// sets (the business process event's id and hire, change, cancel, or leave
// for a Terminate Employee business process, whose Termination_Date is the
// last day of work).
// Other fields are ignored, as a tenant's export carries many.
var workdayFields = []mapping{
	{"employee_id", []string{"Worker_ID"}},
	{"given_name", []string{"Personal_Data", "Legal_Name_Data", "First_Name"}},
	{"surname", []string{"Personal_Data", "Legal_Name_Data", "Last_Name"}},
	{"preferred_name", []string{"Personal_Data", "Preferred_Name_Data", "First_Name"}},
	{"email", []string{"Personal_Data", "Contact_Data", "Email_Address"}},
	{"title", []string{"Position_Data", "Business_Title"}},
	{"location", []string{"Position_Data", "Location"}},
	{"manager", []string{"Position_Data", "Manager_ID"}},
	{"department", []string{"Organization_Data", "Supervisory_Organization"}},
	{"cost_center", []string{"Organization_Data", "Cost_Center"}},
	{"start_date", []string{"Hire_Date"}},
	{"last_day", []string{"Termination_Date"}},
}

func decodeWorkday(d *dec, root *node, opt Options) []*draft {
	var top path
	if !d.object(root, top) {
		return nil
	}
	w, p := root.get("Worker"), top.key("Worker")
	if w == nil {
		d.fail(p, "is required")
		return nil
	}
	if !d.object(w, p) {
		return nil
	}
	dr := newDraft()
	d.takeAll(dr, w, p, workdayFields)
	d.fromHeaders(dr, opt, nil, nil, false, false)
	return []*draft{dr}
}
