package runner

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// ccacheApp writes an app dir whose makefile compiles three files with
// plain cc, passing absolute paths as the real core's makefile does.
func ccacheApp(t *testing.T, log *bytes.Buffer) *Job {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{
		"Makefile.build": {Content: "OBJS = $(patsubst $(SRC)/%.c,$(OUT)/%.o,$(wildcard $(SRC)/*.c))\n" +
			"all: $(OBJS)\n$(OUT)/%.o: $(SRC)/%.c\n\t@mkdir -p $(OUT)\n\tcc -MD -I$(SRC)/inc -c $< -o $@\n"},
		"src/inc/h.h": {Content: "#define N 3\n"},
		"src/a.c":     {Content: "#include \"h.h\"\nint a(void) { return N; }\n"},
		"src/b.c":     {Content: "#include \"h.h\"\nint b(void) { return N + 1; }\n"},
		"src/c.c":     {Content: "int c(void) { return 7; }\n"},
	})
	return &Job{
		AppDir: dir, MosDir: dir, Makefile: filepath.Join(dir, "Makefile.build"), Target: "all", Jobs: 2,
		Vars: []string{"SRC=" + filepath.Join(dir, "src"), "OUT=" + filepath.Join(dir, "build")}, Log: log,
	}
}

func runCcached(t *testing.T, n *Native, job *Job) CcacheStats {
	t.Helper()
	if err := n.Run(context.Background(), job); err != nil {
		t.Fatalf("%v\n%s", err, job.Log)
	}
	st, err := ReadCcacheStats(n.Ccache.StatsLog)
	if err != nil {
		t.Fatalf("%v\n%s", err, job.Log)
	}
	return st
}

func TestNativeCcacheHitsAcrossAppDirs(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "cc")
	testenv.RequireTool(t, "ccache")
	cache := t.TempDir()
	var log1, log2 bytes.Buffer
	j1, j2 := ccacheApp(t, &log1), ccacheApp(t, &log2)
	n1 := &Native{Ccache: &Ccache{Dir: cache, StatsLog: filepath.Join(j1.AppDir, "stats.log")}}
	n2 := &Native{Ccache: &Ccache{Dir: cache, StatsLog: filepath.Join(j2.AppDir, "stats.log")}}
	if st := runCcached(t, n1, j1); st.Misses != 3 || st.Hits != 0 {
		t.Fatalf("first app dir: %+v, want 3 misses\n%s", st, &log1)
	}
	// Another dir, same sources: every compile comes from the cache.
	if st := runCcached(t, n2, j2); st.Hits != 3 || st.Misses != 0 {
		t.Fatalf("second app dir: %+v, want 3 hits\n%s", st, &log2)
	}
	if !strings.Contains(log2.String(), "ccache: 3 of 3 compiles from the cache (100%), 0 from the remote storage, 0 compiled") {
		t.Errorf("no summary line in the log:\n%s", &log2)
	}
	for _, o := range []string{"a.o", "b.o", "c.o"} {
		a, _ := os.ReadFile(filepath.Join(j1.AppDir, "build", o))
		b, _ := os.ReadFile(filepath.Join(j2.AppDir, "build", o))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the compiled and the cached build", o)
		}
	}
	// The dependency file names the sources relative to the app dir
	// (base dir), so make in the second dir finds them.
	d, err := os.ReadFile(filepath.Join(j2.AppDir, "build", "a.d"))
	if err != nil || strings.Contains(string(d), j1.AppDir) {
		t.Errorf("a.d of the cached build names the first app dir (%v):\n%s", err, d)
	}
	// A changed header is a miss for the files including it only.
	os.WriteFile(filepath.Join(j2.AppDir, "src/inc/h.h"), []byte("#define N 4\n"), 0o644)
	os.RemoveAll(filepath.Join(j2.AppDir, "build"))
	if st := runCcached(t, n2, j2); st.Hits != 1 || st.Misses != 2 {
		t.Errorf("after a header change: %+v, want 1 hit 2 misses", st)
	}
}

