package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// full is the number of files a clean build of examples/hello compiles.
const full = 10

func TestContextReuse(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	e.wantCompiled("cold build", e.build(app, "--repo", "../sdk-host"), full)
	e.wantCompiled("unchanged build", e.build(app, "--repo", "../sdk-host"), 0)
	appendTo(t, filepath.Join(app, "src", "hello.c"), "/* edited */\n")
	r := e.build(app, "--repo", "../sdk-host")
	e.wantCompiled("one file edited", r, 1)
	if !strings.Contains(r.Output, "Success, built hello/host version 1.0") {
		t.Errorf("output:\n%s", r.Output)
	}

	// build/ deleted: the context comes back from the gen cache.
	if err := os.RemoveAll(filepath.Join(app, "build")); err != nil {
		t.Fatal(err)
	}
	r = e.build(app, "--repo", "../sdk-host")
	e.wantCompiled("build after deleting build/", r, 0)
	if !strings.Contains(r.Output, "from the cache") {
		t.Errorf("output does not say build/gen was restored:\n%s", r.Output)
	}
	if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
		t.Errorf("no firmware after the restored build: %v", err)
	}

	e.wantCompiled("--clean", e.build(app, "--repo", "../sdk-host", "--clean"), full)
	e.wantCompiled("after --clean", e.build(app, "--repo", "../sdk-host"), 0)
}

func TestKeepBuildDir(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	e.wantCompiled("cold", e.build(app, "--repo", "../sdk-host", "--keep-build-dir"), full)
	mine := filepath.Join(app, "build", "my-notes.txt")
	os.WriteFile(mine, []byte("keep me"), 0o644)
	e.wantCompiled("unchanged", e.build(app, "--repo", "../sdk-host", "--keep-build-dir"), 0)
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("--keep-build-dir removed a file of build/: %v", err)
	}
	e.build(app, "--repo", "../sdk-host")
	if _, err := os.Stat(mine); err == nil {
		t.Error("without --keep-build-dir the result replaces build/")
	}
}

// Two checkouts of the app (CI jobs, branches) share one named context.
func TestNamedContextAcrossCheckouts(t *testing.T) {
	e := newEnv(t)
	a, b := e.checkout("ci-job-1"), e.checkout("ci-job-2")
	e.wantCompiled("first checkout", e.build(a, "--repo", "../sdk-host", "--build-context", "ci_main"), full)
	r := e.build(b, "--repo", "../sdk-host", "--build-context", "ci_main")
	e.wantCompiled("second checkout, same context", r, 0)
	ctx, err := os.ReadFile(filepath.Join(b, "build", "gen", "build_ctx.txt"))
	if err != nil || string(ctx) != "ci_main" {
		t.Errorf("build_ctx.txt = %q, %v; want ci_main", ctx, err)
	}
	contexts, _ := filepath.Glob(filepath.Join(e.work, "volumes", "*", "apps", "hello", "host", "build_contexts", "*"))
	var dirs []string
	for _, c := range contexts {
		// Context names have no dots; <name>.sent is a context's kept
		// results, beside it.
		if st, err := os.Stat(c); err == nil && st.IsDir() && !strings.Contains(filepath.Base(c), ".") {
			dirs = append(dirs, filepath.Base(c))
		}
	}
	if len(dirs) != 1 || dirs[0] != "ci_main" {
		t.Errorf("server contexts %v, want only ci_main", dirs)
	}
	// Another name is another context: a new one, started as a copy of
	// the nearest (ci_main), so it compiles nothing.
	e.wantCompiled("other context", e.build(b, "--repo", "../sdk-host", "--build-context", "ci_dev"), 0)
	if st, err := os.Stat(filepath.Join(filepath.Dir(contexts[0]), "ci_dev")); err != nil || !st.IsDir() {
		t.Errorf("no context ci_dev on the server: %v", err)
	}
}

// The core module uploaded in deps/ from a git checkout whose files have
// no exec bits on disk (core.fileMode=false, as on Windows): git's index
// says the fw-meta script is executable, and the build works.
func TestExecBitsFromGitIndex(t *testing.T) {
	testenv.RequireTool(t, "git")
	e := newEnv(t)
	app := e.checkout("a")
	sdk := filepath.Join(filepath.Dir(app), "sdk-host")
	testenv.Git(t, sdk, "init", "-q", "-b", "master")
	testenv.Git(t, sdk, "add", "-A")
	testenv.Git(t, sdk, "commit", "-q", "-m", "sdk")
	if mode := testenv.Git(t, sdk, "ls-files", "-s", "tools/mgos_fw_meta.py"); !strings.HasPrefix(mode, "100755") {
		t.Fatalf("the SDK's fw-meta script is not 100755 in git: %s", mode)
	}
	core := filepath.Join(app, "deps", "modules", "mongoose-os")
	testenv.Git(t, app, "clone", "-q", sdk, core)
	testenv.Git(t, core, "config", "core.fileMode", "false")
	filepath.WalkDir(core, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o644)
		}
		return nil
	})
	r := e.build(app) // no --repo: the module comes from the uploaded deps/
	e.wantCompiled("build with deps/ from a mode-less checkout", r, full)
	if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
		t.Errorf("no firmware: %v", err)
	}
}
