package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mongoose-os/mos/common/ccachestats"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/queue"
)

// stepRunner writes make-like step lines to the build's progress (as the
// real builder does from build/build.log), then runs the fake build.
type stepRunner struct {
	*fakeRunner
	lines []string
}

func (r stepRunner) Run(ctx context.Context, req builder.Request) (builder.Result, error) {
	for _, l := range r.lines {
		fmt.Fprintln(req.Progress, strings.ReplaceAll(l, "$CTX", req.Dir))
	}
	return r.fakeRunner.Run(ctx, req)
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, s *Server, auth ...string) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	rec := do(t, s, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, rec.Body)
	}
	return mfs
}

// value is the value of the series of family name with the given labels
// (name=value pairs); ok is false when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsCountBuilds(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	fr.fail = func(req builder.Request) string {
		if filepath.Base(req.Dir) == "broken" {
			return "src/main.c: error: broken"
		}
		return ""
	}
	s := newServer(t, cfg, WithRunner(stepRunner{fr, []string{"  CC    $CTX/src/main.c", "  CC    $CTX/src/util.c", "  LD    hello.elf"}}))
	before := scrape(t, s)
	if v, ok := value(before, "fwbuild_builds_total", "status", "200"); !ok || v != 0 {
		t.Fatalf("before any build: builds_total{200} = %v (present %v), want 0", v, ok)
	}

	app := helloApp(nil)
	named := func(n string) field { return field{protocol.FieldBuildCtx, n} }
	// 1: a stock full upload, built.
	rec := do(t, s, stockRequest(t, stockZip(t, app), named("ci_main")))
	if rec.Code != http.StatusOK {
		t.Fatalf("full build: %d %s", rec.Code, rec.Body)
	}
	// 2: a build that fails.
	if rec := do(t, s, stockRequest(t, stockZip(t, app), named("broken"))); rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("failing build: %d %s", rec.Code, rec.Body)
	}
	// 3: a delta upload of the same tree into ci_main: nothing to send,
	// and the client holds the last result, so little comes back.
	result := resultFiles(t, rec)
	var have []protocol.HaveEntry
	for p, c := range result {
		have = append(have, protocol.HaveEntry{Path: strings.TrimPrefix(p, "build/"), SHA256: sha(c)})
	}
	pr := doPlan(t, s, app)
	if len(pr.Missing) != len(app) {
		t.Fatalf("the blob store already has contents: missing %v", pr.Missing)
	}
	if rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), have, named("ci_main"))); rec.Code != http.StatusOK {
		t.Fatalf("first delta build: %d %s", rec.Code, rec.Body)
	}
	pr = doPlan(t, s, app)
	if len(pr.Missing) != 0 {
		t.Fatalf("second plan misses %v", pr.Missing)
	}
	if rec := do(t, s, deltaRequest(t, pr.Plan, nil, have, named("ci_main"))); rec.Code != http.StatusOK {
		t.Fatalf("second delta build: %d %s", rec.Code, rec.Body)
	}
	// 4: refused before building.
	if rec := do(t, s, stockRequest(t, stockZip(t, app), named("no/slash"))); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad context name: %d %s", rec.Code, rec.Body)
	}

	mfs := scrape(t, s)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fwbuild_builds_total", []string{"status", "200"}, 3},
		{"fwbuild_builds_total", []string{"status", "418"}, 1},
		{"fwbuild_builds_total", []string{"status", "400"}, 1},
		{"fwbuild_build_duration_seconds", []string{"platform", "esp32"}, 4},
		{"fwbuild_queue_wait_seconds", []string{"platform", "esp32"}, 4},
		{"fwbuild_builds_running", nil, 0},
		{"fwbuild_builds_queued", nil, 0},
		{"fwbuild_build_slots", nil, float64(cfg.MaxConcurrentBuilds)},
		{"fwbuild_blob_store_blobs", nil, float64(len(app))},
		{"fwbuild_contexts", nil, 2},
		{"fwbuild_contexts_evicted_total", nil, 0},
	} {
		got, ok := value(mfs, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	var appBytes int64
	for _, c := range app {
		appBytes += int64(len(c))
	}
	// Only the second delta build had everything in the store already.
	if got, _ := value(mfs, "fwbuild_delta_saved_bytes_total", "direction", "upload"); got != float64(appBytes) {
		t.Errorf("upload bytes saved by delta = %v, want %d (the whole tree, once)", got, appBytes)
	}
	if got, _ := value(mfs, "fwbuild_delta_saved_bytes_total", "direction", "download"); got <= 0 {
		t.Errorf("download bytes saved by delta = %v, want > 0", got)
	}
	for _, kind := range []string{"full", "delta"} {
		for _, dir := range []string{"upload", "download"} {
			if got, _ := value(mfs, "fwbuild_transfer_bytes_total", "direction", dir, "kind", kind); got <= 0 {
				t.Errorf("transfer_bytes_total{%s,%s} = %v, want > 0", dir, kind, got)
			}
		}
	}
	if got, _ := value(mfs, "fwbuild_blob_store_bytes"); got != float64(appBytes) {
		t.Errorf("blob_store_bytes = %v, want %d", got, appBytes)
	}
	if got, ok := value(mfs, "fwbuild_contexts_bytes"); !ok || got <= 0 {
		t.Errorf("contexts_bytes = %v", got)
	}
	if _, ok := value(mfs, "go_goroutines"); !ok {
		t.Error("no Go runtime metrics")
	}
}

// A request refused for its credentials counts as a 401 build.
func TestMetricsCountUnauthorized(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.MetricsOpen = true
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	for range 2 {
		if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("test:test on a server with accounts: %d", rec.Code)
		}
	}
	if got, _ := value(scrape(t, s), "fwbuild_builds_total", "status", "401"); got != 2 {
		t.Errorf("builds_total{401} = %v, want 2", got)
	}
}

