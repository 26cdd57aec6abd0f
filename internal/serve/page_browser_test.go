package serve

// The status page in a real browser: headless Chromium driven over the
// DevTools protocol (chromedp) signs in through the form, sees a run that
// failed on a lab workstation with its output, and clicks Retry once the
// fault is fixed; approves a held hire. Needs root and the lab, and
// Debian's chromium (internal/lab/packages.txt); -short skips it.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"onboard/internal/lab"
	"onboard/internal/serve/store"
)

// browserWidth is the browser window's width, and so the screenshot's.
const browserWidth = 1280

// chromium finds the browser; outside -short a missing one fails the test
// (CI installs it), naming the package.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: needs the lab and Chromium (run without -short)")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: install the Debian package chromium (apt-get install -y chromium; it is listed in internal/lab/packages.txt)")
	return ""
}

// pageLab starts this test process's own lab: its name and subnet follow
// the process id (subnets 200-214 are this package's), so that two runs on
// one machine never replace each other's.
func pageLab(t *testing.T) *lab.Lab {
	pid := os.Getpid()
	return lab.ForTest(t, lab.Config{Name: fmt.Sprintf("pg%d", pid%10000), Subnet: 200 + pid%15, Workstations: 1, Printers: []string{"Solo"}})
}

// pageInventory joins the repository's catalogue with the lab's hosts, and
// writes the test's profile: a check that fails until the host has
// /etc/onboard-ready.
func pageInventory(t *testing.T, l *lab.Lab) (inv, profiles string) {
	dir := t.TempDir()
	inv, profiles = filepath.Join(dir, "inventory"), filepath.Join(dir, "profiles")
	for _, d := range []string{inv, profiles} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"../../inventory/software.yaml", "../../inventory/groups.yaml", l.InventoryFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inv, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	profile := `description: Page test
checks:
  - name: ready
    command: {run: cat /etc/onboard-ready, stdout: [ready]}
`
	if err := os.WriteFile(filepath.Join(profiles, "ready.yaml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	return inv, profiles
}

func TestPageInBrowser(t *testing.T) {
	browser := chromium(t)
	l := pageLab(t)
	inv, profiles := pageInventory(t, l)

	// The mapping: everyone on ws1 with the test's profile; department
	// "Nowhere" is held until the test "fixes the inventory".
	var mappable atomic.Bool
	today := time.Now().Format(time.DateOnly)
	mapper := func(p Person) (*Assignment, error) {
		if p.Department == "Nowhere" && !mappable.Load() {
			return nil, fmt.Errorf("%w: no hr rule matches department %q", ErrHeld, p.Department)
		}
		slots := laterSlots
		if p.StartDate <= today {
			slots = nowSlots
		}
		return &Assignment{Rule: "page-test", Profile: "ready", Host: "ws1", Slots: slots(p.StartDate)}, nil
	}
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: mapper, Inventory: []string{inv}, Profiles: []string{profiles}})
	handler, err := s.Handler(HTTPConfig{APITokens: []Token{{Name: "alice", Value: []byte("alice-secret-token")}}, PageRefresh: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hire := hireIntake("evt-1", "E1")
	hire.Person.GivenName, hire.Person.StartDate = scriptName, today
	if _, err := s.Accept(ctx, hire); err != nil {
		t.Fatal(err)
	}
	held := hireIntake("evt-2", "E2")
	held.Person.Department, held.Person.StartDate = "Nowhere", time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	if _, err := s.Accept(ctx, held); err != nil {
		t.Fatal(err)
	}

	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(browserWidth, 900),
		chromedp.UserDataDir(t.TempDir()))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	// Anything the page's policy refused, and any dialog (a script that ran).
	var mu sync.Mutex
	var refused []string
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
			if strings.Contains(m.Text, "Content Security Policy") || m.IsException() {
				mu.Lock()
				refused = append(refused, m.Text)
				mu.Unlock()
			}
		}
	}()
	go func() {
		defer watchers.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			refused = append(refused, "a dialog opened: "+ev.Message)
			mu.Unlock()
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// Each wait is bounded on its own, so that a missing element fails
		// the test quickly, naming the step.
		sctx, scancel := context.WithTimeout(bctx, 90*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nthe page:\n%s", what, err, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	// Sign in through the form, typing the token.
	do("sign in",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "wrong-token"),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
		chromedp.SendKeys(chromedp.CSS("#token"), "alice-secret-token"),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("section#failures")),
	)

	// The activation run fails on ws1: the page shows it, with the
	// check's command and output.
	failure := `article.failure[data-run="E1.g1.activation"]`
	// The earlier phases wait for the hire's slot and pass (nothing to do
	// without a directory); once nothing is due the page reloads only
	// every minute, so the screenshot and the click see a still page.
	idle := chromedp.WaitReady(chromedp.CSS(`meta[http-equiv="refresh"][content^="60;"]`))
	do("see the failed run",
		chromedp.WaitVisible(chromedp.CSS(failure+" pre.output")),
		chromedp.WaitVisible(chromedp.CSS(`td.phase[data-run="E1.g1.account"][data-state="ok"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td.phase[data-run="E1.g1.machine"][data-state="ok"]`)),
		idle,
	)
	out := text(failure + " pre.output")
	for _, want := range []string{"ws1", "cat /etc/onboard-ready", "No such file or directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure's output lacks %q:\n%s", want, out)
		}
	}
	if name := text(failure + " h3"); !strings.Contains(name, scriptName+` O'Brien"; rm -rf / #`) {
		t.Errorf("the hostile name is not shown as text: %q", name)
	}
	checkScreenshot(t, bctx)

	// Fix the fault on the host, click Retry, wait for the run to be ok.
	if _, stderr, err := l.Exec(ctx, "ws1", "echo ready > /etc/onboard-ready"); err != nil {
		t.Fatalf("fix ws1: %v %s", err, stderr)
	}
	do("retry",
		chromedp.Click(chromedp.CSS(failure+" button.retry")),
		chromedp.WaitVisible(chromedp.CSS("p.flash-ok")),
		chromedp.WaitVisible(chromedp.CSS(`td.phase[data-run="E1.g1.activation"][data-state="ok"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-hire="E1"][data-state="done"] a`)),
	)
	if n := text("section#failures .count"); n != "0" {
		t.Errorf("%s failures after the retry", n)
	}
	r, err := store.GetRun(ctx, s.store.DB, "E1.g1.activation")
	if err != nil || r.State != store.RunOK || r.Attempts != 2 {
		t.Fatalf("the retried run: %+v %v", r, err)
	}

	// The handover report, through the session.
	do("open the handover report",
		chromedp.Click(chromedp.CSS(`tr[data-hire="E1"] a`)),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.HasSuffix(loc, "/api/v1/hires/E1/handover?format=html") {
		t.Errorf("the report link went to %s", loc)
	}
	if h := text("body"); !strings.Contains(h, "READY FOR HANDOVER") || !strings.Contains(h, scriptName+` O'Brien"; rm -rf / #`) {
		t.Errorf("the handover report:\n%s", h)
	}

	// A held hire: Approve while nothing maps it says so; after the fix it
	// is scheduled.
	heldSel := `article.held[data-hire="E2"]`
	do("see the held hire",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(heldSel+" button.approve")),
		idle,
	)
	if reason := text(heldSel + " .reason"); !strings.Contains(reason, `department "Nowhere"`) {
		t.Errorf("held reason %q", reason)
	}
	do("approve while still held",
		chromedp.Click(chromedp.CSS(heldSel+" button.approve")),
		chromedp.WaitVisible(chromedp.CSS("p.flash-warn")),
	)
	mappable.Store(true)
	do("approve",
		chromedp.Click(chromedp.CSS(heldSel+" button.approve")),
		chromedp.WaitVisible(chromedp.CSS("p.flash-ok")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-hire="E2"][data-state="scheduled"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(heldSel)),
	)
	for _, ph := range Phases {
		sel := fmt.Sprintf(`tr[data-hire="E2"] td.phase[data-phase="%s"][data-state="scheduled"] time`, ph)
		title, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(sel), "title", chromedp.AtLeast(0)))
		if err != nil || !title.Exists || !strings.HasSuffix(title.Value, "Z") {
			t.Errorf("phase %s of the approved hire: %+v %v", ph, title, err)
		}
	}

	do("sign out",
		chromedp.Click(chromedp.CSS("form.logout button")),
		chromedp.WaitVisible(chromedp.CSS("#token")),
	)
	bcancel()
	watchers.Wait()
	if len(refused) > 0 {
		t.Errorf("the browser refused or ran something:\n%s", strings.Join(refused, "\n"))
	}
}

