// Package realcore tests the whole flow on the real Mongoose OS core and
// real libs (../shared/real, copied first: it is read-only in CI): local
// builds, remote builds through our server, exec bits and line ends of the
// core's own tools, and the firmware that results, run without network.
package realcore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/bench/suite"
	"github.com/mongoose-os/mos/common/testenv"
)

// bins are our mos and fwbuild-manager, built once by TestMain.
var bins harness.Binaries

func TestMain(m *testing.M) {
	os.Exit(harness.WithBinaries("mos-realcore-bin-", func(b harness.Binaries) int {
		bins = b
		return m.Run()
	}))
}

// world is one test's copy of the real core and libs, its app and its mos
// home.
type world struct {
	t    *testing.T
	real string // the copy of ../shared/real
	work string
	env  []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	for _, tool := range []string{"make", "clang", "python3"} {
		testenv.RequireTool(t, tool)
	}
	w := &world{t: t, real: dockerRealCopy(t), work: t.TempDir()}
	w.env = []string{"MOS_DIR=" + filepath.Join(w.work, "mos-home")}
	return w
}

// app writes the test app (the one the Docker test builds) at work/name.
func (w *world) app(name string) string {
	return dockerApp(w.t, filepath.Join(w.work, name))
}

// args are the real-core build flags (../shared/real/README.md), plus
// more.
func (w *world) args(more ...string) []string {
	return append(append([]string{"build"}, suite.RealFlags(w.real)...), more...)
}

// build runs mos in app and returns the sources compiled (server paths for
// a remote build, from the build log the result carries).
func (w *world) build(what, app string, srv *harness.Server, args []string) []string {
	w.t.Helper()
	r, err := harness.Build(context.Background(), bins.Mos, app, w.env, args, srv)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	compiled := testenv.CompiledFiles(w.t, filepath.Join(app, "build", "build.log"))
	w.t.Logf("%s: %.1f s, %d files compiled, %d B up, %d B down", what, r.Seconds, len(compiled), r.BytesUp, r.BytesDown)
	return compiled
}

func (w *world) server() *harness.Server {
	w.t.Helper()
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: "native",
		VolumesDir: filepath.Join(w.work, "volumes"), LogFile: filepath.Join(w.work, "server.log"),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		srv.Stop()
		if w.t.Failed() {
			log, _ := os.ReadFile(filepath.Join(w.work, "server.log"))
			w.t.Logf("server log:\n%s", log)
		}
	})
	return srv
}

// editMain appends a line to the app's one source file.
func editMain(t *testing.T, app string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(app, "src", "main.c"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "int realcore_edit_marker;")
	f.Close()
}

// wantOnlyApp checks a rebuild after editing main.c compiled main.c and
// the build info the core regenerates, and nothing else.
func wantOnlyApp(t *testing.T, what string, compiled []string) {
	t.Helper()
	var base []string
	for _, c := range compiled {
		base = append(base, filepath.Base(c))
	}
	slices.Sort(base)
	if strings.Join(base, " ") != "build_info.c main.c" {
		if len(base) > 10 {
			base = append(base[:10], "...")
		}
		t.Errorf("%s compiled %d files %q, want main.c and build_info.c only", what, len(compiled), base)
	}
}

// wantCold checks a cold build compiled the core, the libs and the app.
func wantCold(t *testing.T, what string, compiled []string) {
	t.Helper()
	joined := strings.Join(compiled, "\n")
	for _, want := range []string{"/mongoose-os/src/mgos_init.c", "/rpc-common/src/mg_rpc.c", "/http-server/src/mgos_http_server.c",
		"/rpc-service-config/src/mgos_service_config.c", "/mbedtls/library/aes.c", "/src/main.c"} {
		if !strings.Contains(joined, want) {
			t.Errorf("%s did not compile %s (%d files compiled)", what, want, len(compiled))
		}
	}
	if len(compiled) < 100 {
		t.Errorf("%s compiled %d files, want the whole core (over 100)", what, len(compiled))
	}
}

