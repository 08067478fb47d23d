package farm

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/runner"
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
	requireTools(t, "ccache", "make", "clang", "python3")
	src := filepath.Join(testenv.SharedDir(t), "real")
	if _, err := os.Stat(filepath.Join(src, "mongoose-os", "platforms", "ubuntu", "Makefile.build")); err != nil {
		t.Skipf("the real core is absent (%v); skipping", err)
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	testenv.CopyDir(t, src, real)
	a := startServer(t, dir, "fw_a")
	b := startServer(t, dir, "fw_b")
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

// sameFirmware fails unless every loaded section of the two ELFs has the
// same bytes, but for the strings build_id, build_timestamp and
// build_version point to (they name the build, not its content).
func sameFirmware(t *testing.T, got, want string) {
	t.Helper()
	g, w := openELF(t, got), openELF(t, want)
	masks := append(buildInfoRanges(t, g), buildInfoRanges(t, w)...)
	if len(masks) < 3 {
		t.Fatalf("no build info strings found in %s", got)
	}
	compared := 0
	for _, ws := range w.Sections {
		if ws.Flags&elf.SHF_ALLOC == 0 || ws.Type == elf.SHT_NOBITS {
			continue
		}
		if ws.Name == ".note.gnu.build-id" {
			// The linker's hash of the whole file, debug info included,
			// whose DW_AT_comp_dir names the context's path.
			continue
		}
		gs := g.Section(ws.Name)
		if gs == nil {
			t.Errorf("%s: no section %s", got, ws.Name)
			continue
		}
		gd, err1 := gs.Data()
		wd, err2 := ws.Data()
		if err1 != nil || err2 != nil {
			t.Fatalf("section %s: %v %v", ws.Name, err1, err2)
		}
		if gs.Addr != ws.Addr || len(gd) != len(wd) {
			t.Errorf("section %s: at %#x, %d bytes; want at %#x, %d bytes", ws.Name, gs.Addr, len(gd), ws.Addr, len(wd))
			continue
		}
		diff := 0
		for i := range wd {
			if gd[i] != wd[i] && !masked(masks, ws.Addr+uint64(i)) {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("section %s: %d bytes differ", ws.Name, diff)
		}
		compared += len(wd)
	}
	t.Logf("firmware: %d bytes of loaded sections compared", compared)
}

func openELF(t *testing.T, p string) *elf.File {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

type addrRange struct{ from, to uint64 }

func masked(rs []addrRange, a uint64) bool {
	for _, r := range rs {
		if a >= r.from && a < r.to {
			return true
		}
	}
	return false
}

// buildInfoRanges are the addresses of the strings the *build_id,
// *build_timestamp and *build_version pointers name.
func buildInfoRanges(t *testing.T, f *elf.File) []addrRange {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var out []addrRange
	for _, s := range syms {
		if !strings.HasSuffix(s.Name, "build_id") && !strings.HasSuffix(s.Name, "build_timestamp") && !strings.HasSuffix(s.Name, "build_version") {
			continue
		}
		ptr, ok := readAt(f, s.Value, 8)
		if !ok {
			continue
		}
		p := binary.LittleEndian.Uint64(ptr)
		for n := uint64(0); n < 256; n++ {
			c, ok := readAt(f, p+n, 1)
			if !ok || c[0] == 0 {
				out = append(out, addrRange{p, p + n})
				break
			}
		}
	}
	return out
}

func readAt(f *elf.File, addr uint64, n int) ([]byte, bool) {
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || addr < s.Addr || addr+uint64(n) > s.Addr+s.Size {
			continue
		}
		b := make([]byte, n)
		if _, err := s.ReadAt(b, int64(addr-s.Addr)); err != nil {
			return nil, false
		}
		return b, true
	}
	return nil, false
}
