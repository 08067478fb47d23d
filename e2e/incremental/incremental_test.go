package incremental

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/bench/suite"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/fwcompare"
	"github.com/mongoose-os/mos/common/testenv"
)

var (
	seedFlag = flag.Uint64("incremental.seed", 0, "seed of the edit sequence (0: from the clock)")
	longFlag = flag.Bool("incremental.long", false, "run 40 random steps, the reference server without ccache (by hand: tens of minutes)")
)

// longSteps is the length of a long run.
const longSteps = 40

var bins harness.Binaries

func TestMain(m *testing.M) {
	os.Exit(harness.WithBinaries("mos-incremental-bin-", func(b harness.Binaries) int {
		bins = b
		return m.Run()
	}))
}

// run is one test's sequence: the seed, and how to repeat it.
type run struct {
	seed uint64
	long bool
}

func (r run) String() string {
	cmd := fmt.Sprintf("go test -count=1 -timeout 0 -run TestIncrementalEqualsClean ./e2e/incremental/ -v -incremental.seed=%d", r.seed)
	if r.long {
		cmd += " -incremental.long"
	}
	return fmt.Sprintf("seed %d (repeat: %s)", r.seed, cmd)
}

func newRun() run {
	r := run{seed: *seedFlag, long: *longFlag}
	if r.seed == 0 {
		r.seed = uint64(time.Now().UnixNano())
	}
	return r
}

// TestIncrementalEqualsClean: see the package comment.
func TestIncrementalEqualsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping some 30 real-core builds (make test runs them)")
	}
	for _, tool := range []string{"make", "clang", "python3"} {
		testenv.RequireTool(t, tool)
	}
	src := filepath.Join(testenv.SharedDir(t), "real")
	if _, err := os.Stat(filepath.Join(src, "mongoose-os", "platforms", "ubuntu", "Makefile.build")); err != nil {
		t.Skipf("the real core is absent (%v); skipping", err)
	}
	r := newRun()
	t.Logf("incremental: %s", r)
	// Whatever failed, the last word is how to repeat the run.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed: %s", r)
		}
	})
	rng := rand.New(rand.NewPCG(r.seed, 0x1ce))
	steps := plan(rng, r.long, longSteps)
	t.Logf("plan: %d steps: %s", len(steps), joinKinds(steps))

	work := t.TempDir()
	real := filepath.Join(work, "real")
	testenv.CopyDir(t, src, real)
	// The clean builds' server never starts a context as a copy of another
	// (--adopt-contexts=false): its builds are the reference.
	refFlags := []string{"--max-contexts-size", "3000000000", "--adopt-contexts=false"}
	if r.long {
		refFlags = append(refFlags, "--ccache=false")
	}
	var incrSrv, refSrv *harness.Server
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); incrSrv = startServer(t, work, "incr") }()
	go func() { defer wg.Done(); refSrv = startServer(t, work, "ref", refFlags...) }()
	wg.Wait()
	if incrSrv == nil || refSrv == nil {
		t.Fatal("a server did not start (see above)")
	}

	incrApp := filepath.Join(work, "incr", "app")
	a := newApp()
	files := a.render()
	writeApp(t, incrApp, nil, files, edit{})
	start := time.Now()
	var prevClean string // the previous step's clean build dir
	firmwareChanged := 0
	incrSteps := 0 // steps built incrementally indeed (fewer files compiled)
	incrCtx := "incr"
	for step := 0; step <= len(steps); step++ {
		e := edit{kind: "initial", what: "first build", firmware: true}
		// Every fourth step goes to a new context, which the server starts
		// as a copy of the nearest one (the last): adopted contexts must
		// build what a clean build does too.
		if step > 0 && step%4 == 0 {
			incrCtx = fmt.Sprintf("incr_%d", step)
		}
		if step > 0 {
			e = a.apply(steps[step-1], rng)
			next := a.render()
			writeApp(t, incrApp, files, next, e)
			files = next
		}
		where := fmt.Sprintf("step %d/%d (%s: %s), %s", step, len(steps), e.kind, e.what, r)

		cleanRoot := filepath.Join(work, fmt.Sprintf("clean_%d", step))
		cleanApp := filepath.Join(cleanRoot, "app")
		if err := harness.CopyTree(incrApp, cleanApp, "build"); err != nil {
			t.Fatalf("%s: copying the app for the clean build: %v", where, err)
		}
		stepStart := time.Now()
		var incrRes, cleanRes harness.Result
		var incrErr, cleanErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			incrRes, incrErr = build(incrSrv, incrApp, filepath.Join(work, "incr", "home"), incrCtx, real)
		}()
		go func() {
			defer wg.Done()
			cleanRes, cleanErr = build(refSrv, cleanApp, filepath.Join(cleanRoot, "home"), fmt.Sprintf("clean_%d", step), real)
		}()
		wg.Wait()
		if incrErr != nil || cleanErr != nil {
			t.Fatalf("%s: incremental build: %v; clean build: %v", where, incrErr, cleanErr)
		}
		incrBuild, cleanBuild := filepath.Join(incrApp, "build"), filepath.Join(cleanApp, "build")
		rep, err := fwcompare.BuildDirs(incrBuild, cleanBuild)
		if err != nil {
			t.Fatalf("%s: comparing: %v", where, err)
		}
		if rep.Compared == 0 {
			t.Fatalf("%s: nothing compared: no firmware in %s or %s", where, incrBuild, cleanBuild)
		}
		t.Logf("step %d %s (%s): incremental in %s %.1f s, %d compiled; clean %.1f s, %d compiled; %d bytes compared, %d differences",
			step, e.kind, e.what, incrCtx, incrRes.Seconds, incrRes.Compiled, cleanRes.Seconds, cleanRes.Compiled, rep.Compared, len(rep.Diffs))
		if e.incremental {
			incrSteps++
			if incrRes.Compiled >= cleanRes.Compiled {
				t.Fatalf("%s: the incremental build compiled %d files, the clean one %d: the context was not reused incrementally",
					where, incrRes.Compiled, cleanRes.Compiled)
			}
		}
		if !rep.Equal() {
			for i, d := range rep.Diffs {
				if i == 20 {
					t.Errorf("... %d more", len(rep.Diffs)-i)
					break
				}
				t.Errorf("%s: incremental (%s) differs from clean (%s): %s", where, incrBuild, cleanBuild, d)
			}
			t.Fatalf("%s: the incremental build is not the clean one; edits so far: %s", where, joinKinds(steps[:step]))
		}

		// The edit must be in the firmware: this clean build differs from
		// the previous step's, which is what a build that missed the edit
		// would have given.
		if prevClean != "" {
			stale, err := fwcompare.BuildDirs(prevClean, cleanBuild)
			if err != nil {
				t.Fatalf("%s: comparing with the previous step: %v", where, err)
			}
			if !stale.Equal() {
				firmwareChanged++
			}
			if e.firmware && stale.Equal() {
				t.Fatalf("%s: the firmware is the previous step's: the edit is not visible, so the comparison proves nothing", where)
			}
			// The previous clean app is no longer needed.
			if err := os.RemoveAll(filepath.Dir(filepath.Dir(prevClean))); err != nil {
				t.Fatal(err)
			}
		}
		prevClean = cleanBuild
		t.Logf("step %d took %.1f s", step, time.Since(stepStart).Seconds())
	}
	if len(steps) > 0 && firmwareChanged == 0 {
		t.Fatalf("no step changed the firmware; %s", r)
	}
	t.Logf("%d steps, every incremental build equal to its clean build; %d of them changed the firmware, %d were built incrementally (fewer files compiled); %.0f s; %s",
		len(steps), firmwareChanged, incrSteps, time.Since(start).Seconds(), r)
}