// TestLocalNative: cold, unchanged (nothing compiled), one .c edited.
func TestLocalNative(t *testing.T) {
	w := newWorld(t)
	app := w.app("app")
	args := w.args("--local", "--build-runner", "native")
	wantCold(t, "cold", w.build("cold", app, nil, args))
	if c := w.build("unchanged", app, nil, args); len(c) != 0 {
		t.Errorf("unchanged rebuild compiled %q", c)
	}
	editMain(t, app)
	wantOnlyApp(t, "one file edited", w.build("one file edited", app, nil, args))
	runFirmware(t, filepath.Join(app, "build"), "app")
}

// TestRemoteReuse: through our server, the same three builds, then the
// context found again after rm -rf build, a named context shared by two
// checkouts, and --clean.
func TestRemoteReuse(t *testing.T) {
	w := newWorld(t)
	srv := w.server()
	app := w.app("app")
	args := w.args("--server", srv.URL())
	wantCold(t, "cold", w.build("cold", app, srv, args))
	if c := w.build("unchanged", app, srv, args); len(c) != 0 {
		t.Errorf("unchanged rebuild compiled %d files, want 0", len(c))
	}
	editMain(t, app)
	wantOnlyApp(t, "one file edited", w.build("one file edited", app, srv, args))
	runFirmware(t, filepath.Join(app, "build"), "app")

	if err := os.RemoveAll(filepath.Join(app, "build")); err != nil {
		t.Fatal(err)
	}
	if c := w.build("after rm -rf build", app, srv, args); len(c) != 0 {
		t.Errorf("after rm -rf build the build compiled %d files, want 0: the context was not found again", len(c))
	}

	// Two checkouts of the same app, one named context: the first starts
	// it as a copy of the nearest context (the one above, whose main.c
	// differs), the second checkout builds in what the first left.
	named := w.args("--server", srv.URL(), "--build-context", "ci_main")
	a, b := w.app(filepath.Join("checkout_a", "app")), w.app(filepath.Join("checkout_b", "app"))
	wantOnlyApp(t, "checkout a, new named context (a copy of the nearest)", w.build("checkout a", a, srv, named))
	if c := w.build("checkout b", b, srv, named); len(c) != 0 {
		t.Errorf("checkout b in the same named context compiled %d files, want 0", len(c))
	}
	wantCold(t, "--clean", w.build("--clean", app, srv, append(args, "--clean")))
}

// TestRemoteExecBitsAndLineEnds: the core as a Windows checkout has it —
// every file 0644 on disk, core.fileMode=false, the index saying 100755
// for tools/*.py, and CRLF line ends (core.autocrlf=true) in those
// scripts — builds on the server; so does the same tree with no git at
// all, through the #! rule.
func TestRemoteExecBitsAndLineEnds(t *testing.T) {
	w := newWorld(t)
	srv := w.server()
	core := filepath.Join(w.real, "mongoose-os")
	tools, err := filepath.Glob(filepath.Join(core, "tools", "*.py"))
	if err != nil || len(tools) == 0 {
		t.Fatalf("no tools/*.py in the core (%v)", err)
	}
	chmodAll(t, core, 0o644)

	t.Run("no git, #! rule", func(t *testing.T) {
		app := w.app("app_nogit")
		w.build("cold, core without exec bits", app, srv, w.args("--server", srv.URL()))
	})

	t.Run("git index, CRLF", func(t *testing.T) {
		testenv.Git(t, core, "init", "-q")
		testenv.Git(t, core, "config", "core.fileMode", "false")
		testenv.Git(t, core, "add", "-A")
		for _, f := range tools {
			rel, _ := filepath.Rel(core, f)
			testenv.Git(t, core, "update-index", "--chmod=+x", filepath.ToSlash(rel))
		}
		testenv.Git(t, core, "commit", "-qm", "core")
		for _, f := range tools {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			crlf := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n", "\r\n")
			if err := os.WriteFile(f, []byte(crlf), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		app := w.app("app_git")
		w.build("cold, core from a Windows-style checkout", app, srv, w.args("--server", srv.URL()))
		// The scripts on disk are as the user left them.
		data, _ := os.ReadFile(tools[0])
		if !strings.Contains(string(data), "\r\n") {
			t.Errorf("%s lost its CRLF line ends on disk", tools[0])
		}
	})
}

func chmodAll(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}
