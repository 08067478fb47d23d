package server

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
)

func setMtime(t *testing.T, p string, tm time.Time) {
	t.Helper()
	if err := os.Chtimes(p, tm, tm); err != nil {
		t.Fatal(err)
	}
}

func mtimeOf(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestUnnamedRequestsGetFreshContexts(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	a := buildCtx(t, resultFiles(t, do(t, s, stockRequest(t, stockZip(t, helloApp(nil))))))
	b := buildCtx(t, resultFiles(t, do(t, s, stockRequest(t, stockZip(t, helloApp(nil))))))
	if a == b || !strings.HasPrefix(a, "build_ctx_") || !strings.HasPrefix(b, "build_ctx_") {
		t.Errorf("contexts %q and %q", a, b)
	}
	for _, n := range []string{a, b} {
		if !exists(filepath.Join(ctxDir(cfg, "esp32", n), "mos.yml")) {
			t.Errorf("context %s has no mos.yml", n)
		}
	}
}

func TestNamedContextLifecycle(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	named := field{protocol.FieldBuildCtx, "ci_main"}
	modes := map[string]os.FileMode{"tools/x.sh": 0o644}
	v1 := helloApp(map[string]string{"src/gone.c": "gone", "tools/x.sh": "echo x\n"})

	// A named context that does not exist is created under that name.
	rec := do(t, s, stockRequest(t, modeZip(t, v1, modes), named))
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("first build: %d %s", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range []string{"src/util.c", "mos.yml", "build/objs/main.o"} {
		setMtime(t, filepath.Join(dir, p), old)
	}
	// What mos fetched and a marker in build/ that no build rewrites.
	for p, content := range map[string]string{"deps/fetched_lib/mos.yml": "lib", "build/objs/marker.o": "m"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		setMtime(t, full, old)
	}

	// Reuse: one file changed, one mode changed, one removed, rest kept.
	v2 := helloApp(map[string]string{"tools/x.sh": "echo x\n"})
	v2["src/main.c"] = "int main(void) { return 1; }\n"
	rec = do(t, s, stockRequest(t, modeZip(t, v2, map[string]os.FileMode{"tools/x.sh": 0o755}), field{protocol.FieldBuildCtx, "ci_main\n"}))
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("second build: %d %s", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if len(calls) != 2 || calls[1].req.Dir != dir || !calls[1].sawObjects {
		t.Fatalf("second build did not reuse the context's build/: %+v", calls)
	}
	if got := mtimeOf(t, filepath.Join(dir, "src/util.c")); !got.Equal(old) {
		t.Errorf("unchanged src/util.c: mtime %v, want %v", got, old)
	}
	if got := mtimeOf(t, filepath.Join(dir, "mos.yml")); !got.Equal(old) {
		t.Errorf("unchanged mos.yml: mtime %v, want %v", got, old)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "src/main.c")); string(b) != v2["src/main.c"] {
		t.Errorf("src/main.c not updated: %q", b)
	}
	if !mtimeOf(t, filepath.Join(dir, "src/main.c")).After(old) {
		t.Error("changed src/main.c has an old mtime")
	}
	if fi, err := os.Stat(filepath.Join(dir, "tools/x.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode change not applied: %v %v", fi, err)
	}
	if exists(filepath.Join(dir, "src/gone.c")) {
		t.Error("removed src/gone.c still in the context")
	}
	for _, p := range []string{"deps/fetched_lib/mos.yml", "build/objs/marker.o"} {
		if got := mtimeOf(t, filepath.Join(dir, p)); !got.Equal(old) {
			t.Errorf("%s (never uploaded) touched: mtime %v", p, got)
		}
	}

	// clean=1 starts the context afresh, under the same name.
	rec = do(t, s, stockRequest(t, stockZip(t, v2), field{protocol.FieldClean, "1"}, named))
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("clean build: %d %s", rec.Code, rec.Body)
	}
	if calls := fr.snapshot(); calls[2].sawObjects {
		t.Error("clean build saw the old build/")
	}
	for _, p := range []string{"deps/fetched_lib/mos.yml", "build/objs/marker.o"} {
		if exists(filepath.Join(dir, p)) {
			t.Errorf("clean build kept %s", p)
		}
	}
	// As stock, clean is any non-empty value, even "0".
	rec = do(t, s, stockRequest(t, stockZip(t, v2), field{protocol.FieldClean, "0"}, named))
	if calls := fr.snapshot(); rec.Code != http.StatusOK || calls[3].sawObjects {
		t.Errorf("clean=0: %d, saw objects %v", rec.Code, calls[3].sawObjects)
	}
}

func TestDirtyContextIsRebuiltClean(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	named := field{protocol.FieldBuildCtx, "ci_main"}
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	// As if an earlier update had failed half-way.
	if err := os.WriteFile(dir+".dirty", []byte("earlier failure\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if calls := fr.snapshot(); calls[1].sawObjects {
		t.Error("dirty context was built incrementally")
	}
	if exists(dir + ".dirty") {
		t.Error("dirty marker left after the clean rebuild")
	}
}

func TestSyncFailureMarksDirtyThenNextBuildIsClean(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	failNext := false
	sync := func(src, dst string, srcList, dstList []filetree.Entry) (filetree.SyncStats, error) {
		if !failNext {
			return filetree.Sync(src, dst, srcList, dstList)
		}
		failNext = false
		// Half-way: one file changed, then an I/O error.
		os.Remove(filepath.Join(dst, "src", "util.c"))
		return filetree.SyncStats{Removed: 1, Touched: []string{"src/util.c"}},
			&filetree.SyncError{Path: "src/main.c", Err: errors.New("no space left on device")}
	}
	s := newServer(t, cfg, WithRunner(fr), WithStoreOptions(buildctx.Options{Sync: sync}))
	named := field{protocol.FieldBuildCtx, "ci_main"}
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	failNext = true
	rec := do(t, s, stockRequest(t, stockZip(t, helloApp(map[string]string{"src/new.c": "x"})), named))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "context marked dirty") ||
		!strings.Contains(rec.Body.String(), "no space left on device") {
		t.Fatalf("failed sync answered %d %q", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	if !exists(dir + ".dirty") {
		t.Fatal("no dirty marker after a failed sync")
	}
	if n := len(fr.snapshot()); n != 1 {
		t.Errorf("%d builds; the half-synced context must not be built", n)
	}
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if len(calls) != 2 || calls[1].sawObjects {
		t.Errorf("build after the failed sync was not clean: %+v", calls)
	}
	if !exists(filepath.Join(dir, "src", "util.c")) || exists(dir+".dirty") {
		t.Error("context not restored from the upload")
	}
}

func TestContextsAreSeparatePerPlatform(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	named := field{protocol.FieldBuildCtx, "ci_main"}
	// arch (legacy) names the platform, lower-cased.
	app := helloApp(nil)
	app["mos.yml"] = "name: hello\narch: ESP8266\n"
	if rec := do(t, s, stockRequest(t, stockZip(t, app), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if calls[0].req.Dir != ctxDir(cfg, "esp8266", "ci_main") || calls[1].req.Dir != ctxDir(cfg, "esp32", "ci_main") || calls[1].sawObjects {
		t.Errorf("builds in %s and %s", calls[0].req.Dir, calls[1].req.Dir)
	}
}
