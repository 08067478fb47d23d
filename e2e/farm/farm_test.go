// Package farm tests the compile cache and the build farm end to end: our
// mos and fwbuild-manager binaries, Debian's ccache, redis-server and
// haproxy (with fwbuild/farm/haproxy.cfg as shipped), all on 127.0.0.1 and
// started and stopped by the tests themselves.
package farm

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

var bins harness.Binaries

func TestMain(m *testing.M) {
	os.Exit(harness.WithBinaries("mos-farm-bin-", func(b harness.Binaries) int {
		bins = b
		return m.Run()
	}))
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian package %s; .ci/run installs it)", tool, debPackage(tool))
		}
	}
}

func debPackage(tool string) string {
	switch tool {
	case "redis-server":
		return "redis-server"
	case "cc", "gcc":
		return "gcc"
	}
	return tool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitTCP waits, bounded, until an external process listens on addr; exited
// says it died first.
func waitTCP(t *testing.T, what, addr string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s", what, addr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 30 s", what, addr)
		}
	}
}

// proc is a process a test started; stop ends it (once).
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	once   sync.Once
}

func start(t *testing.T, name, logFile string, argv []string, env []string) *proc {
	t.Helper()
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), log: logFile}
	go func() { cmd.Wait(); lf.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			out, _ := os.ReadFile(logFile)
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("%s log (tail):\n%s", name, out)
		}
	})
	return p
}

// stop sends sig, then SIGKILL if the process is still there after 30 s.
func (p *proc) stop(sig syscall.Signal) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(sig)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

func startRedis(t *testing.T, dir string) (*proc, string) {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := start(t, "redis", filepath.Join(dir, "redis.log"),
		[]string{"redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", dir}, nil)
	waitTCP(t, "redis-server", addr, p.exited)
	return p, "redis://" + addr
}

// sandboxFlags: the default sandbox where bwrap works here, else none.
func sandboxFlags(t *testing.T) []string {
	sb := &runner.Sandbox{}
	if err := sb.CheckBwrap(); err != nil {
		t.Logf("builds run with --sandbox none: %v", err)
		return []string{"--sandbox", "none"}
	}
	return nil
}

type server struct {
	*proc
	name, addr, volumes string
}

func startServer(t *testing.T, dir, name string, flags ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	vol := filepath.Join(dir, name)
	argv := []string{bins.Manager, "--port", port, "--volumes-dir", vol, "--build-runner", "native",
		"--mos-binary", bins.Mos, "--logtostderr", "--v", "1", "--server-name", name}
	argv = append(argv, sandboxFlags(t)...)
	argv = append(argv, flags...)
	p := start(t, name, filepath.Join(dir, name+".log"), argv, nil)
	waitTCP(t, name, addr, p.exited)
	return &server{proc: p, name: name, addr: addr, volumes: vol}
}

// farm is 3 servers sharing one Redis behind HAProxy, and a recording
// proxy in front of HAProxy that notes which server answered each request.
type farm struct {
	t       *testing.T
	servers []*server
	redis   *proc
	url     string

	mu      sync.Mutex
	answers []answer
}

type answer struct{ affinity, server string }

func startFarm(t *testing.T, serverFlags ...string) *farm {
	t.Helper()
	requireTools(t, "redis-server", "haproxy", "ccache", "make", "gcc")
	dir := t.TempDir()
	f := &farm{t: t}
	var remote string
	f.redis, remote = startRedis(t, dir)
	env := []string{}
	for i := 1; i <= 3; i++ {
		flags := append([]string{"--ccache-remote", remote}, serverFlags...)
		s := startServer(t, dir, fmt.Sprintf("fw%d", i), flags...)
		f.servers = append(f.servers, s)
		env = append(env, fmt.Sprintf("FW%d=%s", i, s.addr))
	}
	bind := freeAddr(t)
	cfg := filepath.Join(testenv.RepoRoot(t), "fwbuild", "farm", "haproxy.cfg")
	hp := start(t, "haproxy", filepath.Join(dir, "haproxy.log"), []string{"haproxy", "-db", "-f", cfg}, append(env, "FARM_BIND="+bind))
	waitTCP(t, "haproxy", bind, hp.exited)

	target, _ := url.Parse("http://" + bind)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		f.mu.Lock()
		f.answers = append(f.answers, answer{r.Request.Header.Get(protocol.HeaderAffinity), r.Header.Get(protocol.HeaderServer)})
		f.mu.Unlock()
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rp}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	f.url = "http://" + ln.Addr().String()
	return f
}

