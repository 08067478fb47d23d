package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// bins are the binaries under test, built by TestMain.
var bins harness.Binaries

func TestMain(m *testing.M) {
	os.Exit(harness.WithBinaries("mos-e2e-bin-", func(b harness.Binaries) int {
		bins = b
		return m.Run()
	}))
}

// env is one test's world: a server, a mos home and copies of the examples.
type env struct {
	t      *testing.T
	srv    *harness.Server
	work   string
	mosEnv []string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, "native") }

// newEnvWith is newEnv with the server's --build-runner and more flags;
// the docker runner needs a daemon and the host SDK's image (it skips
// without, saying so).
func newEnvWith(t *testing.T, runner string, extra ...string) *env {
	t.Helper()
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	if runner == "docker" {
		testenv.RequireDocker(t)
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "sdk-host", "platforms", "host", "sdk.version"))
		if err != nil {
			t.Fatal(err)
		}
		if image := strings.TrimSpace(string(b)); exec.Command("docker", "image", "inspect", image).Run() != nil {
			t.Skipf("SDK image %s is absent (scripts/sdk-image.sh makes it; .ci/run does); skipping", image)
		}
	}
	work := t.TempDir()
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: runner,
		VolumesDir: filepath.Join(work, "volumes"), LogFile: filepath.Join(work, "server.log"),
		Extra: extra,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(work, "server.log"))
			t.Logf("server log:\n%s", log)
		}
	})
	return &env{t: t, srv: srv, work: work, mosEnv: []string{"MOS_DIR=" + filepath.Join(work, "mos-home")}}
}

// checkout copies examples/hello and examples/sdk-host under work/<name>.
func (e *env) checkout(name string) (app string) {
	e.t.Helper()
	root := testenv.RepoRoot(e.t)
	for _, ex := range []string{"hello", "sdk-host"} {
		if err := harness.CopyTree(filepath.Join(root, "examples", ex), filepath.Join(e.work, name, ex), "build", "deps"); err != nil {
			e.t.Fatal(err)
		}
	}
	return filepath.Join(e.work, name, "hello")
}

// build runs `mos build --server <srv> args...` in app and returns the
// number of files the server compiled.
func (e *env) build(app string, args ...string) harness.Result {
	e.t.Helper()
	args = append([]string{"build", "--server", e.srv.URL()}, args...)
	r, err := harness.Build(context.Background(), bins.Mos, app, e.mosEnv, args, e.srv)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) wantCompiled(what string, r harness.Result, want int) {
	e.t.Helper()
	if r.Compiled != want {
		e.t.Errorf("%s: compiled %d files, want %d\n%s", what, r.Compiled, want, r.Output)
	}
}

func appendTo(t *testing.T, file, text string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
