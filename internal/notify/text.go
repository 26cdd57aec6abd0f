package notify

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"text/template"
)

//go:embed templates
var templatesFS embed.FS

var (
	textTmpl = template.Must(template.New("mail.txt").Funcs(template.FuncMap{"indent": indent}).ParseFS(templatesFS, "templates/mail.txt"))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("mail.html").ParseFS(templatesFS, "templates/mail.html"))
)

// Text is the notification as plain text: the email's text part and the
// body of chat messages.
func Text(p Payload) (string, error) {
	var b bytes.Buffer
	if err := textTmpl.Execute(&b, p); err != nil {
		return "", err
	}
	// The template's optional blocks leave runs of blank lines: one is enough.
	return blankRuns.ReplaceAllString(strings.TrimSpace(b.String()), "\n\n") + "\n", nil
}

// HTML is the notification as an HTML page: the email's HTML part. Every
// value is escaped (html/template).
func HTML(p Payload) (string, error) {
	var b bytes.Buffer
	if err := htmlTmpl.Execute(&b, p); err != nil {
		return "", err
	}
	return b.String(), nil
}

var blankRuns = regexp.MustCompile(`\n{3,}`)

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
