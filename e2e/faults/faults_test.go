// Package faults is the fault-injection suite: the build server, and the
// client, killed with SIGKILL at points spread over a build's life
// (common/faultpoint), then the next build checked against a clean build
// of its sources. The points are picked from a seed, printed with the
// command that replays them.
package faults

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
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
	runner string // --build-runner
	work   string
	sdk    string
	mosEnv []string
	srv    *harness.Server
	starts int
}

func newWorld(t *testing.T) *world {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	w := &world{t: t, work: t.TempDir(), runner: "native"}
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
		Manager: bins.Manager, Mos: bins.Mos, Runner: w.runner,
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
	serverKilledAnywhere(t, newWorld(t), *pointsFlag)
}

// TestServerKilledAnywhereDockerRunner is the same with the docker runner
// (the server's default), on fewer points: each build starts a container.
func TestServerKilledAnywhereDockerRunner(t *testing.T) {
	testenv.RequireDocker(t)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "sdk-host", "platforms", "host", "sdk.version"))
	if err != nil {
		t.Fatal(err)
	}
	image := strings.TrimSpace(string(b))
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Skipf("SDK image %s is absent (scripts/sdk-image.sh makes it; .ci/run does); skipping", image)
	}
	w := newWorld(t)
	w.runner = "docker"
	serverKilledAnywhere(t, w, (*pointsFlag+2)/3)
}

func serverKilledAnywhere(t *testing.T, w *world, points int) {
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

	ps := picks(sd, counts, points)
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
	if want := points * 4 / 5; killed < want {
		t.Errorf("only %d kill points reached; want at least %d", killed, want)
	}
}

// fileSums maps each file of build/ (but logs) to its SHA-256.
func fileSums(t *testing.T, build string) map[string]string {
	t.Helper()
	list, err := filetree.List(build, filetree.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list {
		if strings.HasSuffix(e.Path, ".log") {
			continue
		}
		out[e.Path] = e.SHA256
	}
	return out
}

// wholeResult fails unless build/ holds one result: fw.zip's ELF is
// build/objs/hello.elf, and its manifest's build id is build/gen's.
func wholeResult(t *testing.T, what, build string) {
	t.Helper()
	z, err := zip.OpenReader(filepath.Join(build, "fw.zip"))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	defer z.Close()
	var elf, manifest []byte
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		switch path.Base(f.Name) {
		case "hello.elf":
			elf = b
		case "manifest.json":
			manifest = b
		}
	}
	objs, err := os.ReadFile(filepath.Join(build, "objs", "hello.elf"))
	if err != nil || !bytes.Equal(objs, elf) {
		t.Errorf("%s: build/objs/hello.elf (%v) is not the ELF of build/fw.zip: build/ is mixed", what, err)
	}
	info, err := os.ReadFile(filepath.Join(build, "gen", "build_info.json"))
	var a, b struct {
		BuildID string `json:"build_id"`
	}
	json.Unmarshal(info, &a)
	json.Unmarshal(manifest, &b)
	if err != nil || a.BuildID == "" || a.BuildID != b.BuildID {
		t.Errorf("%s: build/gen says build %q (%v), fw.zip %q: build/ is mixed", what, a.BuildID, err, b.BuildID)
	}
	for _, e := range mustReadDir(t, build) {
		if strings.HasPrefix(e, ".mos-result-") {
			t.Errorf("%s: %s left in build/", what, e)
		}
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestClientKilledWhileInstalling: the client is killed with SIGKILL while
// it unpacks and installs the result of version 2 over version 1's, or
// while it updates its gen and hash caches after that. Its
// next run first finishes that install: build/ then holds one whole
// result, never a mix; and the next build gives a clean build's firmware.
func TestClientKilledWhileInstalling(t *testing.T) {
	w := newWorld(t)
	sd := seed(t)
	w.start()
	ref2 := w.app(filepath.Join(w.work, "ref2"), 2, "ref")
	w.mustBuild(ref2, "--build-context", "ref_2")
	refFiles := fileSums(t, filepath.Join(ref2, "build"))

	trace := filepath.Join(w.work, "client-trace")
	app := filepath.Join(w.work, "census")
	w.mustBuild(w.app(app, 1, "census"), "--build-context", "census")
	if _, err := w.build(w.app(app, 2, "census"), []string{faultpoint.EnvTrace + "=" + trace}, "--build-context", "census"); err != nil {
		t.Fatal(err)
	}
	counts := w.census(trace, func() {})
	for p := range counts {
		if !strings.HasPrefix(p, "install.") && !strings.HasPrefix(p, "gencache.") && !strings.HasPrefix(p, "hashcache.") && p != "archive.extract" {
			delete(counts, p)
		}
	}
	t.Logf("fault points of the client's install: %v", counts)
	// How many files a delta result carries varies a little from build to
	// build: kill points are drawn from the first two thirds of each.
	for p, c := range counts {
		counts[p] = max(1, c*2/3)
	}
	if counts["install.place"] == 0 || counts["install.journal"] == 0 {
		t.Fatalf("the install hit no fault point: %v", counts)
	}

	n := *pointsFlag / 2
	if n < 10 {
		n = 10
	}
	killed := 0
	for i, p := range picks(sd, counts, n) {
		name := fmt.Sprintf("ci_client_%d", i)
		dir := w.app(filepath.Join(w.work, "app", name), 1, "ref")
		w.mustBuild(dir, "--build-context", name)
		build := filepath.Join(dir, "build")
		old := fileSums(t, build)

		_, err := w.build(w.app(dir, 2, "ref"), []string{faultpoint.EnvKill + "=" + p.String()}, "--build-context", name)
		switch {
		case killedBySIGKILL(errors.Unwrap(err)):
			killed++
		case err == nil:
			// A point whose count varies (how many files a delta result
			// carries) may not come again: the build then just ran.
			t.Logf("%v: not reached", p)
		default:
			t.Fatalf("%v: mos failed without being killed: %v", p, err)
		}
		// The next run, even one that reaches no server, finishes the
		// install before anything else.
		if _, err := harness.Build(context.Background(), bins.Mos, dir, w.mosEnv,
			[]string{"build", "--server", "http://127.0.0.1:1", "--repo", w.sdk, "--build-context", name}, nil); err == nil {
			t.Fatalf("%v: a build against no server succeeded", p)
		}
		if now := fileSums(t, build); !reflect.DeepEqual(now, old) {
			wholeResult(t, p.String()+", after the next run", build)
			if v := versionIn(t, build); v != "SOURCE VERSION 2" {
				t.Errorf("%v: build/ changed but holds %q", p, v)
			}
		}

		w.mustBuild(dir, "--build-context", name)
		wholeResult(t, p.String(), build)
		sameAs(t, p.String(), build, filepath.Join(ref2, "build"))
		got := fileSums(t, build)
		for f := range refFiles {
			if _, ok := got[f]; !ok {
				t.Errorf("%v: build/%s missing", p, f)
			}
		}
		for f := range got {
			if _, ok := refFiles[f]; !ok {
				t.Errorf("%v: build/%s is not in a clean build's result", p, f)
			}
		}
	}
	t.Logf("the client killed at %d of %d points", killed, n)
	if killed < n*4/5 {
		t.Errorf("only %d kill points reached; want at least %d", killed, n*4/5)
	}
}
