package localbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

func params() *protocol.BuildParams {
	return &protocol.BuildParams{
		ManifestAdjustments:   protocol.ManifestAdjustments{BuildVars: map[string]string{"BOARD": ""}},
		BuildTarget:           "all",
		CustomModuleLocations: map[string]string{},
		LibsUpdateInterval:    time.Hour,
		SaveBuildStat:         true,
	}
}

// request is a native build of app with the SDK as the mongoose-os module.
func request(app, sdk string) *Request {
	bp := params()
	bp.CustomModuleLocations["mongoose-os"] = sdk
	return &Request{AppDir: app, Params: bp, MosVersion: "2.20.0", Runner: "native"}
}

func runBuild(t *testing.T, req *Request) (*Result, []string) {
	t.Helper()
	logFile := filepath.Join(req.AppDir, "build", "build.log")
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	req.Log = &buf
	res, err := Build(context.Background(), req)
	if werr := os.WriteFile(logFile, buf.Bytes(), 0o644); werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("build: %v\n%s", err, buf.String())
	}
	return res, testenv.CompiledFiles(t, logFile)
}

func sources(t *testing.T, app, sdk string) int {
	// app src (3) + 2 in-app libs + core lib + the SDK's own sources +
	// mgos_deps_init.c + mgos_config.c: count from the first build instead of
	// hard-coding, but it must cover every .c file under the app.
	var n int
	filepath.WalkDir(app, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".c") && !strings.Contains(p, "/build/") {
			n++
		}
		return nil
	})
	return n
}

