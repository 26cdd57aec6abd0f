package schema

// Notifications (docs/notifications.md): the inventory's notify section
// and the rules of playbooks and profiles. Kept in a file of their own.
func init() {
	events := []string{"handover-ready", "failure", "human-task", "drift"}
	for k, v := range map[string]sch{
		"playbook.NotifyRule.on":           {"items": enum(events)},
		"playbook.NotifyRule.to":           {"items": pattern(`^(manager|on-duty|team:[A-Za-z0-9][A-Za-z0-9._-]*|[^@\s]+@[^@\s]+)$`, "must be manager, on-duty, team:NAME or an email address")},
		"playbook.NotifyRule.via":          {"items": pattern(namePattern, "must name a channel of the inventory's notify.channels")},
		"inventory.Notify.on_duty":         {"format": "email"},
		"inventory.NotifyChannel.kind":     enum([]string{"email", "webhook", "slack", "teams", "ticket"}),
		"inventory.NotifyChannel.tls":      enum([]string{"starttls", "implicit"}),
		"inventory.NotifyChannel.method":   enum([]string{"POST", "PUT", "PATCH"}),
		"inventory.NotifyChannel.password": refRule,
		"inventory.NotifyChannel.key":      refRule,
		"inventory.NotifyChannel.token":    refRule,
		"inventory.NotifyChannel.from":     {"format": "email"},
		"inventory.NotifyChannel.port":     {"minimum": 1, "maximum": 65535},
		"inventory.NotifyChannel.timeout":  pattern(durationPattern, "must be a duration such as 15s"),
		"inventory.Notify.channels":        {"propertyNames": pattern(namePattern, "channel names are letters, digits, '.', '_' or '-'")},
		"inventory.Notify.teams":           {"propertyNames": pattern(namePattern, "team names are letters, digits, '.', '_' or '-'")},
	} {
		fieldRules[k] = v
	}
	for k, v := range map[string]string{
		"playbook.Playbook.notify":         "Notification rules of this hire, after the profile's: on which events (handover-ready, failure, human-task, drift) who learns of it (manager, on-duty, team:NAME, an address) through which of the inventory's channels (docs/notifications.md).",
		"playbook.Profile.notify":          "Notification rules every hire of this role gets (docs/notifications.md).",
		"playbook.NotifyRule.on":           "The events: handover-ready (every step done and re-checked), failure (a step failed or a host was unreachable), human-task (tasks left to do by hand), drift (an audit found a step no longer in place).",
		"playbook.NotifyRule.to":           "The recipients: manager (the hire's, through the inventory's notify.manager_email), on-duty (the inventory's notify.on_duty), team:NAME (notify.teams), or an email address.",
		"playbook.NotifyRule.via":          "The channels, by their name in the inventory's notify.channels.",
		"inventory.File.notify":            "Where notifications go: channels (email, webhook, slack, teams, ticket) with credentials as references, and the addresses rules' recipients stand for (docs/notifications.md).",
		"inventory.Notify.on_duty":         "The address of the technician on duty (the recipient on-duty).",
		"inventory.Notify.manager_email":   "Makes the manager's address from person.manager, a template such as ${person.manager}@corp.example.test; a manager written as an address is used as it is.",
		"inventory.Notify.teams":           "Team addresses by name (the recipient team:NAME).",
		"inventory.Notify.channels":        "Notification channels by name, as rules' via names them.",
		"inventory.Notify.default_rules":   "Rules for a hire whose own rules cannot be read: under onboard serve, a hire whose plan cannot be built because its profile is missing or does not load; only failure applies (docs/notifications.md).",
		"inventory.NotifyChannel.kind":     "email (SMTP), webhook (signed JSON), slack or teams (incoming webhooks), ticket (a REST call whose body is a template).",
		"inventory.NotifyChannel.host":     "email: the SMTP server.",
		"inventory.NotifyChannel.port":     "email: the server's port (default 587 with starttls, 465 with implicit).",
		"inventory.NotifyChannel.tls":      "email: starttls (default; required, never skipped) or implicit (TLS from the first byte). Mail is never sent unencrypted.",
		"inventory.NotifyChannel.ca_cert":  "email: the CA that signed the server's certificate, relative to this file (default: the system's CAs).",
		"inventory.NotifyChannel.username": "email: the SMTP login; ticket: the HTTP Basic user.",
		"inventory.NotifyChannel.password": "email: the SMTP password; ticket: the HTTP Basic password. A reference: env:NAME, file:PATH or cmd:COMMAND.",
		"inventory.NotifyChannel.from":     "email: the sender's address.",
		"inventory.NotifyChannel.url":      "webhook and ticket: where the request goes. slack and teams: a reference to the incoming webhook's URL (the URL is the credential).",
		"inventory.NotifyChannel.key":      "webhook: a reference to the HMAC key; requests carry Onboard-Timestamp and Onboard-Signature as onboard's own HR intake verifies them.",
		"inventory.NotifyChannel.token":    "ticket: a reference to a bearer token.",
		"inventory.NotifyChannel.method":   "ticket: POST (default), PUT or PATCH.",
		"inventory.NotifyChannel.template": "ticket: the request body, a Go text/template file relative to this file (docs/notifications.md has ServiceNow and Jira examples).",
		"inventory.NotifyChannel.timeout":  "How long one delivery attempt may take (default 15s).",
	} {
		descriptions[k] = v
	}
}
