package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// hostileName is person data as HR might send it: Markdown that would be
// a javascript: link, a table cell's end, a script element, backticks, a
// terminal escape and a bidirectional override.
const hostileName = "*[x](javascript:alert(1))* | <script>alert('n')</script> `rm -rf` \x1b[31mred\u202e"

// welcomePassword is the test's initial password: on no sheet unless the
// playbook names the sheet as its channel.
const welcomePassword = "Welcome-Test-Pw-7q!x"

// welcomePlan is one hire with a welcome sheet: a directory account whose
// password is delivered to a file in dir, a package and a printer on ws6.
func welcomePlan(dir string) *plan.Plan {
	h := plan.Hire{
		ID: "E9", Source: filepath.Join(dir, "hire.yaml"), Name: hostileName, Username: "nx`|user",
		Email: "n.x@example.test", Title: "<b>Boss</b> | **CEO**", Department: "R&D [dept](http://evil.test)",
		StartDate: "2026-12-01", Host: "ws6",
		Handover: plan.Handover{Contact: "Tech <tech@example.test>", Notes: "Dock is on the desk.\n_Have fun_ # not a heading",
			Welcome: &plan.Welcome{
				Sheets: []string{filepath.Join(dir, "welcome.md"), filepath.Join(dir, "welcome.html")},
				OS:     "linux", FirstLogin: "Sign in with your *username*.\nChoose a new password.",
				Helpdesk: &plan.Helpdesk{Name: "IT Service Desk", Email: "help@example.test", Phone: "+49 30 1234-0",
					URL: "https://help.example.test/new?x=1&y=2", Hours: "Mon-Fri 8-18"},
				Software: []plan.WelcomeItem{{Step: "E9:package:acme-chat", Display: "Acme Chat | messenger"}},
				Printers: []plan.WelcomeItem{{Step: "E9:printer:Solo", Display: "Solo", Detail: "2nd floor, <room> 2.14"}},
			}},
	}
	return &plan.Plan{Version: 1, Writable: []string{dir}, Hires: []plan.Hire{h},
		Steps: []*plan.Step{
			{ID: "E9:activate:nx", Kind: plan.KindActivate, Hire: "E9", Directory: "corp",
				Activate: &plan.ActivateSpec{Username: "nx", MustChangePassword: true, Deliver: "file:" + filepath.Join(dir, "pw.txt"), DeliverRoot: dir}},
			{ID: "E9:package:acme-chat", Kind: plan.KindPackage, Hire: "E9", Host: "ws6",
				Package: &plan.PackageSpec{Name: "acme-chat", Manager: "apt", Package: "acme-chat", Version: "3.1.0"}},
			{ID: "E9:printer:Solo", Kind: plan.KindPrinter, Hire: "E9", Host: "ws6", Printer: &plan.PrinterSpec{Name: "Solo", URI: "ipp://p/solo"}},
		}}
}

// welcomeRun is the run that made the hire ready (ready) or failed it.
func welcomeRun(ready bool) *result.Run {
	steps := []result.Step{
		{ID: "E9:activate:nx", Kind: plan.KindActivate, Hire: "E9", Title: "Set the initial password", Outcome: result.Changed, Started: at(0)},
		{ID: "E9:package:acme-chat", Kind: plan.KindPackage, Hire: "E9", Host: "ws6", Title: "Install acme-chat", Outcome: result.Changed, Started: at(0)},
		{ID: "E9:printer:Solo", Kind: plan.KindPrinter, Hire: "E9", Host: "ws6", Title: "Map printer Solo", Outcome: result.OK, Started: at(0)},
	}
	handover := []result.Step{
		{ID: "E9:activate:nx", Hire: "E9", Outcome: result.OK, Reason: "enabled"},
		{ID: "E9:package:acme-chat", Hire: "E9", Outcome: result.OK, Reason: "acme-chat 3.1.0-2 is installed"},
		{ID: "E9:printer:Solo", Hire: "E9", Outcome: result.OK, Reason: "queue Solo prints to ipp://p/solo"},
	}
	if !ready {
		steps[2].Outcome, steps[2].Failure = result.Failed, &result.Failure{Phase: "apply", Message: "lpadmin failed"}
		handover[2].Outcome = result.Failed
	}
	return &result.Run{ID: "r1", Started: t0, Finished: at(5000 * ms), Hires: []result.Hire{{ID: "E9", Name: hostileName}},
		Steps: steps, Handover: handover}
}

