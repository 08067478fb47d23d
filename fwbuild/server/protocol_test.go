package server

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// TestStockClientBuild posts exactly what an unmodified stock client posts
// (mode-less zip, yaml.v2 build_params, no build_ctx) and checks the answer
// is what it unpacks unchanged.
func TestStockClientBuild(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	rec := do(t, s, stockRequest(t, stockZip(t, helloApp(map[string]string{
		"deps/modules/mongoose-os/tools/mgos_fw_meta.py": "#!/usr/bin/env python3\nprint('meta')\n",
		"deps/modules/mongoose-os/tools/data.py":         "# not a script of its own\n",
	}))))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	files := resultFiles(t, rec)
	name := buildCtx(t, files)
	if !regexp.MustCompile(`^build_ctx_[0-9]+$`).MatchString(name) {
		t.Errorf("unnamed request got context %q, want build_ctx_<digits>", name)
	}
	want := []string{
		"build/build.log",
		"build/fs/conf0.json",
		"build/fw.zip",
		"build/fw/hello-esp32-last.zip",
		"build/gen/build_ctx.txt",
		"build/gen/mos_final.yml",
		"build/objs/hello.elf",
	}
	if got := names(files); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("result entries\n %v\nwant\n %v", got, want)
	}
	if files["build/fw.zip"] != "PK fake firmware" {
		t.Errorf("fw.zip content %q", files["build/fw.zip"])
	}

	// The build ran in the context, with build_params.yml written verbatim.
	calls := fr.snapshot()
	if len(calls) != 1 {
		t.Fatalf("%d builds", len(calls))
	}
	dir := ctxDir(cfg, "esp32", name)
	if calls[0].req.Dir != dir || calls[0].sawParams != stockParams(t) {
		t.Errorf("build in %s with params %q", calls[0].req.Dir, calls[0].sawParams)
	}
	if calls[0].req.LibsCacheDir != filepath.Join(cfg.VolumesDir, "libcache") ||
		calls[0].req.TempDir != filepath.Join(dir, "tmp") || calls[0].req.ParamsFile != filepath.Join(dir, "build_params.yml") {
		t.Errorf("request %+v", calls[0].req)
	}

	// Mode-less entries: #! scripts executable, the rest 0644.
	for p, want := range map[string]os.FileMode{
		"deps/modules/mongoose-os/tools/mgos_fw_meta.py": 0o755,
		"deps/modules/mongoose-os/tools/data.py":         0o644,
		"src/main.c":                                     0o644,
		"mos.yml":                                        0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	// Nothing is left in the server's temp dir.
	if ents, err := os.ReadDir(s.scratch.dir); err != nil || len(ents) != 0 {
		t.Errorf("request temp files left: %v", ents)
	}
}

func TestModeCarryingZipKeepsModes(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	files := helloApp(map[string]string{"tools/run.sh": "echo no shebang\n", "tools/gen.py": "#!/usr/bin/env python3\n"})
	rec := do(t, s, stockRequest(t, modeZip(t, files, map[string]os.FileMode{"tools/run.sh": 0o750, "tools/gen.py": 0o644})))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", buildCtx(t, resultFiles(t, rec)))
	for p, want := range map[string]os.FileMode{"tools/run.sh": 0o750, "tools/gen.py": 0o644, "src/main.c": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
}

func TestBuildFailureIs418WithLog(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	fr.fail = func(req builderRequest) string { return "build failed: mos exited with status 2" }
	s := newServer(t, cfg, WithRunner(fr))
	rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil))))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	files := resultFiles(t, rec)
	if got := files["build/build.log"]; got != "src/main.c:1: error\nbuild failed: mos exited with status 2\n" {
		t.Errorf("build.log %q", got)
	}
	buildCtx(t, files)
}

func TestBuildThatLeftNothingStillAnswers418WithContext(t *testing.T) {
	// mos died before making build/gen: the answer is still a 418 zip
	// naming the context (stock answers 400 here).
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(runnerFunc(func(req builderRequest) (builderResult, error) {
		return builderResult{Failed: true, Reason: "build failed: mos exited with status 1"}, nil
	})))
	rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "ci_main"}))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	files := resultFiles(t, rec)
	if got := strings.Join(names(files), ","); got != "build/gen/build_ctx.txt" || files["build/gen/build_ctx.txt"] != "ci_main" {
		t.Errorf("result %v", files)
	}
}

func TestRoutes(t *testing.T) {
	s := newServer(t, testConfig(t), WithRunner(newFakeRunner()))
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/api/fwbuild/2.20.0/frobnicate", 400, `wrong action: "frobnicate"`},
		{"GET", "/api/fwbuild/latest/pull", 200, "Ok\n"},
		{"GET", "/api/fwbuild/2.20.0/build", 405, "method GET not allowed: use POST"},
		{"POST", "/api/fwbuild/tmp/build", 400, `version "tmp" is reserved`},
		{"POST", "/api/fwbuild/a%2Fb/build", 400, `version "a/b" contains a path separator`},
		{"GET", "/", 200, "fwbuild-manager (mos 2.20.0)"},
		{"GET", "/nothing", 404, ""},
	}
	for _, tc := range cases {
		rec := do(t, s, httptestRequest(tc.method, tc.path))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.body)
		}
	}
	// Exactly stock's text, no newline.
	if rec := do(t, s, httptestRequest("POST", "/api/fwbuild/2.20.0/frobnicate")); rec.Body.String() != `wrong action: "frobnicate"` {
		t.Errorf("wrong action body %q", rec.Body)
	}
}
