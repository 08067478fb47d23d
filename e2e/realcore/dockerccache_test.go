package realcore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/fwcompare"
	"github.com/mongoose-os/mos/common/testenv"
)

// TestDockerServerNewContextFromCache: through a server with
// --build-runner docker (the default, what the compose file runs) and its
// compile cache, a new context of an app built before, from another
// checkout, compiles from the cache (>= 95% of ccache's compiles are
// hits), and its firmware is the one a server without a cache builds.
// The servers run, as in the compose image, with no ccache on their PATH
// (the SDK image has it), and /metrics counts the hits the build logs
// counted.
func TestDockerServerNewContextFromCache(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping three real-core builds in Docker")
	}
	real := dockerRealCopy(t)
	dockerUbuntuImage(t, filepath.Join(real, "mongoose-os"))
	work := t.TempDir()
	env := []string{"MOS_DIR=" + filepath.Join(work, "mos-home")}
	serverEnv := envWithPath(os.Environ(), pathWithout(t, filepath.Join(work, "bin"), "ccache"))
	start := func(name string, extra ...string) *harness.Server {
		t.Helper()
		logFile := filepath.Join(work, name+".log")
		srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
			Manager: bins.Manager, Mos: bins.Mos, Runner: "docker",
			VolumesDir: filepath.Join(work, name), LogFile: logFile, Extra: extra, Env: serverEnv,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			srv.Stop()
			if t.Failed() {
				log, _ := os.ReadFile(logFile)
				t.Logf("%s log:\n%s", name, tail(log, 6000))
			}
		})
		return srv
	}
	// No context copies: a new context here is built by the compile cache,
	// which is what this test is about.
	srv := start("fw_docker", "--adopt-contexts=false")
	build := func(what string, s *harness.Server, app, ctx string) runner.CcacheStats {
		t.Helper()
		args := append([]string{"build", "--server", s.URL(), "--build-context", ctx}, dockerServerFlags(real)...)
		r, err := harness.Build(context.Background(), bins.Mos, app, env, args, nil)
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(app, "build", "build.log"))
			t.Fatalf("%s: %v\n%s", what, err, tail(log, 4000))
		}
		st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile))
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %.1f s, %d files compiled, %s", what, r.Seconds, r.Compiled, st)
		return st
	}

	var hits int
	a := dockerApp(t, filepath.Join(work, "checkout_a", "app"))
	cold := build("context A, cold", srv, a, "ctx_a")
	if cold.Misses < 100 {
		t.Fatalf("cold build: %s; want the whole core compiled through ccache", cold)
	}
	hits += cold.Hits
	wantMetricHits(t, srv.URL(), "after context A", hits)

	b := dockerApp(t, filepath.Join(work, "checkout_b", "app"))
	warm := build("context B, new", srv, b, "ctx_b")
	if warm.Compiles() < 100 || warm.HitRate() < 0.95 {
		t.Errorf("new context of a built app: %s; want >= 95%% of over 100 compiles from the cache", warm)
	}
	hits += warm.Hits
	wantMetricHits(t, srv.URL(), "after context B", hits)

	ref := start("fw_ref", "--ccache=false")
	c := dockerApp(t, filepath.Join(work, "checkout_ref", "app"))
	build("reference, no cache", ref, c, "ctx_b")
	r, err := fwcompare.BuildDirs(filepath.Join(b, "build"), filepath.Join(c, "build"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Diffs {
		t.Errorf("context B's firmware differs from a build without the cache: %s", d)
	}
	if r.Compared == 0 {
		t.Fatal("firmware comparison compared nothing")
	}
	t.Logf("firmware: %d bytes compared", r.Compared)
}

// dockerServerFlags are the real-core build flags of a remote build.
func dockerServerFlags(real string) []string {
	return []string{"--platform", "ubuntu",
		"--repo", filepath.Join(real, "mongoose-os"), "--libs-dir", filepath.Join(real, "libs"),
		"--module", "mbedtls_module:" + filepath.Join(real, "modules", "mbedtls"),
		"--no-libs-update", "--cflags-extra=-Wno-implicit-const-int-float-conversion"}
}

// pathWithout makes dir a PATH of links to every program on this PATH but
// the named ones: a host without them.
func pathWithout(t *testing.T, dir string, names ...string) string {
	t.Helper()
	skip := map[string]bool{}
	for _, n := range names {
		skip[n] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			link := filepath.Join(dir, e.Name())
			if skip[e.Name()] || e.IsDir() {
				continue
			}
			if _, err := os.Lstat(link); err == nil {
				continue // the first on PATH wins
			}
			if err := os.Symlink(filepath.Join(d, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// envWithPath is env with PATH replaced.
func envWithPath(env []string, path string) []string {
	out := []string{"PATH=" + path}
	for _, kv := range env {
		if len(kv) < 5 || kv[:5] != "PATH=" {
			out = append(out, kv)
		}
	}
	return out
}

// wantMetricHits fails unless the server's /metrics counts want ccache
// hits.
func wantMetricHits(t *testing.T, url, when string, want int) {
	t.Helper()
	got, err := testenv.Metric(url+"/metrics", "fwbuild_ccache_hits_total")
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if got != float64(want) {
		t.Errorf("%s: /metrics says fwbuild_ccache_hits_total %v, the builds' ccache statistics %d", when, got, want)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