func TestNativeCcacheMissingWarnsOnce(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "cc")
	var log bytes.Buffer
	job := ccacheApp(t, &log)
	n := &Native{Ccache: &Ccache{Dir: t.TempDir(), Binary: "no-such-ccache", StatsLog: filepath.Join(job.AppDir, "stats.log")}}
	if err := n.Run(context.Background(), job); err != nil {
		t.Fatalf("%v\n%s", err, &log)
	}
	if got := strings.Count(log.String(), "Warning: ccache"); got != 1 {
		t.Errorf("%d ccache warnings, want 1:\n%s", got, &log)
	}
	if _, err := os.Stat(filepath.Join(job.AppDir, "build", "c.o")); err != nil {
		t.Errorf("not built: %v", err)
	}
}

// startRedis runs redis-server on a free loopback port, stopped at the end.
func startRedis(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "redis-server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitTCP(t, addr)
	return addr
}

func TestNativeCcacheRemote(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "cc")
	testenv.RequireTool(t, "ccache")
	redis := startRedis(t)
	for _, sandboxed := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "sandboxed"}[sandboxed]
		t.Run(name, func(t *testing.T) {
			var sb *Sandbox
			if sandboxed {
				sb = &Sandbox{}
				if err := sb.CheckBwrap(); err != nil {
					t.Skipf("no sandbox here: %v", err)
				}
			}
			var log1, log2 bytes.Buffer
			j1, j2 := ccacheApp(t, &log1), ccacheApp(t, &log2)
			// c.c is this subtest's own, so the first build compiles it.
			os.WriteFile(filepath.Join(j1.AppDir, "src/c.c"), []byte("const char *c(void) { return \""+name+"\"; }\n"), 0o644)
			os.WriteFile(filepath.Join(j2.AppDir, "src/c.c"), []byte("const char *c(void) { return \""+name+"\"; }\n"), 0o644)
			run := func(j *Job) CcacheStats {
				if sb != nil {
					sb.Writable = []string{j.AppDir}
				}
				// Each build its own local cache: hits can come only from Redis.
				n := &Native{Sandbox: sb, Ccache: &Ccache{Dir: t.TempDir(), Remote: "redis://" + redis, StatsLog: filepath.Join(j.AppDir, "stats.log")}}
				return runCcached(t, n, j)
			}
			if st := run(j1); st.Misses < 1 || st.RemoteErrors != 0 {
				t.Fatalf("first: %+v\n%s", st, &log1)
			}
			if st := run(j2); st.Hits != 3 || st.RemoteHits != 3 {
				t.Fatalf("second, other local cache: %+v, want 3 remote hits\n%s", st, &log2)
			}
			if strings.Contains(log1.String()+log2.String(), "Warning") {
				t.Errorf("warnings:\n%s\n%s", &log1, &log2)
			}
		})
	}
}

func TestNativeCcacheRemoteDownWarnsOnce(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "cc")
	testenv.RequireTool(t, "ccache")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close() // nothing listens there now
	var log bytes.Buffer
	job := ccacheApp(t, &log)
	n := &Native{Ccache: &Ccache{Dir: t.TempDir(), Remote: "redis://" + down, StatsLog: filepath.Join(job.AppDir, "stats.log")}}
	st := runCcached(t, n, job)
	if st.Misses != 3 {
		t.Errorf("stats %+v, want 3 misses", st)
	}
	if got := strings.Count(log.String(), "Warning:"); got != 1 || !strings.Contains(log.String(), "Warning: ccache: remote storage redis://"+down) {
		t.Errorf("%d warnings, want 1 about the remote:\n%s", got, &log)
	}
}

func TestDockerArgsCcache(t *testing.T) {
	var log bytes.Buffer
	job := makeJob(t, "all:\n", &log)
	cache := t.TempDir()
	// The server's sandbox: the context at /mos/ctx, make run there, and
	// ccache's base dir and depend mode as in the native sandbox.
	d := &Docker{Image: "img", Ccache: &Ccache{Dir: cache}, Sandbox: &Sandbox{Writable: []string{job.AppDir}, Root: "/mos/ctx"}}
	cc := d.Ccache.prepare(job, d.containerAppDir(job), false, true, d.atRoot(), dockerPath)
	if cc == nil {
		t.Fatalf("no ccache:\n%s", &log)
	}
	defer cc.close()
	args, _ := d.args(job, cc)
	line := strings.Join(args, " ")
	for _, want := range []string{"-v " + job.AppDir + ":/mos/ctx ", "-v " + cache + ":" + cache + " ", "-e CCACHE_DIR=" + cache,
		"-e CCACHE_BASEDIR=/mos/ctx ", "-e CCACHE_NOHASHDIR=1", "-e CCACHE_INODECACHE=1", "-e CCACHE_DEPEND=1", "-e CCACHE_SLOPPINESS=time_macros", "img sh -c ",
		"exec \"$@\" sh make -j 2 -C /mos/ctx -f /mos/ctx/Makefile.build all"} {
		if !strings.Contains(line, want) {
			t.Errorf("docker args lack %q:\n%s", want, line)
		}
	}
	if strings.Contains(line, ":/app") {
		t.Errorf("the context is mounted at /app too:\n%s", line)
	}
}

