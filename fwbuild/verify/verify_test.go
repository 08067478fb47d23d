package verify

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/queue"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if err := flag.Set("logtostderr", "true"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

var testKey = buildctx.Key{Version: "2.20.0", App: "hello", Platform: "esp32"}

// fakeBuild is what the fake runner makes of a context: build/fs/app.bin
// from src/main.c, build/gen/conf0.json from conf.json; nothing (a failed
// build) when main.c says "broken".
func fakeBuild(dir string) (failed bool, err error) {
	src, err := os.ReadFile(filepath.Join(dir, "src", "main.c"))
	if err != nil {
		return false, err
	}
	if strings.Contains(string(src), "broken") {
		return true, nil
	}
	conf, err := os.ReadFile(filepath.Join(dir, "conf.json"))
	if err != nil {
		return false, err
	}
	for p, b := range map[string][]byte{"fs/app.bin": append([]byte("APP:"), src...), "gen/conf0.json": conf} {
		full := filepath.Join(dir, "build", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return false, err
		}
	}
	return false, nil
}

// fakeRunner builds with fakeBuild; with gate set, each build waits for a
// token on it (or its end) after telling started.
type fakeRunner struct {
	started chan builder.Request
	gate    chan struct{}
	// brokenClean makes clean builds fail whatever their input.
	brokenClean bool

	mu   sync.Mutex
	reqs []builder.Request
}

func (f *fakeRunner) Run(ctx context.Context, req builder.Request) (builder.Result, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.started != nil {
		f.started <- req
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return builder.Result{Failed: true, Reason: "stopped"}, nil
		}
	}
	if f.brokenClean {
		return builder.Result{Failed: true, Reason: "build failed: mos exit status 2"}, nil
	}
	if _, err := os.Stat(req.ParamsFile); err != nil {
		return builder.Result{}, err
	}
	failed, err := fakeBuild(req.Dir)
	if failed {
		return builder.Result{Failed: true, Reason: "build failed: mos exit status 2"}, nil
	}
	return builder.Result{}, err
}

func (f *fakeRunner) calls() []builder.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]builder.Request(nil), f.reqs...)
}

type env struct {
	t      *testing.T
	store  *buildctx.Store
	queue  *queue.Queue
	tmp    string
	runner *fakeRunner
	done   chan Outcome
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	store, err := buildctx.NewStore(filepath.Join(root, "volumes"), buildctx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "volumes", "tmp", "srv_test")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: store, queue: queue.New(2, queue.Options{}), tmp: tmp, runner: &fakeRunner{}, done: make(chan Outcome, 16)}
}

func (e *env) verifier(o Options) *Verifier {
	e.t.Helper()
	o.Store, o.Queue, o.Runner, o.TempDir = e.store, e.queue, e.runner, e.tmp
	o.LibsCacheDir = filepath.Join(e.store.Root(), "libcache")
	o.OnDone = func(out Outcome) { e.done <- out }
	v, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(v.Close)
	return v
}

