package windows

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// full is the number of files a cold build of examples/hello compiles.
const full = 10

// wine is the world of one test run: a wine prefix with the stand-in DLL,
// the Linux server, mos.exe.
type wine struct {
	t      *testing.T
	wine   string // the wine program
	prefix string // WINEPREFIX
	mosExe string
	srv    *harness.Server
	work   string
	noRepo bool // build without --repo: the core comes from the app's deps/
}

// winPath is p as the Windows program sees it: wine maps / to drive Z:.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

func setup(t *testing.T) *wine {
	t.Helper()
	if os.Getenv("MOS_WINE_TEST") != "1" {
		t.Skip("the wine tests run with `make test-windows` (MOS_WINE_TEST=1), which CI runs")
	}
	winePath, err := exec.LookPath("wine")
	if err != nil {
		if winePath, err = exec.LookPath("wine64"); err != nil {
			t.Skip("wine not found on PATH; skipping the Windows client tests (apt-get install -y wine64 wine)")
		}
	}
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		t.Skip("x86_64-w64-mingw32-gcc not found, needed for the stand-in bcryptprimitives.dll; skipping (apt-get install -y mingw-w64)")
	}
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	root := testenv.RepoRoot(t)
	work := t.TempDir()
	w := &wine{t: t, wine: winePath, prefix: filepath.Join(work, "wineprefix"), work: work}

	bin := filepath.Join(work, "bin")
	w.mosExe = filepath.Join(bin, "mos.exe")
	goBuild(t, root, "windows", w.mosExe, "./cli")
	linuxMos := filepath.Join(bin, "mos")
	manager := filepath.Join(bin, "fwbuild-manager")
	goBuild(t, root, "", linuxMos, "./cli")
	goBuild(t, root, "", manager, "./fwbuild/manager")

	dll := filepath.Join(work, "bcryptprimitives.dll")
	src := filepath.Join(root, "e2e", "windows", "bcryptprimitives")
	run(t, exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-s", "-shared", "-o", dll,
		filepath.Join(src, "bcryptprimitives.c"), filepath.Join(src, "bcryptprimitives.def"), "-ladvapi32"))

	// A fresh prefix: its own C:\users\<user>, no state from earlier runs.
	boot := w.command("wineboot", "--init")
	run(t, boot)
	t.Cleanup(w.stopWineserver)
	w.wineserverWait()
	sys32 := filepath.Join(w.prefix, "drive_c", "windows", "system32")
	data, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), data, 0o644); err != nil {
		t.Fatalf("putting the stand-in DLL into the prefix: %v", err)
	}
	out := run(t, w.command(w.mosExe, "version"))
	if !strings.Contains(out, "Version: 2.20.0") {
		t.Fatalf("wine mos.exe version:\n%s", out)
	}

	w.srv, err = harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: manager, Mos: linuxMos, Runner: "native",
		VolumesDir: filepath.Join(work, "volumes"), LogFile: filepath.Join(work, "server.log"),
		Extra: []string{"--address", "127.0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.srv.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(work, "server.log"))
			t.Logf("server log:\n%s", log)
		}
	})
	return w
}

func goBuild(t *testing.T, root, goos, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if goos != "" {
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64")
	}
	run(t, cmd)
}

func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

func (w *wine) env() []string {
	return append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// command runs a Windows program (or a wine tool such as wineboot).
func (w *wine) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.wine, args...)
	cmd.Env = w.env()
	return cmd
}

func (w *wine) wineserverWait() {
	cmd := exec.Command("wineserver", "-w")
	cmd.Env = w.env()
	_ = cmd.Run()
}

// stopWineserver ends this prefix's wineserver, which would otherwise
// linger a few seconds after the last program.
func (w *wine) stopWineserver() {
	cmd := exec.Command("wineserver", "-k")
	cmd.Env = w.env()
	_ = cmd.Run()
}

// checkout copies examples/hello and examples/sdk-host under work/<name>.
func (w *wine) checkout(name string) string {
	w.t.Helper()
	root := testenv.RepoRoot(w.t)
	for _, ex := range []string{"hello", "sdk-host"} {
		if err := harness.CopyTree(filepath.Join(root, "examples", ex), filepath.Join(w.work, name, ex), "build", "deps"); err != nil {
			w.t.Fatal(err)
		}
	}
	return filepath.Join(w.work, name, "hello")
}