// With accounts the monitoring paths need credentials unless
// --metrics-open; MonitorHandler (--metrics-address) never does.
func TestMonitorAccess(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	closed := newServer(t, cfg, WithRunner(newFakeRunner()))
	cfg.MetricsOpen = true
	open := newServer(t, cfg, WithRunner(newFakeRunner()))
	for _, p := range []string{"/", "/metrics", "/healthz", "/readyz"} {
		if rec := do(t, closed, httptest.NewRequest(http.MethodGet, p, nil)); rec.Code != http.StatusUnauthorized {
			t.Errorf("closed %s: %d", p, rec.Code)
		}
		if rec := do(t, open, httptest.NewRequest(http.MethodGet, p, nil)); rec.Code != http.StatusOK {
			t.Errorf("--metrics-open %s: %d %s", p, rec.Code, rec.Body)
		}
		rec := httptest.NewRecorder()
		closed.MonitorHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("MonitorHandler %s: %d", p, rec.Code)
		}
	}
	// The API stays closed with --metrics-open, and the monitor handler
	// has no API at all.
	if rec := do(t, open, stockRequest(t, stockZip(t, helloApp(nil)))); rec.Code != http.StatusUnauthorized {
		t.Errorf("build on an open-metrics server without an account: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	closed.MonitorHandler().ServeHTTP(rec, stockRequest(t, stockZip(t, helloApp(nil))))
	if rec.Code != http.StatusNotFound {
		t.Errorf("build through MonitorHandler: %d", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	rec := do(t, s, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "writable: ok") {
		t.Errorf("readyz: %d %q", rec.Code, rec.Body)
	}
	if rec := do(t, s, httptest.NewRequest(http.MethodGet, "/healthz", nil)); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("healthz: %d %q", rec.Code, rec.Body)
	}

	// A volumes dir that cannot be written to is not ready (root writes
	// anywhere: the temp area is replaced by a file instead).
	s2 := newServer(t, testConfig(t), WithRunner(newFakeRunner()))
	dir := s2.scratch.dir
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	rec = do(t, s2, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "writable: ok") {
		t.Errorf("readyz with the temp area gone: %d %q", rec.Code, rec.Body)
	}

	// The runner check of a real server: make (native) must run.
	check := runnerCheck(filepath.Join(t.TempDir(), "no-mos"), "native")
	if err := check(context.Background()); err == nil || !strings.Contains(err.Error(), "mos binary") {
		t.Errorf("runner check without a mos binary: %v", err)
	}
}

func pollProgress(t *testing.T, s *Server, id string, from int, auth ...string) protocol.Progress {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, protocol.ProgressPath(testVersion, id, from), nil)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	rec := do(t, s, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("progress poll: %d %s", rec.Code, rec.Body)
	}
	var p protocol.Progress
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("progress %q: %v", rec.Body, err)
	}
	return p
}

