package server

import (
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// The status page in a real browser (headless Chromium, Debian's
// chromium; the test skips without it): after two builds, one failed,
// the page as the browser read it shows both with their results, and a
// screenshot of it is a picture of the window's size.
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
	s := newServer(t, testConfig(t), WithRunner(stepRunner{fr, []string{"  CC    $CTX/src/main.c"}}))
	for _, name := range []string{"ci_main", "broken"} {
		do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, name}))
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	run := func(args ...string) []byte {
		t.Helper()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1200,900"}
		out, err := exec.Command(browser, append(append(base, args...), ts.URL+"/")...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return out
	}
	dom := string(run("--dump-dom"))
	for _, want := range []string{"Recent builds", ">ci_main<", ">broken<", "200 built", "418 failed", "Build contexts"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page in the browser lacks %q:\n%s", want, dom)
		}
	}
	shot := filepath.Join(t.TempDir(), "status.png")
	run("--screenshot=" + shot)
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
