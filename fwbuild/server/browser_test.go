package server

import (
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// The status page in a real browser (headless Chromium, Debian's
// chromium; the test skips without it): after builds of a server with
// accounts, one failed, one in a context with a long name, and a refused
// login with a long user name, the page as the browser read it shows them
// with their results, owners and the refused login; at 1200 px it needs
// no horizontal scrollbar; and a screenshot of it is a picture of the
// window's size (MOS_STATUS_SHOT=FILE keeps a copy).
func TestStatusPageInBrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not on PATH (apt-get install chromium); skipping the browser test")
	}
	fr := newFakeRunner()
	fr.fail = func(req builderRequest) string {
		if filepath.Base(req.Dir) == "broken" {
			return "src/main.c: error: broken"
		}
		return ""
	}
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.MetricsOpen = true  // the browser gets the page without credentials
	cfg.StatusPublic = true // and, without them, every account's builds
	long := "team_fw_feature_ota_rework_with_a_rather_long_branch_name_20261206"
	s := newServer(t, cfg, WithRunner(statsRunner{fakeRunner: fr, lines: []string{"  CC    $CTX/src/main.c", "  CC    $CTX/src/util.c"}, hits: 1}))
	for _, name := range []string{"ci_main", "broken", long} {
		do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, name}), "alice", "alice pw"))
	}
	do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil))), "someone.with.a.really.long.name@example.com", "wrong"))
	// /measure is the page with one script added at its end that writes
	// the document's scroll width and client width into the DOM; the page
	// itself allows no script (CSP), so the wrapper drops that header.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/measure" {
			s.Handler().ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		page := strings.Replace(rec.Body.String(), "</body>", `<script>document.body.setAttribute("data-widths", document.documentElement.scrollWidth + "/" + document.documentElement.clientWidth);</script></body>`, 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(ts.Close)
	run := func(path string, args ...string) []byte {
		t.Helper()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1200,900"}
		out, err := exec.Command(browser, append(append(base, args...), ts.URL+path)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return out
	}
	dom := string(run("/", "--dump-dom"))
	for _, want := range []string{"Recent builds", ">ci_main<", ">broken<", ">" + long + "<", "200 built", "418 failed",
		"Build contexts", ">user:alice<", "Refused logins", ">someone.with.a.really.long.name@example.com<"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page in the browser lacks %q:\n%s", want, dom)
		}
	}
	m := regexp.MustCompile(`data-widths="(\d+)/(\d+)"`).FindStringSubmatch(string(run("/measure", "--dump-dom")))
	if m == nil {
		t.Fatal("the measuring page gave no widths")
	}
	scroll, _ := strconv.Atoi(m[1])
	client, _ := strconv.Atoi(m[2])
	if client < 1100 || client > 1200 {
		t.Errorf("the page's client width is %d px, want about 1200 (the window)", client)
	}
	if scroll > client {
		t.Errorf("at 1200 px the page is %d px wide, %d px more than the window: a horizontal scrollbar", scroll, scroll-client)
	}
	shot := filepath.Join(t.TempDir(), "status.png")
	run("/", "--screenshot="+shot)
	if keep := os.Getenv("MOS_STATUS_SHOT"); keep != "" {
		if b, err := os.ReadFile(shot); err == nil {
			os.WriteFile(keep, b, 0o644)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1200x900", b)
	}
	// Not a blank picture: the page's text and tables differ from its
	// background.
	bg := img.At(5, 5)
	differ := 0
	for y := 0; y < 900; y += 10 {
		for x := 0; x < 1200; x += 10 {
			if img.At(x, y) != bg {
				differ++
			}
		}
	}
	if differ < 100 {
		t.Errorf("screenshot looks blank: %d sampled pixels differ from the background", differ)
	}
}