const (
	id1 = "0123456789abcdef0123456789abcdef"
	id2 = "fedcba9876543210fedcba9876543210"
)

func withID(req *http.Request, id string) *http.Request {
	req.Header.Set(protocol.HeaderBuildID, id)
	return req
}

// The progress of a build while it runs: its step lines so far (paths
// relative to the context), the count of files compiled; a second build
// waiting for the only slot is queued at position 1; once answered, done
// with the status.
func TestProgressWhileBuilding(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxConcurrentBuilds = 1
	fr := newFakeRunner()
	fr.block = true
	fr.started = make(chan builder.Request, 4)
	waits := make(chan queue.WaitKind, 4)
	s := newServer(t, cfg,
		WithRunner(stepRunner{fr, []string{"== Building hello...", "  CC    $CTX/src/main.c", "  CC    $CTX/src/util.c", "[3/7] Building C object x.c.o"}}),
		WithQueueOptions(queue.Options{OnWait: func(_ string, kind queue.WaitKind) { waits <- kind }}))
	if p := pollProgress(t, s, id1, 0); p.State != protocol.StateUnknown {
		t.Errorf("before the build: %+v", p)
	}
	first := post(t, s, withID(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "one"}), id1))
	<-fr.started // the lines are written, the build blocks

	p := pollProgress(t, s, id1, 0)
	want := []string{"CC src/main.c", "CC src/util.c", "[3/7] Building C object x.c.o"}
	if p.State != protocol.StateBuilding || strings.Join(p.Lines, "|") != strings.Join(want, "|") || p.Next != 3 || p.Compiled != 3 || p.Total != 7 {
		t.Errorf("while building: %+v", p)
	}
	if p := pollProgress(t, s, id1, 2); p.From != 2 || len(p.Lines) != 1 || p.Next != 3 {
		t.Errorf("from 2: %+v", p)
	}

	second := post(t, s, withID(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "two"}), id2))
	if kind := <-waits; kind != queue.WaitSlot {
		t.Fatalf("second build waits for %v", kind)
	}
	if p := pollProgress(t, s, id2, 0); p.State != protocol.StateQueued || p.Position != 1 || p.Waiting != "build slot" {
		t.Errorf("second build: %+v", p)
	}
	live, _ := s.track.snapshot()
	if len(live) != 2 || live[0].State != protocol.StateBuilding || live[1].Position != 1 {
		t.Errorf("live builds %+v", live)
	}
	page := do(t, s, httptest.NewRequest(http.MethodGet, "/", nil)).Body.String()
	if !strings.Contains(page, "[3/7] Building C object x.c.o") || !strings.Contains(page, "queued (#1)") {
		t.Errorf("status page does not show the builds:\n%s", page)
	}

	fr.release <- struct{}{}
	if rec := <-first; rec.Code != http.StatusOK {
		t.Fatalf("first: %d", rec.Code)
	}
	if p := pollProgress(t, s, id1, 3); p.State != protocol.StateDone || p.Status != 200 || len(p.Lines) != 0 {
		t.Errorf("after the answer: %+v", p)
	}
	<-fr.started
	fr.release <- struct{}{}
	if rec := <-second; rec.Code != http.StatusOK {
		t.Fatalf("second: %d", rec.Code)
	}
}

// Only the account that sent a build sees its progress.
func TestProgressIsTheUsers(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(stepRunner{fr, []string{"CC src/main.c"}}))
	if rec := do(t, s, withID(as(stockRequest(t, stockZip(t, helloApp(nil))), "alice", "alice pw"), id1)); rec.Code != http.StatusOK {
		t.Fatalf("alice's build: %d %s", rec.Code, rec.Body)
	}
	if p := pollProgress(t, s, id1, 0, "alice", "alice pw"); p.State != protocol.StateDone || len(p.Lines) != 1 {
		t.Errorf("alice's own: %+v", p)
	}
	if p := pollProgress(t, s, id1, 0, "bob", "bob pw"); p.State != protocol.StateUnknown || len(p.Lines) != 0 {
		t.Errorf("bob sees alice's build: %+v", p)
	}
	rec := do(t, s, httptest.NewRequest(http.MethodGet, protocol.ProgressPath(testVersion, id1, 0), nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("poll without credentials: %d", rec.Code)
	}
}