// since returns the answers recorded after the first n.
func (f *farm) since(n int) []answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]answer(nil), f.answers[n:]...)
}

func (f *farm) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.answers)
}

func (f *farm) server(name string) *server {
	for _, s := range f.servers {
		if s.name == name {
			return s
		}
	}
	f.t.Fatalf("no server %q", name)
	return nil
}

// checkout copies examples/hello and examples/sdk-host to dir.
func checkout(t *testing.T, dir string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	for _, ex := range []string{"hello", "sdk-host"} {
		if err := harness.CopyTree(filepath.Join(root, "examples", ex), filepath.Join(dir, ex), "build", "deps"); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "hello")
}

// outcome is one build through the farm: who built, what ccache said.
type outcome struct {
	server string
	stats  runner.CcacheStats
	log    string
	secs   float64
}

// build runs mos build in app against the farm in context ctx.
func (f *farm) build(app, mosHome, ctx string, more ...string) outcome {
	f.t.Helper()
	n := f.count()
	args := append([]string{"build", "--server", f.url, "--repo", "../sdk-host", "--build-context", ctx}, more...)
	r, err := harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + mosHome}, args, nil)
	if err != nil {
		f.t.Fatalf("context %s: %v", ctx, err)
	}
	o := outcome{secs: r.Seconds}
	servers := map[string]bool{}
	for _, a := range f.since(n) {
		if want := "hello/host/" + ctx; a.affinity != want {
			f.t.Errorf("context %s: request with %s %q, want %q", ctx, protocol.HeaderAffinity, a.affinity, want)
		}
		servers[a.server] = true
		o.server = a.server
	}
	if len(servers) != 1 || o.server == "" {
		f.t.Fatalf("context %s: the build's requests were answered by %v, want one named server", ctx, servers)
	}
	log, _ := os.ReadFile(filepath.Join(app, "build", "build.log"))
	o.log = string(log)
	if st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile)); err == nil {
		o.stats = st
	}
	return o
}

func ccacheWarnings(log string) []string {
	var w []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "Warning: ccache") {
			w = append(w, l)
		}
	}
	return w
}