func TestWelcomeGolden(t *testing.T) {
	dir := t.TempDir()
	p := welcomePlan(dir)
	for _, ext := range []string{"md", "html"} {
		t.Run(ext, func(t *testing.T) {
			b, err := RenderWelcome("welcome."+ext, p, p.Hires[0], welcomeRun(true))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "welcome."+ext, b)
		})
	}
}

// TestWelcomeHostileMarkdown: person data renders as text. Every
// Markdown metacharacter of the hostile name is backslash-escaped, raw
// HTML never reaches the sheet, and terminal controls are shown, not sent.
func TestWelcomeHostileMarkdown(t *testing.T) {
	p := welcomePlan(t.TempDir())
	b, err := RenderWelcome("w.md", p, p.Hires[0], welcomeRun(true))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, bad := range []string{"<script>", "<b>", "\x1b", "\u202e", "**CEO**"} {
		if strings.Contains(md, bad) {
			t.Errorf("the Markdown sheet holds %q unescaped:\n%s", bad, md)
		}
	}
	// A link needs "](" whose bracket is not escaped; raw HTML a "<" that
	// is not.
	if m := regexp.MustCompile(`(^|[^\\])(\]\(|<)`).FindString(md); m != "" {
		t.Errorf("the Markdown sheet has markup %q from person data:\n%s", m, md)
	}
	for _, want := range []string{`\*\[x\](javascript:alert(1))\*`, `\|`, `\<script\>`, "\\`rm -rf\\`", `\\x1b`, `\\u202e`, "`` nx`\\|user ``"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown sheet lacks %q:\n%s", want, md)
		}
	}
}