func TestProgressBadRequests(t *testing.T) {
	s := newServer(t, testConfig(t), WithRunner(newFakeRunner()))
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/fwbuild/2.20.0/progress/short", 400},
		{"GET", "/api/fwbuild/2.20.0/progress/" + id1 + "?from=-1", 400},
		{"GET", "/api/fwbuild/2.20.0/progress/" + id1 + "?from=x", 400},
		{"POST", "/api/fwbuild/2.20.0/progress/" + id1, 405},
		{"GET", "/api/fwbuild/2.20.0/progress/" + id1 + "?from=5", 200},
	} {
		if rec := do(t, s, httptestRequest(tc.method, tc.path)); rec.Code != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, rec.Code, rec.Body, tc.status)
		}
	}
}

// The record keeps only the last lines, and a poll from before them says
// how many it missed.
func TestProgressLinesAreBounded(t *testing.T) {
	rec := &buildRecord{state: protocol.StateBuilding}
	for i := range protocol.ProgressMaxLines + 10 {
		fmt.Fprintf(rec, "CC src/f%d.c\n", i)
	}
	rec.Write([]byte("CC src/last")) // no newline yet
	p := rec.progress(0, 0)
	if p.Skipped != 10 || p.From != 10 || len(p.Lines) != protocol.ProgressMaxLines || p.Lines[0] != "CC src/f10.c" || p.Next != protocol.ProgressMaxLines+10 {
		t.Errorf("skipped %d from %d lines %d first %q next %d", p.Skipped, p.From, len(p.Lines), p.Lines[0], p.Next)
	}
	if p.Compiled != protocol.ProgressMaxLines+10 {
		t.Errorf("compiled %d", p.Compiled)
	}
	rec.Write([]byte(".c\nwarning: not a step\n" + strings.Repeat("x", 5000) + "\n"))
	if p := rec.progress(p.Next, 0); len(p.Lines) != 1 || p.Lines[0] != "CC src/last.c" {
		t.Errorf("after the partial line: %+v", p)
	}
	rec.Write([]byte("CC " + strings.Repeat("y", 1000) + "\n"))
	if p := rec.progress(p.Next+1, 0); len(p.Lines) != 1 || len(p.Lines[0]) != maxLineLen+3 {
		t.Errorf("a long line is kept at %d bytes: %d", maxLineLen, len(p.Lines[0]))
	}
}

// The compile cache's hits and misses are each build's own, as its
// build.log counts them (builder.Result.Ccache), added up as builds end:
// a scrape right after a build has them (a failed build's too).
func TestMetricsCcache(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ccache = true
	fr := newFakeRunner()
	fr.ccache = func(req builder.Request) ccachestats.Stats {
		if filepath.Base(req.Dir) == "cold" {
			return ccachestats.Stats{Misses: 140, Uncacheable: 3}
		}
		return ccachestats.Stats{Hits: 138, Misses: 2, RemoteHits: 5}
	}
	fr.fail = func(req builder.Request) string {
		if filepath.Base(req.Dir) == "broken" {
			return "src/main.c: error: broken"
		}
		return ""
	}
	s := newServer(t, cfg, WithRunner(fr))
	app := helloApp(nil)
	want := [2]float64{}
	for _, tc := range []struct {
		ctx          string
		hits, misses float64
	}{{"cold", 0, 140}, {"warm", 138, 2}, {"broken", 138, 2}} {
		rec := do(t, s, stockRequest(t, stockZip(t, app), field{protocol.FieldBuildCtx, tc.ctx}))
		if rec.Code != http.StatusOK && rec.Code != protocol.StatusBuildFailed {
			t.Fatalf("build %s: %d %s", tc.ctx, rec.Code, rec.Body)
		}
		want[0] += tc.hits
		want[1] += tc.misses
		mfs := scrape(t, s)
		if h, _ := value(mfs, "fwbuild_ccache_hits_total"); h != want[0] {
			t.Errorf("after %s: ccache hits %v, want %v", tc.ctx, h, want[0])
		}
		if m, _ := value(mfs, "fwbuild_ccache_misses_total"); m != want[1] {
			t.Errorf("after %s: ccache misses %v, want %v", tc.ctx, m, want[1])
		}
	}
}