// checkScreenshot takes a full-page screenshot of the page with a failed
// run and checks that it is a page, not a blank: the window's width,
// enough ink, and the red of the failure badge. Fonts differ between
// machines, so it is no golden image; it is kept as a CI artifact.
func checkScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.max(document.documentElement.scrollHeight, window.innerHeight)`))
	if err != nil {
		t.Fatalf("page height: %v", err)
	}
	path := filepath.Join(t.TempDir(), "serve-page-failed-run.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("ONBOARD_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != browserWidth || b.Dy() != height || height < 600 {
		t.Errorf("screenshot %dx%d, want %dx%d (the page's size, at least 600 high)", b.Dx(), b.Dy(), browserWidth, height)
	}
	ink, red := inkAndRed(img)
	if frac := float64(ink) / float64(b.Dx()*b.Dy()); frac < 0.02 {
		t.Errorf("the screenshot is nearly blank: %.3f of its pixels are not white (%s)", frac, path)
	}
	// The badge and the failure's border, solid #c62828.
	if red < 200 {
		t.Errorf("the screenshot shows %d pixels of the failure red, want a badge's worth (%s)", red, path)
	}
}

func inkAndRed(img image.Image) (ink, red int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 245 || g < 245 || bl < 245 {
				ink++
			}
			if r == 0xc6 && g == 0x28 && bl == 0x28 {
				red++
			}
		}
	}
	return ink, red
}
