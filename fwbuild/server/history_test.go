package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/history"
)

// statsRunner writes step lines and a ccache stats log (hits hits, the
// other compiles misses) as a build with ccache does, and records the
// progress total the build had when it started.
type statsRunner struct {
	*fakeRunner
	lines  []string
	hits   int
	totals chan protocol.Progress
}

func (r statsRunner) Run(ctx context.Context, req builder.Request) (builder.Result, error) {
	if rec, ok := req.Progress.(*buildRecord); ok && r.totals != nil {
		r.totals <- rec.progress(0, 0)
	}
	misses := 0
	for i, l := range r.lines {
		fmt.Fprintln(req.Progress, strings.ReplaceAll(l, "$CTX", req.Dir))
		if i >= r.hits {
			misses++
		}
	}
	res, err := r.fakeRunner.Run(ctx, req)
	// What the builder reads from the build's ccache-stats.log.
	res.Ccache.Hits, res.Ccache.Misses = r.hits, misses
	return res, err
}

func statusHTML(t *testing.T, s *Server, user, pass string) string {
	t.Helper()
	rec := do(t, s, as(httptestRequest(http.MethodGet, "/"), user, pass))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / as %s: %d %s", user, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// The status page keeps its recent builds across a restart (a bounded
// file in the volumes dir), shows who owns each context and the refused
// logins (user and time, never the password), and separates what the
// compiler compiled from what ccache answered.
func TestStatusHistoryOwnersLogins(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	steps := []string{"  CC    $CTX/src/main.c", "  CC    $CTX/src/util.c", "  CC    $CTX/src/more.c"}
	r := statsRunner{fakeRunner: newFakeRunner(), lines: steps, hits: 2}
	s1, err := New(cfg, WithRunner(r))
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, s1, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "ci_main"}), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("build: %d %s", rec.Code, rec.Body)
	}
	const secret = "hunter2-not-shown"
	if rec := do(t, s1, as(stockRequest(t, stockZip(t, helloApp(nil))), "mallory", secret)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	page := statusHTML(t, s1, "alice", "alice pw")
	for _, want := range []string{
		">ci_main<", "<td>user:alice</td>", // the context's owner
		`Refused logins<b class="error">1</b>`, "<td>mallory</td>",
		// 3 compile steps: 1 compiled, 2 from ccache.
		`<td class="num">1</td>` + "\n" + `<td class="num">2</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("status page shows a refused password")
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.VolumesDir, history.FileName))
	if err != nil {
		t.Fatalf("no history file in the volumes dir: %v", err)
	}
	if strings.Contains(string(b), secret) || strings.Contains(string(b), "alice pw") {
		t.Error("history file holds a password")
	}

	// A restarted server shows the build it did not answer itself.
	s2 := newServer(t, cfg, WithRunner(newFakeRunner()))
	page = statusHTML(t, s2, "alice", "alice pw")
	recent := page[strings.Index(page, "Recent builds"):]
	recent = recent[:strings.Index(recent, "</table>")]
	for _, want := range []string{">ci_main<", "<td>alice</td>", "200 built", `<td class="num">2</td>`} {
		if !strings.Contains(recent, want) {
			t.Errorf("after a restart, recent builds lack %q:\n%s", want, recent)
		}
	}
}

// A history file that is not one (garbage) does not stop the server: it
// starts with no recent builds and the next build replaces the file.
func TestStatusHistoryCorrupt(t *testing.T) {
	cfg := testConfig(t)
	if err := os.MkdirAll(cfg.VolumesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(cfg.VolumesDir, history.FileName)
	if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "ci_main"})); rec.Code != http.StatusOK {
		t.Fatalf("build: %d %s", rec.Code, rec.Body)
	}
	f, err := history.Open(cfg.VolumesDir, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	builds, err := f.Load()
	if err != nil || len(builds) != 1 || builds[0].Context != "ci_main" {
		t.Errorf("history after a build: %+v, %v", builds, err)
	}
}

// Progress has a total before the build's output gives one: the number of
// sources uploaded for a context's first build, the previous build's
// steps after that; both marked estimated.
func TestProgressTotalEstimated(t *testing.T) {
	totals := make(chan protocol.Progress, 2)
	steps := []string{"  CC    $CTX/src/main.c", "  CC    $CTX/src/util.c", "  CC    $CTX/src/x.c", "  CC    $CTX/src/y.c", "  AR    lib.a"}
	s := newServer(t, testConfig(t), WithRunner(statsRunner{fakeRunner: newFakeRunner(), lines: steps, totals: totals}))
	app := stockZip(t, helloApp(map[string]string{"include/x.h": "", "src/asm.S": "", "README.md": ""}))
	for i, want := range []int{3, 4} { // main.c util.c asm.S; then the 4 CC lines of build 1
		if rec := do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, "ci_main"})); rec.Code != http.StatusOK {
			t.Fatalf("build %d: %d %s", i+1, rec.Code, rec.Body)
		}
		p := <-totals
		if p.Total != want || !p.Estimated {
			t.Errorf("build %d: at start total %d estimated %v, want %d estimated", i+1, p.Total, p.Estimated, want)
		}
	}
}

// An estimate is raised when the build passes it, and replaced by the
// count a ninja build prints.
func TestProgressEstimateRaised(t *testing.T) {
	r := &buildRecord{}
	r.estimate(2)
	for _, l := range []string{"CC a.c", "CC b.c", "CC c.c"} {
		r.Write([]byte(l + "\n"))
	}
	if p := r.progress(0, 0); p.Compiled != 3 || p.Total != 3 || !p.Estimated {
		t.Errorf("after 3 compiles with an estimate of 2: %+v", p)
	}
	r.Write([]byte("[4/140] Building C object d.c.o\n"))
	if p := r.progress(0, 0); p.Total != 140 || p.Estimated {
		t.Errorf("after ninja's count: total %d estimated %v, want 140 exact", p.Total, p.Estimated)
	}
	r.estimate(7) // a later estimate does not replace a count
	if p := r.progress(0, 0); p.Total != 140 {
		t.Errorf("estimate replaced ninja's count: %d", p.Total)
	}
}
