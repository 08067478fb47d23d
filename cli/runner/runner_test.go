package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

func makeJob(t *testing.T, makefile string, log io.Writer) *Job {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{"Makefile.build": {Content: makefile}})
	return &Job{
		AppDir: dir, MosDir: dir, Makefile: filepath.Join(dir, "Makefile.build"),
		Target: "all", Jobs: 2, Vars: []string{"GREETING=hello world"}, Extra: []string{"EXTRA=1"}, Log: log,
	}
}

func TestNativeRunsMake(t *testing.T) {
	testenv.RequireTool(t, "make")
	var log bytes.Buffer
	job := makeJob(t, "all:\n\t@echo \"say $(GREETING) extra=$(EXTRA)\"\n", &log)
	if err := (&Native{}).Run(context.Background(), job); err != nil {
		t.Fatalf("%v\n%s", err, &log)
	}
	if !strings.Contains(log.String(), "say hello world extra=1") {
		t.Errorf("log:\n%s", &log)
	}
	if !strings.Contains(log.String(), "Make arguments: -j 2 -C "+job.AppDir) {
		t.Errorf("log does not show the make arguments:\n%s", &log)
	}
}

func TestNativeMakeFails(t *testing.T) {
	testenv.RequireTool(t, "make")
	var log bytes.Buffer
	job := makeJob(t, "all:\n\t@echo broken >&2; exit 3\n", &log)
	err := (&Native{}).Run(context.Background(), job)
	if !errors.Is(err, ErrMakeFailed) {
		t.Fatalf("err = %v, want ErrMakeFailed", err)
	}
	if !strings.Contains(log.String(), "broken") {
		t.Errorf("make's stderr is not in the log:\n%s", &log)
	}
}

func TestNativeDryRunRunsNothing(t *testing.T) {
	var log bytes.Buffer
	job := makeJob(t, "all:\n\ttouch ran\n", &log)
	job.DryRun = true
	if err := (&Native{}).Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(job.AppDir, "ran")); err == nil {
		t.Error("dry run ran make")
	}
}

// signalWriter closes started when the first output arrives.
type signalWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	started chan struct{}
	once    sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("started")) {
		w.once.Do(func() { close(w.started) })
	}
	return w.buf.Write(p)
}

func TestNativeCancelKillsMake(t *testing.T) {
	testenv.RequireTool(t, "make")
	w := &signalWriter{started: make(chan struct{})}
	job := makeJob(t, "all:\n\t@echo started; sleep 300; touch finished\n", w)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- (&Native{}).Run(ctx, job) }()
	select {
	case <-w.started:
	case err := <-errc:
		t.Fatalf("make ended before it started: %v", err)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("make was not killed")
	}
	if _, err := os.Stat(filepath.Join(job.AppDir, "finished")); err == nil {
		t.Error("the recipe finished after cancel")
	}
}

func TestDockerArgs(t *testing.T) {
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{
		"app/mos.yml":       {},
		"app/build/":        {},
		"mos/platforms/x/m": {},
		"shared/src/a.c":    {},
	})
	app, mos := filepath.Join(root, "app"), filepath.Join(root, "mos")
	d := &Docker{Image: "sdk:1", User: "1000:1000", Extra: []string{"--network", "none"}}
	job := &Job{
		AppDir: app, MosDir: mos, Makefile: filepath.Join(mos, "platforms/x/m"), Target: "all", Jobs: 4,
		Vars:   []string{"MGOS_VARS_FILE=" + filepath.Join(app, "build/gen/vars.mk")},
		Mounts: []string{filepath.Join(app, "build"), filepath.Join(root, "shared/src"), filepath.Join(root, "missing")},
	}
	args, name := d.Args(job)
	got := strings.Join(args, " ")
	for _, want := range []string{
		"run --name " + name + " --rm -i",
		"-v " + app + ":/app",
		"-v " + mos + ":/mongoose-os",
		"-v " + mos + ":" + mos,
		"-v " + filepath.Join(app, "build") + ":" + filepath.Join(app, "build"),
		"-v " + filepath.Join(root, "shared/src") + ":" + filepath.Join(root, "shared/src"),
		"--user 1000:1000 --network none sdk:1 make -j 4 -C /app -f " + job.Makefile + " all MGOS_VARS_FILE=",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("docker args lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "missing") {
		t.Errorf("a missing dir was mounted:\n%s", got)
	}
	if d.MosPath(mos) != "/mongoose-os" {
		t.Errorf("MosPath = %q", d.MosPath(mos))
	}
}

