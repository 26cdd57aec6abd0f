package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"onboard/internal/folder"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// ErrNotReady: a welcome sheet is only made for a hire ready for handover.
var ErrNotReady = errors.New("not ready for handover: no welcome sheet is written")

// welcomeView is what a welcome sheet shows, every string made visible
// (control characters as escapes) and scrubbed of known secrets; the
// formats escape it for their markup.
type welcomeView struct {
	Name, Username, Email, Title, Department, Host, StartDate string
	// PasswordHow says how the initial password reaches the hire; Password
	// is set only when the playbook names the sheet as its channel.
	PasswordHow string
	Password    string
	MustChange  bool
	Software    []welcomeLine
	Printers    []welcomeLine
	Helpdesk    *plan.Helpdesk
	FirstLogin  []string
	Contact     string
	Notes       string
}

type welcomeLine struct{ Name, Detail string }

// newWelcomeView gathers hire h's sheet from the plan and the run that
// proved it: the software versions are those the handover re-check found.
func newWelcomeView(p *plan.Plan, h plan.Hire, res *result.Run) (*welcomeView, error) {
	w := h.Handover.Welcome
	if w == nil {
		return nil, fmt.Errorf("%s: the plan has no welcome sheet for hire %s", h.Source, h.ID)
	}
	if res == nil {
		return nil, errNoRun
	}
	if !res.Ready(h.ID) {
		return nil, fmt.Errorf("hire %s: %w", h.ID, ErrNotReady)
	}
	show := func(s string) string { return visible(strings.TrimSpace(secret.Scrub(s))) }
	v := &welcomeView{Name: show(h.Name), Username: show(h.Username), Email: show(h.Email), Title: show(h.Title),
		Department: show(h.Department), Host: show(h.Host), StartDate: show(h.StartDate),
		Contact: show(h.Handover.Contact), Notes: show(h.Handover.Notes)}
	for _, l := range strings.Split(strings.TrimSpace(w.FirstLogin), "\n") {
		v.FirstLogin = append(v.FirstLogin, show(l))
	}
	if hd := w.Helpdesk; hd != nil {
		v.Helpdesk = &plan.Helpdesk{Name: show(hd.Name), Email: show(hd.Email), Phone: show(hd.Phone), URL: show(hd.URL), Hours: show(hd.Hours)}
	}
	checked := map[string]result.Step{}
	for _, s := range res.Handover {
		checked[s.ID] = s
	}
	for _, it := range w.Software {
		s := p.Step(it.Step)
		if s == nil {
			return nil, fmt.Errorf("hire %s: welcome sheet: no step %s in the plan", h.ID, it.Step)
		}
		v.Software = append(v.Software, welcomeLine{Name: show(it.Display), Detail: show(installedVersion(s, checked[s.ID]))})
	}
	for _, it := range w.Printers {
		v.Printers = append(v.Printers, welcomeLine{Name: show(it.Display), Detail: show(it.Detail)})
	}
	for _, s := range p.Steps {
		if s.Hire != h.ID || s.Activate == nil {
			continue
		}
		v.MustChange = s.Activate.MustChangePassword
		if s.Activate.Deliver == "terminal" {
			v.PasswordHow = "Your technician gave you your initial password in person when your account was set up. It is not written on this sheet."
		} else {
			v.PasswordHow = "Your technician hands you your initial password separately. It is not written on this sheet."
		}
		if w.Password == "sheet" {
			pw, err := readPassword(s.Activate)
			if err != nil {
				return nil, fmt.Errorf("hire %s: welcome sheet (password: sheet): %w", h.ID, err)
			}
			v.Password, v.PasswordHow = pw, ""
		}
	}
	return v, nil
}

// installedVersion is the version the handover re-check found installed:
// the package step's check says "PACKAGE VERSION is installed". When the
// check said something else, the catalogue's version (which the check
// matched) stands in.
func installedVersion(s *plan.Step, checked result.Step) string {
	var name, want string
	switch {
	case s.Package != nil:
		name, want = s.Package.Package, s.Package.Version
	case s.WinSoftware != nil:
		name, want = s.WinSoftware.Name, s.WinSoftware.Version
	}
	if checked.Outcome.Done() {
		if rest, ok := strings.CutPrefix(checked.Reason, name+" "); ok {
			if v, ok := strings.CutSuffix(rest, " is installed"); ok && v != "" && !strings.ContainsAny(v, " \n") {
				return v
			}
		}
	}
	return want
}