// build uploads files into context name as the server does (Update,
// Prepare), builds it with fakeBuild and returns it locked, as Offer
// gets it.
func (e *env) build(name string, files map[string]string) *buildctx.Context {
	e.t.Helper()
	src := filepath.Join(e.t.TempDir(), "src")
	for p, content := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	list, err := filetree.List(src, filetree.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.store.Lock(context.Background(), testKey, name)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.Update(src, list, false, nil); err != nil {
		e.t.Fatal(err)
	}
	if err := c.Prepare([]byte("manifestadjustments:\n  platform: esp32\n")); err != nil {
		e.t.Fatal(err)
	}
	if failed, err := fakeBuild(c.Dir); err != nil || failed {
		e.t.Fatalf("fake build: failed %v, %v", failed, err)
	}
	return c
}

func app(main string) map[string]string {
	return map[string]string{"mos.yml": "name: hello\n", "src/main.c": main, "conf.json": `{"a": 1}`}
}

// offer offers c and unlocks it, as the server's build does.
func offer(t *testing.T, v *Verifier, c *buildctx.Context) {
	t.Helper()
	v.Offer(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirty reports whether context name is marked dirty.
func (e *env) dirty(name string) bool {
	c, err := e.store.Lock(context.Background(), testKey, name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	return c.Dirty()
}

// snapshots lists what verification keeps in the temp area.
func (e *env) snapshots() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.tmp)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	return out
}

func TestFractionZeroNeverVerifies(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(Options{Fraction: 0, Rand: func() float64 { return 0 }})
	for i := range 20 {
		offer(t, v, e.build("c", app("int main(void) { return "+string(rune('0'+i%10))+"; }")))
	}
	if n := len(e.runner.calls()); n != 0 {
		t.Errorf("%d clean builds with fraction 0", n)
	}
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("snapshots kept with fraction 0: %v", s)
	}
	if st := v.Stats(); st.Equal+st.Mismatches+st.Errors+st.Skipped != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFractionPicksByRand(t *testing.T) {
	e := newEnv(t)
	draws := []float64{0.1, 0.9, 0.29, 0.3, 0.99}
	var mu sync.Mutex
	v := e.verifier(Options{Fraction: 0.3, Rand: func() float64 {
		mu.Lock()
		defer mu.Unlock()
		d := draws[0]
		draws = draws[1:]
		return d
	}})
	for range 5 {
		offer(t, v, e.build("c", app("int main(void) { return 0; }")))
	}
	// 0.1 and 0.29 are under 0.3: two verifications.
	for range 2 {
		if out := <-e.done; out.Result != Equal {
			t.Errorf("outcome %+v", out)
		}
	}
	v.Close()
	if n := len(e.runner.calls()); n != 2 {
		t.Errorf("%d clean builds, want 2", n)
	}
}

func TestEqualLeavesTheContextClean(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Join(e.tmp, "verify_left_by_a_crash", "ctx"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := e.verifier(Options{Fraction: 1})
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("New left stale snapshots: %v", s)
	}
	offer(t, v, e.build("c", app("int main(void) { return 1; }")))
	out := <-e.done
	if out.Result != Equal || out.Name != "c" || out.Key != testKey {
		t.Fatalf("outcome %+v", out)
	}
	calls := e.runner.calls()
	if len(calls) != 1 {
		t.Fatalf("%d clean builds", len(calls))
	}
	req := calls[0]
	if !req.NoCcache || !strings.HasPrefix(req.Dir, e.tmp+string(filepath.Separator)) || req.ParamsFile != filepath.Join(req.Dir, "build_params.yml") || req.LibsCacheDir == "" {
		t.Errorf("clean build request %+v", req)
	}
	if e.dirty("c") {
		t.Error("context marked dirty after an equal verification")
	}
	st := v.Stats()
	if st.Equal != 1 || st.Mismatches != 0 || st.Errors != 0 || st.Skipped != 0 || st.QueuedBytes != 0 {
		t.Errorf("stats %+v", st)
	}
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("snapshot kept after verification: %v", s)
	}
}

// TestMismatchMarksDirty: an incremental result the clean build does not
// give (here: build/fs/app.bin changed behind make's back) is a mismatch:
// the context is marked dirty, counted, and recorded with its first
// difference.
func TestMismatchMarksDirty(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(Options{Fraction: 1})
	c := e.build("c", app("int main(void) { return 1; }"))
	if err := os.WriteFile(filepath.Join(c.BuildDir(), "fs", "app.bin"), []byte("APP: stale object"), 0o644); err != nil {
		t.Fatal(err)
	}
	offer(t, v, c)
	out := <-e.done
	if out.Result != Mismatch || !strings.HasPrefix(out.Why, "fs/app.bin") {
		t.Fatalf("outcome %+v", out)
	}
	if !e.dirty("c") {
		t.Error("context not marked dirty after a mismatch")
	}
	st := v.Stats()
	if st.Mismatches != 1 || st.Equal != 0 || len(st.Recent) != 1 || st.Recent[0].Name != "c" || st.Recent[0].First != out.Why || st.Recent[0].Key != testKey {
		t.Errorf("stats %+v", st)
	}
	// The next build of the context starts afresh.
	c2, err := e.store.Lock(context.Background(), testKey, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(filepath.Join(src, "src"), 0o755)
	os.WriteFile(filepath.Join(src, "src", "main.c"), []byte("x"), 0o644)
	list, _ := filetree.List(src, filetree.ListOptions{})
	up, err := c2.Update(src, list, false, nil)
	if err != nil || !up.Fresh {
		t.Errorf("next update after a mismatch: %+v, %v; want it fresh", up, err)
	}
}

func TestCleanBuildFailingIsAMismatch(t *testing.T) {
	e := newEnv(t)
	e.runner.brokenClean = true
	v := e.verifier(Options{Fraction: 1})
	offer(t, v, e.build("c", app("int main(void) { return 1; }")))
	out := <-e.done
	if out.Result != Mismatch || !strings.Contains(out.Why, "clean build failed where the incremental build succeeded") {
		t.Fatalf("outcome %+v", out)
	}
	if !e.dirty("c") || v.Stats().Mismatches != 1 {
		t.Errorf("dirty %v, stats %+v", e.dirty("c"), v.Stats())
	}
}

// TestContextDifferingFromItsIndex: a context file changed behind the
// index's back is found while snapshotting, with no clean build.
func TestContextDifferingFromItsIndex(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(Options{Fraction: 1})
	c := e.build("c", app("int main(void) { return 1; }"))
	if err := os.WriteFile(filepath.Join(c.Dir, "src", "main.c"), []byte("int main(void) { return 2; }"), 0o644); err != nil {
		t.Fatal(err)
	}
	offer(t, v, c)
	out := <-e.done
	if out.Result != Mismatch || !strings.HasPrefix(out.Why, "src/main.c: the context's copy differs from the upload") {
		t.Fatalf("outcome %+v", out)
	}
	if n := len(e.runner.calls()); n != 0 {
		t.Errorf("%d clean builds; none needed", n)
	}
	if !e.dirty("c") {
		t.Error("context not marked dirty")
	}
}

// TestQueueBound: while one verification runs, at most MaxQueued wait;
// the oldest is dropped and counted as skipped. Offer never waits.
func TestQueueBound(t *testing.T) {
	e := newEnv(t)
	e.runner.started = make(chan builder.Request, 8)
	e.runner.gate = make(chan struct{})
	v := e.verifier(Options{Fraction: 1, MaxQueued: 2})
	offer(t, v, e.build("c0", app("int main(void) { return 0; }")))
	<-e.runner.started // c0 is being verified
	for _, n := range []string{"c1", "c2", "c3"} {
		offer(t, v, e.build(n, app("int main(void) { return 1; }")))
	}
	out := <-e.done
	if out.Result != Skipped || out.Name != "c1" {
		t.Fatalf("first outcome %+v, want c1 skipped", out)
	}
	if st := v.Stats(); st.Queued != 2 || st.Skipped != 1 {
		t.Errorf("stats %+v", st)
	}
	close(e.runner.gate)
	got := map[string]Result{}
	for range 3 {
		out := <-e.done
		got[out.Name] = out.Result
	}
	if got["c0"] != Equal || got["c2"] != Equal || got["c3"] != Equal {
		t.Errorf("outcomes %v", got)
	}
}

// TestWaitsForAnIdleSlot: no clean build starts while every slot is
// taken; it starts once one is given back.
func TestWaitsForAnIdleSlot(t *testing.T) {
	e := newEnv(t)
	e.queue = queue.New(1, queue.Options{})
	e.runner.started = make(chan builder.Request, 1)
	v := e.verifier(Options{Fraction: 1})
	release, err := e.queue.AcquireSlot(context.Background(), "user build")
	if err != nil {
		t.Fatal(err)
	}
	e.runner.gate = make(chan struct{})
	offer(t, v, e.build("c", app("int main(void) { return 1; }")))
	select {
	case <-e.runner.started:
		t.Fatal("clean build started while the only slot was held by a build")
	default:
	}
	release()
	<-e.runner.started
	// Its own slot: the build's was given back.
	if e.queue.Running() != 1 {
		t.Errorf("%d slots taken during the clean build, want 1", e.queue.Running())
	}
	close(e.runner.gate)
	if out := <-e.done; out.Result != Equal {
		t.Errorf("outcome %+v", out)
	}
	if e.queue.Running() != 0 {
		t.Errorf("slot not given back: %d running", e.queue.Running())
	}
}

func TestTooBigIsSkipped(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(Options{Fraction: 1, MaxBytes: 40})
	offer(t, v, e.build("c", app("int main(void) { return 1; } /* well over forty bytes of source */")))
	out := <-e.done
	if out.Result != Skipped || !strings.Contains(out.Why, "exceeds the bytes") {
		t.Fatalf("outcome %+v", out)
	}
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("snapshot kept: %v", s)
	}
}

// TestCloseDropsPending: Close stops the running clean build, drops the
// queued ones (skipped) and removes every snapshot.
func TestCloseDropsPending(t *testing.T) {
	e := newEnv(t)
	e.runner.started = make(chan builder.Request, 4)
	e.runner.gate = make(chan struct{}) // never opened
	v := e.verifier(Options{Fraction: 1})
	offer(t, v, e.build("c0", app("int main(void) { return 0; }")))
	<-e.runner.started
	offer(t, v, e.build("c1", app("int main(void) { return 1; }")))
	v.Close()
	close(e.done)
	got := map[string]Result{}
	for out := range e.done {
		got[out.Name] = out.Result
	}
	if got["c0"] != Skipped || got["c1"] != Skipped || len(got) != 2 {
		t.Errorf("outcomes %v", got)
	}
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("snapshots left after Close: %v", s)
	}
	if st := v.Stats(); st.Skipped != 2 || st.Queued != 0 || st.QueuedBytes != 0 {
		t.Errorf("stats %+v", st)
	}
	// Offers after Close do nothing.
	c := e.build("c2", app("int main(void) { return 2; }"))
	v.Offer(c)
	c.Close()
	if s := e.snapshots(); len(s) != 0 {
		t.Errorf("Offer after Close kept %v", s)
	}
}