// waitTCP waits (bounded) until an external process listens on addr.
func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireSandboxedCcache skips a test without what sandboxedBuild runs.
func requireSandboxedCcache(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"make", "cc", "ccache", "bwrap"} {
		testenv.RequireTool(t, tool)
	}
}

// sandboxedBuild builds ccacheApp (files, relative to the app dir,
// replace or add to its own) as the server's sandbox does, at /mos/ctx
// with ccache on cache, readOnly bound as an SDK would be: the counters,
// the raw stats log and the app dir.
func sandboxedBuild(t *testing.T, cache string, files map[string]string, readOnly ...string) (CcacheStats, string, string) {
	t.Helper()
	var log bytes.Buffer
	job := ccacheApp(t, &log)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(job.AppDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job.Vars = []string{"SRC=/mos/ctx/src", "OUT=/mos/ctx/build"}
	stats := filepath.Join(job.AppDir, "stats.log")
	n := &Native{
		Ccache:  &Ccache{Dir: cache, StatsLog: stats},
		Sandbox: &Sandbox{Writable: []string{job.AppDir}, ReadOnly: readOnly, Root: "/mos/ctx"},
	}
	if err := n.Run(context.Background(), job); err != nil {
		if errors.Is(err, ErrNoSandbox) || strings.Contains(log.String(), "bwrap:") {
			t.Skipf("bwrap cannot make a sandbox here: %v\n%s", err, &log)
		}
		t.Fatalf("%v\n%s", err, &log)
	}
	st, err := ReadCcacheStats(stats)
	if err != nil {
		t.Fatalf("%v\n%s", err, &log)
	}
	raw, _ := os.ReadFile(stats)
	return st, string(raw), job.AppDir
}

// In the server's sandbox every context is at /mos/ctx: ccache runs in
// depend mode there (a miss never runs the preprocessor: no preprocessed
// lookup in its counters) and a second context still finds every object.
func TestSandboxedCcacheDependMode(t *testing.T) {
	requireSandboxedCcache(t)
	cache := t.TempDir()
	st, raw, _ := sandboxedBuild(t, cache, nil)
	if st.Misses != 3 || st.Hits != 0 {
		t.Fatalf("first context: %+v, want 3 misses", st)
	}
	if strings.Contains(raw, "preprocessed_cache_miss") {
		t.Errorf("a miss ran the preprocessor (not depend mode):\n%s", raw)
	}
	if st, raw, _ := sandboxedBuild(t, cache, nil); st.Hits != 3 || st.Misses != 0 || strings.Count(raw, "direct_cache_hit") != 3 {
		t.Errorf("second context: %+v, want 3 direct hits:\n%s", st, raw)
	}
}

// ST's STM32 HAL headers, in the SDK, name macro parameters __TIME__ and
// __DATE__ (issue 24). ccache takes the bare tokens for the time macros
// and turns direct mode off for every file including them; depend mode
// has no preprocessor lookup to fall back to, so a second context found
// none of them in the cache.
func TestSandboxedCcacheTimeMacroNames(t *testing.T) {
	requireSandboxedCcache(t)
	sdk := t.TempDir()
	hal := filepath.Join(sdk, "hal.h")
	if err := os.WriteFile(hal, []byte("#define IS_SAMPLE_TIME(__TIME__) ((__TIME__) <= 0x1FU)\n#define IS_DATE(__DATE__) ((__DATE__) >= 1U)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := map[string]string{"src/inc/h.h": "#include \"" + hal + "\"\n#define N 3\n"}
	cache := t.TempDir()
	if st, _, _ := sandboxedBuild(t, cache, app, sdk); st.Misses != 3 || st.Hits != 0 {
		t.Fatalf("first context: %+v, want 3 misses", st)
	}
	if st, raw, _ := sandboxedBuild(t, cache, app, sdk); st.Hits != 3 || st.Misses != 0 || strings.Count(raw, "direct_cache_hit") != 3 {
		t.Errorf("second context: %+v, want 3 direct hits:\n%s", st, raw)
	}
}

// A source of the build's own (the app, its libs, the core) that expands
// __TIME__ gets the time of its own compile, never an older one from the
// cache: the sloppiness above is only for builds whose own files name no
// time macro; the others run ccache in its default mode, where a source
// expanding them misses (the preprocessed output holds the time).
func TestSandboxedCcacheTimeMacroUsed(t *testing.T) {
	requireSandboxedCcache(t)
	app := map[string]string{"src/c.c": "const char *built = \"BUILT AT \" __TIME__;\n"}
	cache := t.TempDir()
	_, _, dir1 := sandboxedBuild(t, cache, app)
	time.Sleep(1100 * time.Millisecond) // __TIME__ has seconds
	st, raw, dir2 := sandboxedBuild(t, cache, app)
	if st.Hits != 2 || st.Misses != 1 {
		t.Errorf("second context: %+v, want 2 hits (a.c, b.c) and c.c compiled:\n%s", st, raw)
	}
	o1, err1 := os.ReadFile(filepath.Join(dir1, "build/c.o"))
	o2, err2 := os.ReadFile(filepath.Join(dir2, "build/c.o"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if bytes.Equal(o1, o2) {
		t.Errorf("c.o of the second context is the first's: its __TIME__ came from the cache")
	}
}

// The compiler links are made once per cache dir and PATH, and again when
// a dir on PATH changes (a cross compiler installed).
func TestCompilerLinksKept(t *testing.T) {
	tools := t.TempDir()
	cc := filepath.Join(tools, "ccache")
	os.WriteFile(cc, []byte("#!/bin/sh\n"), 0o755)
	c := &Ccache{Dir: t.TempDir()}
	d1, err := c.compilerLinks(cc, tools)
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(d1, "gcc")); err != nil || target != cc {
		t.Fatalf("gcc link: %q, %v", target, err)
	}
	if d2, err := c.compilerLinks(cc, tools); err != nil || d2 != d1 {
		t.Errorf("second call: %s, %v; want the same dir %s", d2, err, d1)
	}
	// A new cross compiler on PATH: a new dir with its link.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(tools, "xtensa-esp32-elf-gcc"), []byte("#!/bin/sh\n"), 0o755)
	d3, err := c.compilerLinks(cc, tools)
	if err != nil || d3 == d1 {
		t.Fatalf("after installing a compiler: %s, %v; want a new dir", d3, err)
	}
	if _, err := os.Lstat(filepath.Join(d3, "xtensa-esp32-elf-gcc")); err != nil {
		t.Errorf("no link for the new compiler: %v", err)
	}
	// In the sandbox the links are made in the build's temp dir, bound
	// read-only, not in the writable cache dir (issue 20, row 3).
	var log bytes.Buffer
	job := ccacheApp(t, &log)
	r := c.prepare(job, job.AppDir, true, true, false, func(s string) string { return s })
	if r == nil {
		t.Skipf("no ccache here:\n%s", &log)
	}
	defer r.close()
	s := &Sandbox{Writable: []string{job.AppDir}}
	args := strings.Join(s.bwrapArgs(job.AppDir, []string{"make"}, r.sandboxed(c)), " ")
	w := strings.Index(args, "--bind "+c.Dir+" "+c.Dir)
	ro := strings.Index(args, "--ro-bind "+r.tempDir+" "+r.tempDir)
	if w < 0 || ro < w || !strings.HasPrefix(r.binDir, r.tempDir+"/") || strings.HasPrefix(r.binDir, c.Dir) {
		t.Errorf("links %s not in the temp dir bound read-only after the cache dir %s: %s", r.binDir, c.Dir, args)
	}
}
