package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"onboard/internal/result"
	"strconv"
	"strings"

	"onboard/internal/inventory"
	"onboard/internal/secret"
)

// Chat posts to a Slack or Microsoft Teams incoming webhook, in the body
// each accepts: Slack's blocks (with a text fallback), Teams' message with
// an Adaptive Card (what Teams workflows' "post to a channel when a webhook
// request is received" takes). The URL is the credential.
type Chat struct {
	Format string // slack or teams
	URL    secret.Value
	Client *http.Client
}

// Send posts m.
func (c *Chat) Send(ctx context.Context, m Message) error {
	body, err := ChatBody(c.Format, m.Payload)
	if err != nil {
		return Permanent(err)
	}
	return post(ctx, c.Client, http.MethodPost, c.URL.Reveal(), http.Header{}, body)
}

// fact is one name and value of a chat message.
type fact struct{ name, value string }

func facts(p Payload) []fact {
	fs := []fact{{"Hire", p.Hire.Name + " (" + p.Hire.ID + ")"}}
	if p.Hire.Host != "" {
		fs = append(fs, fact{"Machine", p.Hire.Host})
	}
	if f := p.Failure; f != nil {
		fs = append(fs, fact{"Failed step", f.Step})
		if f.Command != "" {
			fs = append(fs, fact{"Command", f.Command}, fact{"Exit code", strconv.Itoa(f.ExitCode)})
		}
		fs = append(fs, fact{"Error", f.Message})
	}
	if p.Resume != "" {
		fs = append(fs, fact{"Resume", p.Resume})
	}
	fs = append(fs, fact{"Run", p.Run})
	if p.Trigger != "" {
		fs = append(fs, fact{"Event", p.Trigger})
	}
	if p.Note != "" {
		fs = append(fs, fact{"Note", p.Note})
	}
	return fs
}

// lists are the payload's lists as titled lines.
func lists(p Payload) []fact {
	var out []fact
	for _, l := range []struct {
		title string
		items []string
	}{{"Done", p.Done}, {"Not done", p.NotDone}, {"Left to do by hand", p.Manual}, {"No longer in place", p.Drift}} {
		if len(l.items) > 0 {
			out = append(out, fact{l.title, "• " + strings.Join(l.items, "\n• ")})
		}
	}
	return out
}

// ChatBody is the JSON body for format (slack or teams).
func ChatBody(format string, p Payload) ([]byte, error) {
	switch format {
	case inventory.ChannelSlack:
		return json.MarshalIndent(slackBody(p), "", "  ")
	case inventory.ChannelTeams:
		return json.MarshalIndent(teamsBody(p), "", "  ")
	}
	return nil, fmt.Errorf("unknown chat format %q", format)
}

type obj = map[string]any

// known is the knowledge-base article that answers the failure, if any.
func known(p Payload) *result.Known {
	if p.Failure == nil {
		return nil
	}
	return p.Failure.Known
}

// slackLink is the article's link on a line of its own, as Slack shows a
// bare URL (escaped like any text: the link is data).
func slackLink(link string) string {
	if link == "" {
		return ""
	}
	return "\n" + slackEscape(link)
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackBody(p Payload) obj {
	var fields []any
	for _, f := range facts(p) {
		fields = append(fields, obj{"type": "mrkdwn", "text": "*" + f.name + "*\n" + slackEscape(f.value)})
	}
	blocks := []any{
		obj{"type": "header", "text": obj{"type": "plain_text", "text": truncate(p.Summary, 150)}},
	}
	// Slack allows at most 10 fields per section.
	for len(fields) > 0 {
		n := min(len(fields), 10)
		blocks = append(blocks, obj{"type": "section", "fields": fields[:n]})
		fields = fields[n:]
	}
	if f := p.Failure; f != nil && f.Output != "" {
		blocks = append(blocks, obj{"type": "section", "text": obj{"type": "mrkdwn",
			"text": "*Output (last lines)*\n```" + slackEscape(truncate(f.Output, 2800)) + "```"}})
	}
	if k := known(p); k != nil {
		blocks = append(blocks, obj{"type": "section", "text": obj{"type": "mrkdwn",
			"text": "*Known failure: " + slackEscape(k.Title) + "*\n" + slackEscape(truncate(k.Fix, 2500)) + slackLink(k.Link)}})
	}
	for _, l := range lists(p) {
		blocks = append(blocks, obj{"type": "section", "text": obj{"type": "mrkdwn", "text": "*" + l.name + "*\n" + slackEscape(truncate(l.value, 2900))}})
	}
	return obj{"text": p.Summary, "blocks": blocks}
}

func teamsBody(p Payload) obj {
	var fs []any
	for _, f := range facts(p) {
		fs = append(fs, obj{"title": f.name, "value": f.value})
	}
	body := []any{
		obj{"type": "TextBlock", "text": p.Summary, "weight": "Bolder", "size": "Medium", "wrap": true},
		obj{"type": "FactSet", "facts": fs},
	}
	if f := p.Failure; f != nil && f.Output != "" {
		body = append(body, obj{"type": "TextBlock", "text": "Output (last lines)", "weight": "Bolder", "wrap": true},
			obj{"type": "TextBlock", "text": f.Output, "fontType": "Monospace", "wrap": true})
	}
	if k := known(p); k != nil {
		text := k.Fix
		if k.Link != "" {
			text += "\n\n" + k.Link
		}
		body = append(body, obj{"type": "TextBlock", "text": "Known failure: " + k.Title, "weight": "Bolder", "wrap": true},
			obj{"type": "TextBlock", "text": text, "wrap": true})
	}
	for _, l := range lists(p) {
		body = append(body, obj{"type": "TextBlock", "text": l.name, "weight": "Bolder", "wrap": true},
			obj{"type": "TextBlock", "text": l.value, "wrap": true})
	}
	card := obj{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
	return obj{"type": "message", "summary": p.Summary,
		"attachments": []any{obj{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + strings.ToValidUTF8(s[len(s)-n:], "")
}