// build runs `wine mos.exe build --server URL --platform host --repo
// Z:\...\sdk-host args...` (no --repo with noRepo) in dir and returns what it cost (files compiled
// counted in app's build.log), or the error with mos's output.
func (w *wine) build(dir string, app string, args ...string) (harness.Result, error) {
	all := []string{w.mosExe, "build", "--server", w.srv.URL(), "--platform", "host"}
	if !w.noRepo {
		all = append(all, "--repo", winPath(filepath.Join(filepath.Dir(app), "sdk-host")))
	}
	all = append(all, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	up0, down0 := w.srv.Counts()
	cmd := exec.CommandContext(ctx, w.wine, all...)
	cmd.Dir = dir
	cmd.Env = w.env()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	up, down := w.srv.Counts()
	r := harness.Result{Seconds: time.Since(start).Seconds(), Output: string(out), BytesUp: up - up0, BytesDown: down - down0}
	if err != nil {
		return r, fmt.Errorf("wine mos.exe %s: %w\n%s", strings.Join(all[1:], " "), err, out)
	}
	r.Compiled, err = harness.CountCompiled(filepath.Join(app, "build", "build.log"))
	return r, err
}

// step is one build of the sequence; a failed step is reported and the
// sequence goes on, so one run shows every scenario's state.
func (w *wine) step(name string, want int, dir, app string, args ...string) harness.Result {
	w.t.Helper()
	r, err := w.build(dir, app, args...)
	if err != nil {
		w.t.Errorf("%s: %v", name, err)
		return r
	}
	if r.Compiled != want {
		w.t.Errorf("%s: compiled %d files, want %d\n%s", name, r.Compiled, want, r.Output)
	} else {
		w.t.Logf("%s: ok, %d compiled, %.1fs, %d B up, %d B down", name, r.Compiled, r.Seconds, r.BytesUp, r.BytesDown)
	}
	return r
}

func TestWindowsClientUnderWine(t *testing.T) {
	w := setup(t)
	app := w.checkout("a")

	cold := w.step("cold", full, app, app)
	wantFw := `Firmware saved to ` + winPath(filepath.Join(app, "build", "fw.zip"))
	if !strings.Contains(cold.Output, wantFw) {
		t.Errorf("cold: output lacks %q:\n%s", wantFw, cold.Output)
	}
	w.step("unchanged", 0, app, app)

	f, err := os.OpenFile(filepath.Join(app, "src", "hello.c"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "/* edited under wine */")
	f.Close()
	w.step("one file edited", 1, app, app)

	// build/ deleted: the context comes back from the cache in the
	// Windows user's profile.
	if err := os.RemoveAll(filepath.Join(app, "build")); err != nil {
		t.Fatal(err)
	}
	r := w.step("rm -rf build", 0, app, app)
	if r.Output != "" && !strings.Contains(r.Output, "from the cache") {
		t.Errorf("rm -rf build: output does not say build/gen was restored:\n%s", r.Output)
	}
	caches, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", ".mos", "remote-cache"))
	if len(caches) != 1 {
		t.Errorf("remote caches in the prefix: %v, want one under C:\\users\\<user>\\.mos", caches)
	}

	// A named context: new, started as a copy of the nearest context (the
	// one above, same sources), so nothing compiles, then again nothing.
	w.step("--build-context wine_ci (new)", 0, app, app, "--build-context", "wine_ci")
	w.step("--build-context wine_ci (again)", 0, app, app, "--build-context", "wine_ci")
	if ctx, err := os.ReadFile(filepath.Join(app, "build", "gen", "build_ctx.txt")); err != nil || string(ctx) != "wine_ci" {
		t.Errorf("build_ctx.txt = %q, %v; want wine_ci", ctx, err)
	}

	// --keep-build-dir keeps a file of the user's in build/.
	notes := filepath.Join(app, "build", "my-notes.txt")
	if err := os.WriteFile(notes, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.step("--keep-build-dir", 0, app, app, "--build-context", "wine_ci", "--keep-build-dir")
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("--keep-build-dir removed a file of build/: %v", err)
	}
	w.noBackslashNames()
}

// noBackslashNames fails the test if a file the server made from an
// upload has a backslash in its name (a Windows path reached a zip entry)
// or a build_params.yml it kept from the form has one (hello's manifest
// and flags have none of their own).
func (w *wine) noBackslashNames() {
	w.t.Helper()
	filepath.WalkDir(filepath.Join(w.work, "volumes"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(d.Name(), `\`) {
			w.t.Errorf("the server has a file named with a backslash: %s", p)
		}
		if d.Name() == "build_params.yml" {
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), `\`) {
				w.t.Errorf("the build_params form field has a backslash (%s):\n%s", p, data)
			}
		}
		return nil
	})
}

// -C with a relative path in backslashes, from a sibling dir.
func TestWindowsChdirBackslashes(t *testing.T) {
	w := setup(t)
	app := w.checkout("b")
	other := filepath.Join(filepath.Dir(app), "elsewhere")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	w.step(`-C ..\hello (cold)`, full, other, app, "-C", `..\hello`)
	if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
		t.Errorf(`-C ..\hello: no firmware in the app's build/: %v`, err)
	}
	if _, err := os.Stat(filepath.Join(other, "build")); err == nil {
		t.Errorf(`-C ..\hello: a build/ appeared in the dir mos was started in`)
	}
	w.noBackslashNames()
}

// The core uploaded in the app's deps/modules/mongoose-os, as a Windows
// checkout has it: no exec bits on disk (and no git.exe under wine, so no
// index to ask). The SDK's tools still run on the server: the upload marks
// a file starting with #! executable.
func TestWindowsCoreInDeps(t *testing.T) {
	w := setup(t)
	app := w.checkout("c")
	core := filepath.Join(app, "deps", "modules", "mongoose-os")
	if err := harness.CopyTree(filepath.Join(filepath.Dir(app), "sdk-host"), core); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(core, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o644)
		}
		return nil
	})
	w.noRepo = true
	w.step("core in deps/ (cold)", full, app, app)
	w.step("core in deps/ (unchanged)", 0, app, app)
	if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
		t.Errorf("no firmware: %v", err)
	}
	w.noBackslashNames()
}