// TestWelcomeHostileHTML: the HTML sheet holds no element or attribute the
// person data brought, no script and nothing fetched.
func TestWelcomeHostileHTML(t *testing.T) {
	p := welcomePlan(t.TempDir())
	b, err := RenderWelcome("w.html", p, p.Hires[0], welcomeRun(true))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "b", "link", "img", "iframe", "object", "embed":
				t.Errorf("the HTML sheet has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "src":
					t.Errorf("the HTML sheet fetches %q", a.Val)
				case a.Key == "href" && !strings.HasPrefix(a.Val, "mailto:help@") && a.Val != "https://help.example.test/new?x=1&y=2":
					t.Errorf("the HTML sheet links %q", a.Val)
				}
			}
		}
		if n.Type == html.TextNode {
			texts = append(texts, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	text := strings.Join(texts, "")
	for _, want := range []string{`*[x](javascript:alert(1))* | <script>alert('n')</script> ` + "`rm -rf` " + `\x1b[31mred\u202e`, "<b>Boss</b> | **CEO**", "2nd floor, <room> 2.14"} {
		if !strings.Contains(text, want) {
			t.Errorf("the HTML sheet's text lacks %q", want)
		}
	}
	if strings.ContainsAny(text, "\x1b\u202e") {
		t.Errorf("the HTML sheet carries raw control characters")
	}
}

// TestWelcomePassword: the password is on no sheet by default, the sheet
// says how it arrives instead; with password: sheet it is on both formats,
// and that sheet is written 0600 and never replaces another file.
func TestWelcomePassword(t *testing.T) {
	for _, channel := range []string{"", "sheet"} {
		t.Run("password="+channel, func(t *testing.T) {
			dir := t.TempDir()
			p := welcomePlan(dir)
			p.Hires[0].Handover.Welcome.Password = channel
			if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(welcomePassword+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := WriteWelcomes(p, welcomeRun(true)); err != nil {
				t.Fatal(err)
			}
			for _, f := range p.Hires[0].Handover.Welcome.Sheets {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				st, _ := os.Stat(f)
				switch {
				case channel == "" && bytes.Contains(b, []byte(welcomePassword)):
					t.Errorf("%s holds the password", f)
				case channel == "" && !bytes.Contains(b, []byte("hands you your initial password separately")):
					t.Errorf("%s does not say how the password arrives:\n%s", f, b)
				case channel == "sheet" && !bytes.Contains(b, []byte(welcomePassword)):
					t.Errorf("%s lacks the password it is the channel of:\n%s", f, b)
				case channel == "sheet" && st.Mode().Perm() != 0o600:
					t.Errorf("%s holds a password and is %s", f, st.Mode())
				case channel == "" && st.Mode().Perm() != 0o644:
					t.Errorf("%s is %s, want 0644", f, st.Mode())
				}
			}
			// A re-run writes the same sheet again, or leaves the same one.
			if _, err := WriteWelcomes(p, welcomeRun(true)); err != nil {
				t.Fatalf("second run: %v", err)
			}
			if channel == "sheet" {
				md := p.Hires[0].Handover.Welcome.Sheets[0]
				if err := os.WriteFile(md, []byte("someone else's file"), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := WriteWelcomes(p, welcomeRun(true)); err == nil || !strings.Contains(err.Error(), "never replaces") {
					t.Errorf("a password sheet replaced another file: %v", err)
				}
				// Once the password file is gone, no sheet carries the password.
				if err := os.Remove(filepath.Join(dir, "pw.txt")); err != nil {
					t.Fatal(err)
				}
				if _, err := RenderWelcome("w.md", p, p.Hires[0], welcomeRun(true)); err == nil || !strings.Contains(err.Error(), "is gone") {
					t.Errorf("a password sheet without its password file: %v", err)
				}
			}
		})
	}
}

// TestWelcomeNotReady: a hire not ready for handover gets no sheet, and
// the caller is told which.
func TestWelcomeNotReady(t *testing.T) {
	dir := t.TempDir()
	p := welcomePlan(dir)
	notReady, err := WriteWelcomes(p, welcomeRun(false))
	if err != nil {
		t.Fatal(err)
	}
	if len(notReady) != 1 || notReady[0] != "E9" {
		t.Errorf("not ready: %v, want [E9]", notReady)
	}
	for _, f := range p.Hires[0].Handover.Welcome.Sheets {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was written for a failed run (%v)", f, err)
		}
	}
	if _, err := RenderWelcome("w.md", p, p.Hires[0], welcomeRun(false)); !errors.Is(err, ErrNotReady) {
		t.Errorf("rendering a failed run's sheet: %v, want ErrNotReady", err)
	}
}

// TestWelcomeConfined: a sheet outside the plan's writable folders, or
// over a password file, is refused.
func TestWelcomeConfined(t *testing.T) {
	dir := t.TempDir()
	p := welcomePlan(dir)
	h := p.Hires[0]
	if err := WriteWelcome(p, h, filepath.Join(t.TempDir(), "w.md"), welcomeRun(true)); err == nil || !strings.Contains(err.Error(), "outside the folders") {
		t.Errorf("a sheet outside the writable folders: %v", err)
	}
	pw := filepath.Join(dir, "other-pw.md")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteWelcome(p, h, pw, welcomeRun(true)); err == nil || !strings.Contains(err.Error(), "not a report") {
		t.Errorf("a sheet over a 0600 file: %v", err)
	}
}

func TestInstalledVersion(t *testing.T) {
	pkg := &plan.Step{Package: &plan.PackageSpec{Package: "acme-chat", Version: "3.1.0"}}
	win := &plan.Step{WinSoftware: &plan.WinSoftwareSpec{Name: "Acme Chat", Version: "3.1"}}
	tests := []struct {
		name  string
		s     *plan.Step
		check result.Step
		want  string
	}{
		{"apt as checked", pkg, result.Step{Outcome: result.OK, Reason: "acme-chat 1:3.1.0-2 is installed"}, "1:3.1.0-2"},
		{"windows as checked", win, result.Step{Outcome: result.OK, Reason: "Acme Chat 3.1.4 is installed"}, "3.1.4"},
		{"another package's words", pkg, result.Step{Outcome: result.OK, Reason: "acme-chatter 9 is installed"}, "3.1.0"},
		{"not proven", pkg, result.Step{Outcome: result.Failed, Reason: "acme-chat 2.0 is installed"}, "3.1.0"},
		{"unrecognised", pkg, result.Step{Outcome: result.OK, Reason: "installed"}, "3.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := installedVersion(tt.s, tt.check); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