// readPassword reads the initial password back from its password file,
// beneath the folder it was confined to, for a sheet that is its channel.
func readPassword(a *plan.ActivateSpec) (string, error) {
	path, ok := strings.CutPrefix(a.Deliver, "file:")
	if !ok {
		return "", fmt.Errorf("the password is delivered to %s, not a file it can be read from", a.Deliver)
	}
	root := a.DeliverRoot
	if root == "" {
		root = filepath.Dir(path)
	}
	b, err := folder.ReadFile(root, path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the password file %s is gone (handed over and removed?): a sheet with the password is made only while it exists", path)
	}
	if err != nil {
		return "", fmt.Errorf("read the password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// RenderWelcome is hire h's welcome sheet in the format path names (.md,
// or .html): for a hire the run made ready for handover only.
func RenderWelcome(path string, p *plan.Plan, h plan.Hire, res *result.Run) ([]byte, error) {
	v, err := newWelcomeView(p, h, res)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		err = writeWelcomeMarkdown(&buf, v)
	case ".html", ".htm":
		err = welcomeTemplate.Execute(&buf, v)
	default:
		return nil, fmt.Errorf("welcome sheet %s: unknown extension %q (use .md or .html)", path, filepath.Ext(path))
	}
	if err != nil {
		return nil, fmt.Errorf("welcome sheet %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// WriteWelcome writes hire h's welcome sheet beneath the allowed folder the
// plan confined it to, as WriteHandover writes a report. A sheet with the
// password on it is written 0600, as the password file is, and never
// replaces a different file.
func WriteWelcome(p *plan.Plan, h plan.Hire, path string, res *result.Run) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(h.Source), path)
	}
	root := folder.Set(p.Writable).Root(path)
	if root == "" {
		return fmt.Errorf("%s: welcome sheet %s is outside the folders the plan may write to (%s)", h.Source, path, folder.Set(p.Writable))
	}
	b, err := RenderWelcome(path, p, h, res)
	if err != nil {
		return err
	}
	withPassword := h.Handover.Welcome.Password == "sheet"
	st, err := folder.Lstat(root, path)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("welcome sheet %s: %w", path, err)
	case err == nil && withPassword:
		if old, rerr := folder.ReadFile(root, path); rerr == nil && bytes.Equal(old, b) {
			return nil // written by an earlier run, unchanged
		}
		return fmt.Errorf("%s: welcome sheet %s exists and this one holds a password: onboard never replaces it; move it away and run again", h.Source, path)
	case err == nil && (!st.Mode().IsRegular() || st.Mode().Perm() == 0o600):
		return fmt.Errorf("%s: welcome sheet %s would replace a file that is not a report (%s)", h.Source, path, st.Mode())
	}
	if withPassword {
		err = folder.CreateNew(root, path, b, 0o600, 0o700)
	} else {
		err = folder.Replace(root, path, b, 0o644, 0o755)
	}
	if err != nil {
		return fmt.Errorf("welcome sheet %s: %w", path, err)
	}
	return nil
}

// WriteWelcomes writes the welcome sheets of every hire the run made ready
// for handover, and returns the ids of the hires that asked for one and are
// not ready (they get none), with every write failure.
func WriteWelcomes(p *plan.Plan, res *result.Run) (notReady []string, err error) {
	var errs []error
	for _, h := range p.Hires {
		if h.Handover.Welcome == nil || len(h.Handover.Welcome.Sheets) == 0 {
			continue
		}
		if !res.Ready(h.ID) {
			notReady = append(notReady, h.ID)
			continue
		}
		for _, path := range h.Handover.Welcome.Sheets {
			if err := WriteWelcome(p, h, path, res); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return notReady, errors.Join(errs...)
}

//go:embed welcome.tmpl
var welcomeSource string

var welcomeTemplate = template.Must(template.New("welcome").Parse(welcomeSource))

func writeWelcomeMarkdown(w io.Writer, v *welcomeView) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "# Welcome, %s\n\n", mdText(v.Name))
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	mdRow(b, "Name", mdText(v.Name))
	mdRow(b, "Username", mdCode(v.Username))
	mdRow(b, "Email", mdText(v.Email))
	mdRow(b, "Title", mdText(v.Title))
	mdRow(b, "Department", mdText(v.Department))
	mdRow(b, "Machine", mdText(v.Host))
	mdRow(b, "Start date", mdText(v.StartDate))

	fmt.Fprintf(b, "\n## Your first sign-in\n\n")
	for _, l := range v.FirstLogin {
		if l = mdText(l); l != "" {
			fmt.Fprintf(b, "- %s\n", l)
		}
	}
	if v.Password != "" {
		fmt.Fprintf(b, "\n**Initial password:** %s\n", mdCode(v.Password))
	} else if v.PasswordHow != "" {
		fmt.Fprintf(b, "\n%s\n", mdText(v.PasswordHow))
	}
	if v.MustChange && (v.Password != "" || v.PasswordHow != "") {
		fmt.Fprintf(b, "You must choose a new password when you first sign in.\n")
	}
	if len(v.Software) > 0 {
		fmt.Fprintf(b, "\n## Your software\n\n| Software | Version |\n|---|---|\n")
		for _, s := range v.Software {
			fmt.Fprintf(b, "| %s | %s |\n", mdText(s.Name), mdText(s.Detail))
		}
	}
	if len(v.Printers) > 0 {
		fmt.Fprintf(b, "\n## Your printers\n\n| Printer | Where |\n|---|---|\n")
		for _, s := range v.Printers {
			fmt.Fprintf(b, "| %s | %s |\n", mdCode(s.Name), mdText(s.Detail))
		}
	}
	if hd := v.Helpdesk; hd != nil {
		fmt.Fprintf(b, "\n## Where to get help\n\n")
		for _, r := range [][2]string{{"Helpdesk", hd.Name}, {"Email", hd.Email}, {"Phone", hd.Phone}, {"Web", hd.URL}, {"Hours", hd.Hours}} {
			if r[1] != "" {
				fmt.Fprintf(b, "- %s: %s\n", r[0], mdText(r[1]))
			}
		}
	}
	if v.Contact != "" || v.Notes != "" {
		fmt.Fprintf(b, "\n## From your technician\n\n")
		if v.Contact != "" {
			fmt.Fprintf(b, "Contact: %s\n", mdCell(v.Contact))
		}
		if v.Notes != "" {
			if v.Contact != "" {
				fmt.Fprintln(b)
			}
			fmt.Fprintf(b, "%s\n", mdParagraphs(v.Notes))
		}
	}
	return b.Flush()
}

// WriteBytes writes data to path whole or not at all, mode 0644, as
// WriteFile writes a report.
func WriteBytes(path string, data []byte) error { return writeAtomic(path, data, 0o644) }