// A sandbox with a Root (the server's) mounts the context there, and at
// its own path, and make runs there: every context's build names the same
// paths. Dirs outside the context keep their own paths.
func TestDockerArgsAtSandboxRoot(t *testing.T) {
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{
		"ctx/app/mos.yml":                    {},
		"ctx/app/build/gen/":                 {},
		"ctx/deps/mongoose-os/platforms/x/m": {},
		"libcache/lib/src/a.c":               {},
	})
	ctx, libs := filepath.Join(root, "ctx"), filepath.Join(root, "libcache")
	app, mos := filepath.Join(ctx, "app"), filepath.Join(ctx, "deps", "mongoose-os")
	d := &Docker{Image: "sdk:1", Sandbox: &Sandbox{Writable: []string{ctx}, ReadOnly: []string{libs}, Root: "/mos/ctx"}}
	job := &Job{
		AppDir: app, MosDir: mos, Makefile: filepath.Join(mos, "platforms/x/m"), Target: d.Path(filepath.Join(app, "build/x")), Jobs: 4,
		Vars:   []string{"MGOS_VARS_FILE=" + d.Path(filepath.Join(app, "build/gen/vars.mk"))},
		Mounts: []string{filepath.Join(app, "build"), filepath.Join(libs, "lib/src")},
	}
	args, _ := d.Args(job)
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-v " + ctx + ":/mos/ctx ",
		"-v " + ctx + ":" + ctx + " ",
		"-v " + mos + ":/mongoose-os ",
		"-v " + filepath.Join(libs, "lib/src") + ":" + filepath.Join(libs, "lib/src") + ":ro ",
		"sdk:1 make -j 4 -C /mos/ctx/app -f /mos/ctx/deps/mongoose-os/platforms/x/m /mos/ctx/app/build/x MGOS_VARS_FILE=/mos/ctx/app/build/gen/vars.mk",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("docker args lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, ":/app") || strings.Contains(got, filepath.Join(app, "build")+":") ||
		strings.Contains(got, mos+":"+mos) {
		t.Errorf("the app mounted at /app, or a dir of the context mounted again:\n%s", got)
	}
	if p := d.Path(filepath.Join(libs, "lib")); p != filepath.Join(libs, "lib") {
		t.Errorf("Path(lib cache) = %q, want it unchanged", p)
	}
}

func TestDockerArgsAppInGitSubdir(t *testing.T) {
	testenv.RequireTool(t, "git")
	root := t.TempDir()
	testenv.GitRepo(t, root, testenv.Tree{"fw/app/mos.yml": {Content: "x"}})
	app := filepath.Join(root, "fw", "app")
	args, _ := (&Docker{Image: "i"}).Args(&Job{AppDir: app, MosDir: app, Makefile: "/m", Target: "all", Jobs: 1})
	got := strings.Join(args, " ")
	if !strings.Contains(got, "-v "+root+":/app") || !strings.Contains(got, "-C /app/fw/app") {
		t.Errorf("want the git top mounted at /app and -C /app/fw/app:\n%s", got)
	}
}

func TestDockerNoMounts(t *testing.T) {
	d := &Docker{Image: "i", NoMounts: true}
	args, _ := d.Args(&Job{AppDir: "/a", MosDir: "/m", Makefile: "/m/mk", Target: "all", Jobs: 1, Mounts: []string{"/"}})
	got := strings.Join(args, " ")
	if strings.Contains(got, "-v ") || !strings.Contains(got, "-C /a ") || d.MosPath("/m") != "/m" {
		t.Errorf("no-mounts args: %s", got)
	}
}

func TestDockerMissing(t *testing.T) {
	var log bytes.Buffer
	d := &Docker{Image: "i", Docker: filepath.Join(t.TempDir(), "no-docker")}
	err := d.Run(context.Background(), &Job{AppDir: "/a", MosDir: "/m", Makefile: "/m/mk", Target: "all", Jobs: 1, Log: &log})
	if !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "--build-runner native") {
		t.Errorf("err = %v, want ErrNoDocker with a hint", err)
	}
}

func TestDockerDaemonDown(t *testing.T) {
	// A docker client whose daemon does not answer.
	dir := t.TempDir()
	fake := filepath.Join(dir, "docker")
	testenv.WriteTree(t, dir, testenv.Tree{"docker": {
		Content: "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n", Mode: 0o755}})
	var log bytes.Buffer
	d := &Docker{Image: "i", Docker: fake}
	err := d.Run(context.Background(), &Job{AppDir: dir, MosDir: dir, Makefile: "/m/mk", Target: "all", Jobs: 1, Log: &log})
	if !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "Cannot connect") ||
		!strings.Contains(err.Error(), "--build-runner native") {
		t.Errorf("err = %v", err)
	}
}