func TestIncrementalNative(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	app, sdk := testenv.Examples(t)
	req := request(app, sdk)

	res, compiled := runBuild(t, req)
	if res.FWZip != filepath.Join(app, "build", "fw.zip") || res.AppName != "hello" || res.Platform != "host" {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(res.FWZip); err != nil {
		t.Fatalf("no firmware: %v", err)
	}
	appSources := sources(t, app, sdk)
	if len(compiled) < appSources+2 { // + mgos_deps_init.c and core
		t.Errorf("first build compiled %d files, want at least %d: %v", len(compiled), appSources+2, compiled)
	}
	full := len(compiled)

	_, compiled = runBuild(t, req)
	if len(compiled) != 0 {
		t.Errorf("unchanged build compiled %v, want nothing", compiled)
	}

	hello := filepath.Join(app, "src", "hello.c")
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(hello, later, later); err != nil {
		t.Fatal(err)
	}
	_, compiled = runBuild(t, req)
	if len(compiled) != 1 || compiled[0] != hello {
		t.Errorf("after touching hello.c compiled %v, want only it", compiled)
	}

	// A changed final manifest forces a clean rebuild.
	mosYML := filepath.Join(app, "mos.yml")
	data, _ := os.ReadFile(mosYML)
	data = bytes.Replace(data, []byte("cdefs:\n"), []byte("cdefs:\n  EXTRA_DEFINE: 7\n"), 1)
	if err := os.WriteFile(mosYML, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, compiled = runBuild(t, req)
	if len(compiled) != full {
		t.Errorf("after a manifest change compiled %d files, want all %d", len(compiled), full)
	}
	log, _ := os.ReadFile(filepath.Join(app, "build", "build.log"))
	if !bytes.Contains(log, []byte("== Manifest has changed, forcing a clean rebuild...")) {
		t.Errorf("log does not say the manifest changed:\n%s", log)
	}
	final, _ := os.ReadFile(filepath.Join(app, "build", "gen", "mos_final.yml"))
	if !bytes.Contains(final, []byte("EXTRA_DEFINE")) {
		t.Error("mos_final.yml lacks the new cdef")
	}

	// --clean rebuilds everything, keeping build.log.
	req.Params.Clean = true
	_, compiled = runBuild(t, req)
	if len(compiled) != full {
		t.Errorf("clean build compiled %d files, want %d", len(compiled), full)
	}
}

func TestGenFilesAndDryRun(t *testing.T) {
	app, sdk := testenv.Examples(t)
	req := request(app, sdk)
	req.Params.DryRun = true
	res, _ := runBuild(t, req)
	if !res.DryRun {
		t.Error("result does not say dry run")
	}
	gen := filepath.Join(app, "build", "gen")
	for _, f := range []string{"mos_final.yml", "mgos_deps_manifest.yml", "mgos_deps_init.c", "mos_conf_schema.yml", "vars.mk"} {
		if _, err := os.Stat(filepath.Join(gen, f)); err != nil {
			t.Errorf("dry run did not write %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(app, "build", "objs")); err == nil {
		t.Error("dry run ran make (build/objs exists)")
	}
	vars, _ := os.ReadFile(filepath.Join(gen, "vars.mk"))
	lines := map[string]bool{}
	for _, l := range strings.Split(string(vars), "\n") {
		lines[l] = true
	}
	for _, want := range []string{"APP=hello", "PLATFORM=host", "MGOS_PATH=" + sdk, "MGOS_HAVE_GREETING=1",
		"APP_CONF_SCHEMA=" + filepath.Join(gen, "mos_conf_schema.yml"),
		"APP_CFLAGS=-DHELLO_ON_HOST=1 -DMGOS=1 -DMGOS_HAVE_CORE=1 -DMGOS_HAVE_COUNTER=1 -DMGOS_HAVE_GREETING=1"} {
		if !lines[want] {
			t.Errorf("vars.mk lacks the line %q:\n%s", want, vars)
		}
	}
}

// Generated files make depends on get the newest mtime of the manifests
// read, so regenerating them does not trigger recompiles.
func TestGenFilesMtime(t *testing.T) {
	app, sdk := testenv.Examples(t)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	newest := time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, f := range []string{"libs/greeting/mos.yml", "libs/counter/mos.yml", "libs/core/mos.yml"} {
		os.Chtimes(filepath.Join(app, f), old, old)
	}
	os.Chtimes(filepath.Join(app, "mos.yml"), newest, newest)
	req := request(app, sdk)
	req.Params.DryRun = true
	runBuild(t, req)
	for _, f := range []string{"mgos_deps_init.c", "mos_conf_schema.yml"} {
		st, err := os.Stat(filepath.Join(app, "build", "gen", f))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(newest) {
			t.Errorf("%s mtime %v, want %v (the newest manifest's)", f, st.ModTime(), newest)
		}
	}
}

func TestLibProject(t *testing.T) {
	testenv.RequireTool(t, "make")
	app, sdk := testenv.Examples(t)
	lib := filepath.Join(app, "libs", "greeting")
	req := request(lib, sdk)
	req.Params.Platform = "host"
	req.Params.CustomLibLocations = map[string]string{"core": filepath.Join(app, "libs", "core")}
	res, compiled := runBuild(t, req)
	if res.LibA != filepath.Join(lib, "build", "lib.a") || res.FWZip != "" {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(res.LibA); err != nil {
		t.Errorf("no lib.a: %v", err)
	}
	if len(compiled) == 0 {
		t.Error("nothing compiled")
	}
}

func TestErrors(t *testing.T) {
	testenv.RequireTool(t, "make")
	app, sdk := testenv.Examples(t)

	t.Run("no mos.yml", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Build(context.Background(), request(dir, sdk))
		if !errors.Is(err, ErrNoManifest) || !strings.Contains(err.Error(), dir) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unknown platform", func(t *testing.T) {
		req := request(app, sdk)
		req.Params.Platform = "esp8266"
		_, err := Build(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "can't build for the platform esp8266") ||
			!strings.Contains(err.Error(), "[host]") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("make fails", func(t *testing.T) {
		a, s := testenv.Examples(t)
		os.WriteFile(filepath.Join(a, "src", "broken.c"), []byte("int broken(void) { return nope; }\n"), 0o644)
		var log bytes.Buffer
		req := request(a, s)
		req.Log = &log
		_, err := Build(context.Background(), req)
		if !errors.Is(err, runner.ErrMakeFailed) {
			t.Fatalf("err = %v, want ErrMakeFailed", err)
		}
		if !strings.Contains(log.String(), "nope") {
			t.Errorf("the compiler's message is not in the log:\n%s", log.String())
		}
	})
	t.Run("docker absent", func(t *testing.T) {
		req := request(app, sdk)
		req.Runner = "docker"
		req.Docker = runner.Docker{Docker: filepath.Join(t.TempDir(), "docker")}
		_, err := Build(context.Background(), req)
		if !errors.Is(err, runner.ErrNoDocker) || !strings.Contains(err.Error(), "--build-runner native") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no exec bit on the fw-meta script", func(t *testing.T) {
		a, s := testenv.Examples(t)
		os.Chmod(filepath.Join(s, "tools", "mgos_fw_meta.py"), 0o644)
		var log bytes.Buffer
		req := request(a, s)
		req.Log = &log
		_, err := Build(context.Background(), req)
		if !errors.Is(err, runner.ErrMakeFailed) || !strings.Contains(log.String(), "Permission denied") {
			t.Errorf("err = %v, log:\n%s", err, log.String())
		}
	})
}

// sdkImage returns the SDK image named by the shipped sdk.version, skipping
// the test when Docker or the image is absent.
func sdkImage(t *testing.T, sdk string) string {
	t.Helper()
	testenv.RequireDocker(t)
	data, err := os.ReadFile(filepath.Join(sdk, "platforms", "host", "sdk.version"))
	if err != nil {
		t.Fatal(err)
	}
	image := strings.TrimSpace(string(data))
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Skipf("SDK image %s is absent; scripts/sdk-image.sh makes it (.ci/run does); skipping", image)
	}
	return image
}

func TestIncrementalDocker(t *testing.T) {
	app, sdk := testenv.Examples(t)
	sdkImage(t, sdk)
	req := request(app, sdk)
	req.Runner = "docker"
	req.Docker = runner.Docker{User: runner.CurrentUser(), Extra: []string{"--network", "none"}}
	_, compiled := runBuild(t, req)
	if len(compiled) == 0 {
		t.Fatal("nothing compiled")
	}
	log, _ := os.ReadFile(filepath.Join(app, "build", "build.log"))
	if !bytes.Contains(log, []byte("--user "+runner.CurrentUser()+" ")) {
		t.Errorf("docker did not run as the calling user:\n%s", log)
	}
	// Files make wrote in the container belong to the calling user.
	objs := filepath.Join(app, "build", "objs")
	n := 0
	filepath.WalkDir(objs, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".o") {
			n++
			if uid := fileUID(t, p); uid != strconv.Itoa(os.Getuid()) {
				t.Errorf("%s belongs to uid %s, want %d", p, uid, os.Getuid())
			}
		}
		return nil
	})
	if n == 0 {
		t.Error("no objects in build/objs")
	}
	_, compiled = runBuild(t, req)
	if len(compiled) != 0 {
		t.Errorf("unchanged docker build compiled %v", compiled)
	}
	hello := filepath.Join(app, "src", "hello.c")
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(hello, later, later)
	_, compiled = runBuild(t, req)
	if len(compiled) != 1 || compiled[0] != hello {
		t.Errorf("after touching hello.c compiled %v", compiled)
	}
}