// TestFarmAffinity: 4 contexts x 3 builds land on one server per context;
// a new context of an app built before compiles from the shared cache,
// wherever it lands.
func TestFarmAffinity(t *testing.T) {
	f := startFarm(t)
	work := t.TempDir()
	where := map[string]string{}
	for i := 1; i <= 4; i++ {
		ctx := fmt.Sprintf("branch_%d", i)
		app := checkout(t, filepath.Join(work, ctx))
		home := filepath.Join(work, ctx+"-home")
		for b := 1; b <= 3; b++ {
			if b == 3 {
				f2, err := os.OpenFile(filepath.Join(app, "src", "main.c"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(f2, "int farm_edit_%d;\n", i)
				f2.Close()
			}
			o := f.build(app, home, ctx)
			t.Logf("context %s build %d: server %s, %.1f s, %s", ctx, b, o.server, o.secs, o.stats)
			if prev, ok := where[ctx]; ok && prev != o.server {
				t.Errorf("context %s: build %d on %s, earlier ones on %s", ctx, b, o.server, prev)
			}
			where[ctx] = o.server
			if b == 1 && i > 1 {
				// The app was built before (another context, maybe another
				// server): its first build compiles from the cache.
				if o.stats.Compiles() == 0 || o.stats.HitRate() < 0.9 {
					t.Errorf("context %s, first build on %s: %s; want >= 90%% hits", ctx, o.server, o.stats)
				}
			}
			if w := ccacheWarnings(o.log); len(w) > 0 {
				t.Errorf("context %s: ccache warnings %q", ctx, w)
			}
		}
	}
	t.Logf("contexts by server: %v", where)
}

// TestFarmServerDies: the server of a context is killed (SIGKILL); the
// context's next builds succeed on another server, which creates the named
// context and compiles it from Redis, and stay there.
func TestFarmServerDies(t *testing.T) {
	f := startFarm(t)
	work := t.TempDir()
	app := checkout(t, filepath.Join(work, "a"))
	home := filepath.Join(work, "home")
	first := f.build(app, home, "ci_main")
	if first.stats.Compiles() == 0 {
		t.Fatalf("first build: no compiles counted by ccache:\n%s", first.log)
	}
	f.server(first.server).stop(syscall.SIGKILL)
	t.Logf("killed %s, which built ci_main (%s)", first.server, first.stats)

	app2 := checkout(t, filepath.Join(work, "b")) // a clean checkout, as a CI job has
	next := f.build(app2, filepath.Join(work, "home2"), "ci_main")
	if next.server == first.server {
		t.Fatalf("the build after the kill was answered by %s, the killed server", next.server)
	}
	t.Logf("after the kill: %s, %.1f s, %s", next.server, next.secs, next.stats)
	if next.stats.Compiles() == 0 || next.stats.HitRate() < 0.9 || next.stats.RemoteHits == 0 {
		t.Errorf("after the kill, on %s: %s; want >= 90%% hits, from the remote storage", next.server, next.stats)
	}
	again := f.build(app2, filepath.Join(work, "home2"), "ci_main")
	if again.server != next.server {
		t.Errorf("the context moved again: %s, then %s", next.server, again.server)
	}
}

// TestFarmRedisDown: with Redis gone, builds still succeed on the local
// cache, with one warning line.
func TestFarmRedisDown(t *testing.T) {
	f := startFarm(t)
	work := t.TempDir()
	f.redis.stop(syscall.SIGTERM)
	app := checkout(t, filepath.Join(work, "a"))
	o := f.build(app, filepath.Join(work, "home"), "no_redis")
	w := ccacheWarnings(o.log)
	if len(w) != 1 || !strings.Contains(w[0], "remote storage redis://") {
		t.Errorf("warnings %q, want one about the remote storage", w)
	}
	if o.stats.Compiles() == 0 || o.stats.RemoteErrors != 0 {
		t.Errorf("stats %s: want compiles counted and no remote errors (the remote is left out)", o.stats)
	}
}

// TestFarmCcacheOff: with --ccache=false builds succeed and say nothing of
// ccache.
func TestFarmCcacheOff(t *testing.T) {
	requireTools(t, "make", "gcc")
	dir := t.TempDir()
	s := startServer(t, dir, "fw_off", "--ccache=false")
	app := checkout(t, filepath.Join(dir, "a"))
	r, err := harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "home")},
		[]string{"build", "--server", "http://" + s.addr, "--repo", "../sdk-host"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(filepath.Join(app, "build", "build.log"))
	if bytes.Contains(log, []byte("ccache")) || r.Compiled == 0 {
		t.Errorf("--ccache=false: %d compiled, log mentions ccache:\n%s", r.Compiled, log)
	}
	if _, err := os.Stat(filepath.Join(s.volumes, "ccache")); err == nil {
		t.Errorf("--ccache=false made %s", filepath.Join(s.volumes, "ccache"))
	}
}

// TestMetricsCountLoggedHits: /metrics' fwbuild_ccache_hits_total is, right
// after each build, the sum of the hits the builds' logs counted (native
// runner; e2e/realcore tests the docker runner).
func TestMetricsCountLoggedHits(t *testing.T) {
	requireTools(t, "ccache", "make", "gcc")
	dir := t.TempDir()
	// New contexts compile through the cache, not start as copies of the
	// last (which compile nothing).
	s := startServer(t, dir, "fw_metrics", "--adopt-contexts=false")
	hits := 0
	for i, ctx := range []string{"m_one", "m_two", "m_three"} {
		app := checkout(t, filepath.Join(dir, ctx))
		if _, err := harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "home")},
			[]string{"build", "--server", "http://" + s.addr, "--repo", "../sdk-host", "--build-context", ctx}, nil); err != nil {
			t.Fatal(err)
		}
		st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile))
		if err != nil {
			t.Fatalf("context %s: %v", ctx, err)
		}
		if i > 0 && st.Hits == 0 {
			t.Errorf("context %s: %s; want hits (the app was built before)", ctx, st)
		}
		hits += st.Hits
		got, err := testenv.Metric("http://"+s.addr+"/metrics", "fwbuild_ccache_hits_total")
		if err != nil {
			t.Fatal(err)
		}
		if got != float64(hits) {
			t.Errorf("after context %s (%s): /metrics says %v hits, the build logs %d", ctx, st, got, hits)
		}
	}
}