func joinKinds(ks []kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, " ")
}

// build runs our mos against srv in the context named ctx.
func build(srv *harness.Server, app, home, ctx, real string) (harness.Result, error) {
	args := append([]string{"build", "--server", srv.URL(), "--build-context", ctx}, suite.RealFlags(real)...)
	return harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + home}, args, srv)
}

// startServer starts fwbuild-manager (native runner, in the bwrap sandbox
// where it works here) with its own volumes dir under work.
func startServer(t *testing.T, work, name string, flags ...string) *harness.Server {
	extra := []string{"--server-name", name}
	sb := &runner.Sandbox{}
	if err := sb.CheckBwrap(); err != nil {
		t.Logf("%s: builds run with --sandbox none: %v", name, err)
		extra = append(extra, "--sandbox", "none")
	}
	logFile := filepath.Join(work, name+".log")
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: "native",
		VolumesDir: filepath.Join(work, name+"-volumes"), LogFile: logFile,
		Extra: append(extra, flags...),
	})
	if err != nil {
		t.Errorf("starting server %s: %v", name, err)
		return nil
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			out, _ := os.ReadFile(logFile)
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("server %s log (tail):\n%s", name, out)
		}
	})
	return srv
}

// oldMtimeBase is when the lib's releases were "made": a day ago. Each
// switch gets its own minute after it, as each release has its own date.
var oldMtimeBase = time.Now().Add(-24 * time.Hour).Truncate(time.Second)

// writeApp brings dir from the files old to the files next as a user's
// edit would: a rename first (mtime kept), then only the files whose
// content changed are written (with e's old mtime, if any) and the files
// gone are removed.
func writeApp(t *testing.T, dir string, old, next map[string]string, e edit) {
	t.Helper()
	if e.rename[0] != "" {
		from, to := filepath.Join(dir, filepath.FromSlash(e.rename[0])), filepath.Join(dir, filepath.FromSlash(e.rename[1]))
		if err := os.Rename(from, to); err != nil {
			t.Fatalf("%s: %v", e.what, err)
		}
		old[e.rename[1]] = old[e.rename[0]]
		delete(old, e.rename[0])
	}
	for _, p := range sortedPaths(next) {
		content := next[p]
		if prev, ok := old[p]; ok && prev == content {
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if e.oldMtimes > 0 {
			mt := oldMtimeBase.Add(time.Duration(e.oldMtimes) * time.Minute)
			if err := os.Chtimes(full, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range sortedPaths(old) {
		if _, ok := next[p]; !ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				t.Fatalf("%s: %v", e.what, err)
			}
		}
	}
}
