// Package faults is the fault-injection suite: the build server, and the
// client, killed with SIGKILL at points spread over a build's life
// (common/faultpoint), then the next build checked against a clean build
// of its sources. The points are picked from a seed, printed with the
// command that replays them.
package faults

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/fwcompare"
	"github.com/mongoose-os/mos/common/testenv"
)

var (
	seedFlag   = flag.Uint64("faults.seed", 0, "seed that picks the kill points (0: from the clock)")
	pointsFlag = flag.Int("faults.points", 24, "kill points per test")
)

var bins harness.Binaries

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(harness.WithBinaries("mos-faults-bin-", func(b harness.Binaries) int {
		bins = b
		return m.Run()
	}))
}

func seed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d: replay with go test ./e2e/faults -run '^%s$' -faults.seed=%d", s, t.Name(), s)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d: replay with go test ./e2e/faults -run '^%s$' -faults.seed=%d", s, t.Name(), s)
		}
	})
	return s
}

// world is a test's work dir with the host SDK, a mos home and a server
// that can be restarted with other environments.
type world struct {
	t      *testing.T
	work   string
	sdk    string
	mosEnv []string
	srv    *harness.Server
	starts int
}

func newWorld(t *testing.T) *world {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	w := &world{t: t, work: t.TempDir()}
	w.sdk = filepath.Join(w.work, "sdk-host")
	if err := harness.CopyTree(filepath.Join(testenv.RepoRoot(t), "examples", "sdk-host"), w.sdk, "build", "deps"); err != nil {
		t.Fatal(err)
	}
	w.mosEnv = []string{"MOS_DIR=" + filepath.Join(w.work, "mos-home")}
	t.Cleanup(func() {
		if w.srv != nil {
			w.srv.Stop()
		}
	})
	return w
}

func (w *world) logFile(n int) string { return filepath.Join(w.work, fmt.Sprintf("server-%d.log", n)) }

// start (re)starts the server on the same volumes dir with env added.
func (w *world) start(env ...string) {
	w.t.Helper()
	if w.srv != nil {
		w.srv.Stop()
	}
	w.starts++
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: "native",
		VolumesDir: filepath.Join(w.work, "volumes"), LogFile: w.logFile(w.starts), Env: env,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.srv = srv
}

// app writes an app of version v into dir: examples/hello whose main.c
// says which version it is, plus data files (synced, not compiled) that
// change with v, so the sync has files to add, change, chmod and remove.
// The data files also carry salt: the blobs of one run are new to the
// server's blob store, as the census's were.
func (w *world) app(dir string, v int, salt string) string {
	w.t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := harness.CopyTree(filepath.Join(testenv.RepoRoot(w.t), "examples", "hello"), dir, "build", "deps"); err != nil {
			w.t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "src", "main.c")
	b, err := os.ReadFile(main)
	if err != nil {
		w.t.Fatal(err)
	}
	s := string(b)
	if i := strings.Index(s, "\nconst char *source_version"); i >= 0 {
		s = s[:i+1]
	}
	s += fmt.Sprintf("const char *source_version = \"SOURCE VERSION %d\";\n", v)
	if err := os.WriteFile(main, []byte(s), 0o644); err != nil {
		w.t.Fatal(err)
	}
	data := filepath.Join(dir, "src", "data")
	os.RemoveAll(data)
	os.MkdirAll(data, 0o755)
	for i := 0; i < 300; i++ {
		if v%2 == 0 && i%10 == 0 {
			continue // removed in even versions
		}
		content := "data " + fmt.Sprint(i) + " " + salt
		if i%3 == 0 {
			content += fmt.Sprintf(" of version %d", v)
		}
		if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("f%03d.txt", i)), []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	mode := os.FileMode(0o644)
	if v%2 == 0 {
		mode = 0o755
	}
	tool := filepath.Join(data, "tool.sh")
	os.WriteFile(tool, []byte("#!/bin/sh\necho tool\n"), 0o644)
	os.Chmod(tool, mode)
	return dir
}

// build runs mos build in app against the current server.
func (w *world) build(app string, env []string, args ...string) (harness.Result, error) {
	args = append([]string{"build", "--server", w.srv.URL(), "--repo", w.sdk}, args...)
	return harness.Build(context.Background(), bins.Mos, app, append(append([]string{}, w.mosEnv...), env...), args, w.srv)
}

