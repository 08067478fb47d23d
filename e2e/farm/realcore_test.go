package farm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/fwcompare"
	"github.com/mongoose-os/mos/common/testenv"
)

// realApp writes an app on the real core (the realcore tests' app).
func realApp(t *testing.T, dir string) string {
	t.Helper()
	testenv.WriteTree(t, dir, testenv.Tree{
		"mos.yml": {Content: "author: mos tests\ndescription: real core app\nversion: 1.0\nplatform: ubuntu\nsources:\n  - src\n" +
			"libs:\n  - origin: https://github.com/mongoose-os-libs/rpc-common\n  - origin: https://github.com/mongoose-os-libs/http-server\n" +
			"  - origin: https://github.com/mongoose-os-libs/rpc-service-config\nmanifest_version: 2017-09-29\n"},
		"src/main.c": {Content: "#include \"mgos.h\"\nenum mgos_app_init_result mgos_app_init(void) {\n  LOG(LL_INFO, (\"farm app up\"));\n  return MGOS_APP_INIT_SUCCESS;\n}\n"},
	})
	return dir
}

// TestRealCoreNewContextFromCache: on the real core, a new context of an
// app built before compiles from the cache (>= 90% of ccache's compiles
// are hits), and its firmware is the one a build that compiled everything
// (another server, an empty cache) makes: every loaded ELF section alike,
// but for the build id and timestamp strings and the linker's build-id
// note (a hash over the debug info too).
func TestRealCoreNewContextFromCache(t *testing.T) {
	dir, real := realCoreCopy(t)
	// No context adoption: a new context here is built by the compile
	// cache, which is what this test is about (e2e's
	// TestNewContextStartsFromTheNearest covers the copy).
	a := startServer(t, dir, "fw_a", "--adopt-contexts=false")
	b := startServer(t, dir, "fw_b", "--adopt-contexts=false")
	build := func(s *server, app, ctx string) (runner.CcacheStats, float64) {
		t.Helper()
		args := []string{"build", "--server", "http://" + s.addr, "--build-context", ctx,
			"--repo", filepath.Join(real, "mongoose-os"), "--libs-dir", filepath.Join(real, "libs"),
			"--module", "mbedtls_module:" + filepath.Join(real, "modules", "mbedtls"),
			"--no-libs-update", "--cflags-extra=-Wno-implicit-const-int-float-conversion"}
		r, err := harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "home")}, args, nil)
		if err != nil {
			t.Fatalf("%s on %s: %v", ctx, s.name, err)
		}
		st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile))
		if err != nil {
			t.Fatalf("%s on %s: %v", ctx, s.name, err)
		}
		t.Logf("%s on %s: %.1f s, %d files compiled, %s", ctx, s.name, r.Seconds, r.Compiled, st)
		return st, r.Seconds
	}
	main := realApp(t, filepath.Join(dir, "main", "app"))
	cold, coldSecs := build(a, main, "main")
	if cold.Misses < 100 {
		t.Fatalf("cold build: %s; want the whole core compiled", cold)
	}
	feature := realApp(t, filepath.Join(dir, "feature", "app"))
	warm, warmSecs := build(a, feature, "feature_x")
	if warm.Compiles() < 100 || warm.HitRate() < 0.9 {
		t.Errorf("new context of a built app: %s; want >= 90%% of %d compiles from the cache", warm, cold.Compiles())
	}
	t.Logf("new context: %.1f s from the cache, %.1f s cold (%.0f%%)", warmSecs, coldSecs, 100*warmSecs/coldSecs)

	ref := realApp(t, filepath.Join(dir, "ref", "app"))
	fresh, _ := build(b, ref, "feature_x") // empty cache: all compiled
	if fresh.Hits != 0 {
		t.Fatalf("reference build on an empty cache had hits: %s", fresh)
	}
	sameFirmware(t, filepath.Join(feature, "build", "objs", "app.elf"), filepath.Join(ref, "build", "objs", "app.elf"))
}

// sameFirmware fails unless the two ELFs' loaded sections are alike
// (fwcompare: the build id and timestamp strings aside).
func sameFirmware(t *testing.T, got, want string) {
	t.Helper()
	r, err := fwcompare.ELFs(got, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Diffs {
		t.Errorf("%s: %s", got, d)
	}
	if r.Compared == 0 {
		t.Fatalf("%s: no loaded section compared", got)
	}
	t.Logf("firmware: %d bytes of loaded sections compared", r.Compared)
}

// TestRealCoreBaseCacheFromTrusted: on the real core, with accounts, an
// account's first build of an app the trusted group built gets >= 95% of
// its compiles from the shared base cache (issue 20: only trusted builds
// fill what every namespace reads), and the trusted build's objects are
// in the base, not in the account's own cache.
func TestRealCoreBaseCacheFromTrusted(t *testing.T) {
	dir, real := realCoreCopy(t)
	var users strings.Builder
	for _, u := range []string{"ci", "alice"} {
		h, err := bcrypt.GenerateFromPassword([]byte("pw-"+u), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users.WriteString(u + ":" + string(h) + "\n")
	}
	users.WriteString("group ci: ci\n")
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte(users.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dir, "fw_acc", "--adopt-contexts=false", "--auth-file", usersFile, "--ccache-trusted-group", "ci")
	build := func(user, app, ctx string) runner.CcacheStats {
		t.Helper()
		args := []string{"build", "--server", "http://" + user + ":pw-" + user + "@" + s.addr, "--build-context", ctx,
			"--repo", filepath.Join(real, "mongoose-os"), "--libs-dir", filepath.Join(real, "libs"),
			"--module", "mbedtls_module:" + filepath.Join(real, "modules", "mbedtls"),
			"--no-libs-update", "--cflags-extra=-Wno-implicit-const-int-float-conversion"}
		r, err := harness.Build(context.Background(), bins.Mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "home")}, args, nil)
		if err != nil {
			t.Fatalf("%s's %s: %v\n%s", user, ctx, err, r.Output)
		}
		st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile))
		if err != nil {
			t.Fatalf("%s's %s: %v", user, ctx, err)
		}
		t.Logf("%s's %s: %.1f s, %s", user, ctx, r.Seconds, st)
		return st
	}
	cold := build("ci", realApp(t, filepath.Join(dir, "ci", "app")), "main")
	if cold.Misses < 100 {
		t.Fatalf("trusted cold build: %s; want the whole core compiled", cold)
	}
	warm := build("alice", realApp(t, filepath.Join(dir, "alice", "app")), "feature_x")
	if warm.Compiles() < 100 || warm.HitRate() < 0.95 {
		t.Errorf("alice's first build after ci's: %s; want >= 95%% of %d compiles from the base cache", warm, cold.Compiles())
	}
}

// realCoreCopy skips without the tools or the real core, and copies
// ../shared/real into a temp dir: that dir and the copy.
func realCoreCopy(t *testing.T) (dir, real string) {
	t.Helper()
	requireTools(t, "ccache", "make", "clang", "python3")
	src := filepath.Join(testenv.SharedDir(t), "real")
	if _, err := os.Stat(filepath.Join(src, "mongoose-os", "platforms", "ubuntu", "Makefile.build")); err != nil {
		t.Skipf("the real core is absent (%v); skipping", err)
	}
	dir = t.TempDir()
	real = filepath.Join(dir, "real")
	testenv.CopyDir(t, src, real)
	return dir, real
}
