package report

// The HTML welcome sheet in a real browser: headless Chromium (driven over
// the DevTools protocol with chromedp) opens the hostile hire's sheet,
// shows the name as text, runs no script and logs no error, and prints it
// as a one-page A4 PDF (the sheet's @page size). Needs Debian's chromium
// (internal/lab/packages.txt); -short skips it.

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: needs Chromium (run without -short)")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: install the Debian package chromium (it is listed in internal/lab/packages.txt)")
	return ""
}

func TestWelcomeInBrowser(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	p := welcomePlan(dir)
	if _, err := WriteWelcomes(p, welcomeRun(true)); err != nil {
		t.Fatal(err)
	}
	sheet := p.Hires[0].Handover.Welcome.Sheets[1]
	if filepath.Ext(sheet) != ".html" {
		t.Fatalf("sheet %s is not the HTML one", sheet)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var problems []string
	console := chromedp.Console(bctx)
	dialogs := chromedp.Events(bctx, cdppage.JavascriptDialogOpening)
	var watchers sync.WaitGroup
	watchers.Add(2)
	go func() {
		defer watchers.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			problems = append(problems, m.String()) // the sheet writes nothing to the console
			mu.Unlock()
		}
	}()
	go func() {
		defer watchers.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			problems = append(problems, "a dialog opened: "+ev.Message)
			mu.Unlock()
		}
	}()

	u := (&url.URL{Scheme: "file", Path: sheet}).String()
	if err := chromedp.Do(bctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	h1, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Welcome, *[x](javascript:alert(1))* | <script>alert('n')</script> `rm -rf`"; !strings.HasPrefix(h1, want) {
		t.Errorf("the heading shows %q, want it to start with %q", h1, want)
	}
	scripts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.scripts.length + document.querySelectorAll('b, img, iframe, link').length`))
	if err != nil || scripts != 0 {
		t.Errorf("the page has %d script, b, img, iframe or link elements (%v)", scripts, err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "welcome.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	// A4 is 595.28 x 841.89 points; Letter (Chromium's default) 612 x 792.
	boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]`).FindAllSubmatch(pdf, -1)
	if len(boxes) != 1 {
		t.Errorf("the PDF has %d pages, want the sheet on one", len(boxes))
	}
	for _, b := range boxes {
		w, _ := strconv.ParseFloat(string(b[1]), 64)
		h, _ := strconv.ParseFloat(string(b[2]), 64)
		if w < 594 || w > 596 || h < 841 || h > 843 {
			t.Errorf("a PDF page is %.1f x %.1f points, want A4 (595.3 x 841.9)", w, h)
		}
	}

	bcancel()
	watchers.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(problems, "\n"))
	}
}