func (w *world) mustBuild(app string, args ...string) harness.Result {
	w.t.Helper()
	r, err := w.build(app, nil, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// census runs the scenario once with a trace and counts each point's hits
// in the build of the second version.
func (w *world) census(trace string, scenario func()) map[string]int {
	w.t.Helper()
	scenario()
	b, err := os.ReadFile(trace)
	if err != nil {
		w.t.Fatalf("no fault point was hit: %v", err)
	}
	counts := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		counts[l]++
	}
	return counts
}

type pick struct {
	point string
	n     int
}

func (p pick) String() string { return fmt.Sprintf("%s:%d", p.point, p.n) }

// picks chooses n kill points: the point names in turn (so every phase
// gets its share), each at a hit drawn from its census count.
func picks(seed uint64, counts map[string]int, n int) []pick {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var names []string
	for p := range counts {
		names = append(names, p)
	}
	sort.Strings(names)
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var out []pick
	seen := map[pick]bool{}
	for i := 0; len(out) < n && i < 20*n; i++ {
		p := names[i%len(names)]
		k := pick{p, 1 + rng.IntN(counts[p])}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// sameAs fails unless the build dir got holds the firmware of want's.
func sameAs(t *testing.T, what, got, want string) {
	t.Helper()
	r, err := fwcompare.BuildDirs(got, want)
	if err != nil {
		t.Fatalf("%s: comparing with a clean build: %v", what, err)
	}
	if !r.Equal() {
		t.Errorf("%s: differs from a clean build of its sources: %v", what, r.Diffs)
	}
	if r.Compared == 0 {
		t.Errorf("%s: nothing compared", what)
	}
}

// versionIn says which SOURCE VERSION the firmware ELF carries.
func versionIn(t *testing.T, build string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(build, "objs", "hello.elf"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "SOURCE VERSION ")
	if i < 0 {
		return "none"
	}
	return string(b[i : i+len("SOURCE VERSION ")+1])
}

// TestServerKilledAnywhere: a context built at version 1 gets version 2,
// and the server is killed with SIGKILL at a point of that build (reading
// the upload, unpacking, any step of the sync, while make runs, packing,
// sending the answer); restarted, it gets version 1 again (the issue's
// reproduction: it answered VERSION 2 firmware, trusting the old index).
// The firmware must be a clean build's of version 1.
func TestServerKilledAnywhere(t *testing.T) {
	w := newWorld(t)
	sd := seed(t)

	// The references: clean builds of each version in checkouts of their own.
	w.start()
	ref1 := w.app(filepath.Join(w.work, "ref1"), 1, "ref")
	w.mustBuild(ref1, "--build-context", "ref_1")

	trace := filepath.Join(w.work, "trace")
	app := filepath.Join(w.work, "census")
	counts := w.census(trace, func() {
		w.mustBuild(w.app(app, 1, "census"), "--build-context", "census")
		w.start(faultpoint.EnvTrace + "=" + trace)
		w.mustBuild(w.app(app, 2, "census"), "--build-context", "census")
		w.start()
	})
	t.Logf("fault points of an incremental build: %v", counts)
	for _, p := range []string{"server.plan", "sync.bringin", "sync.remove", "build.line", "build.ended", "archive.add", "server.send", "ctx.state", "ctx.index"} {
		if counts[p] == 0 {
			t.Errorf("point %s never hit by an incremental build", p)
		}
	}

	ps := picks(sd, counts, *pointsFlag)
	killed := 0
	for i, p := range ps {
		name := fmt.Sprintf("ci_crash_%d", i)
		dir := w.app(filepath.Join(w.work, "app", name), 1, name)
		w.mustBuild(dir, "--build-context", name)

		w.start(faultpoint.EnvKill + "=" + p.String())
		_, berr := w.build(w.app(dir, 2, name), nil, "--build-context", name)
		werr, ended := w.srv.Wait(10 * time.Second)
		switch {
		case ended && killedBySIGKILL(werr):
			killed++
		case ended:
			t.Fatalf("%v: the server ended with %v, not killed", p, werr)
		default:
			// A point whose count varies (how the body arrives in
			// reads) may not come again: the build then just ran.
			t.Logf("%v: not reached (build: %v)", p, berr)
		}

		w.start()
		r, err := w.build(w.app(dir, 1, name), nil, "--build-context", name)
		if err != nil {
			t.Fatalf("%v: the build after the restart failed: %v", p, err)
		}
		if v := versionIn(t, filepath.Join(dir, "build")); v != "SOURCE VERSION 1" {
			t.Errorf("%v: firmware says %q for version 1 sources\n%s", p, v, r.Output)
		}
		sameAs(t, p.String(), filepath.Join(dir, "build"), filepath.Join(ref1, "build"))
	}
	t.Logf("%d kill points picked, %d reached and killed the server", len(ps), killed)
	if killed < 20 {
		t.Errorf("only %d kill points reached; want at least 20", killed)
	}
}
