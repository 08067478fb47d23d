package build

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// runIn runs `mos build args...` in app with its mos dir outside the app.
func runIn(t *testing.T, app string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	io, _, out, errOut := cmdutil.Test()
	f := cmdutil.New()
	f.IO = io
	f.WorkDir = func() (string, error) { return app, nil }
	mosDir := filepath.Join(t.TempDir(), ".mos")
	f.MosDir = func() (string, error) { return mosDir, nil }
	cmd := NewCmdBuild(f, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as the root command does
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// A remote build whose server cannot be reached creates nothing in the
// app dir, not even an empty build/.
func TestUnreachableServerCreatesNothing(t *testing.T) {
	app, sdk := testenv.Examples(t)
	before := testenv.ReadTree(t, filepath.Dir(app))
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	_, stderr, err := runIn(t, app, "--repo", sdk, "--server", url)
	if err == nil || !strings.Contains(err.Error(), "build server "+url) {
		t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
	}
	testenv.CheckTree(t, filepath.Dir(app), before)
}

// `mos build --local` with the docker runner and no docker fails before
// build/ is touched: a remote build's result and context stay.
func TestLocalWithoutDockerLeavesBuildDir(t *testing.T) {
	app, sdk := testenv.Examples(t)
	testenv.WriteTree(t, app, testenv.Tree{
		"build/fw.zip":            {Content: "remote firmware"},
		"build/gen/build_ctx.txt": {Content: "build_ctx_7"},
	})
	before := testenv.ReadTree(t, app)
	t.Setenv("PATH", t.TempDir()) // no docker there
	_, _, err := runIn(t, app, "--local", "--build-runner", "docker", "--repo", sdk)
	if err == nil || !strings.Contains(err.Error(), "docker not found on PATH") {
		t.Fatalf("err = %v", err)
	}
	testenv.CheckTree(t, app, before)
}

// A failed remote build prints the server's build log on stdout and its
// reason once, in the error (which mos prints on stderr), not also as an
// "Error:" line on stdout.
func TestFailedRemoteBuildSaysErrorOnce(t *testing.T) {
	app, sdk := testenv.Examples(t)
	const buildLog = "Building hello...\nCC src/main.c\nsrc/main.c:1: error: nope undeclared\n"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if path.Base(r.URL.Path) != "build" {
			http.Error(w, "wrong action", http.StatusBadRequest)
			return
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		fw, _ := zw.Create("build/build.log")
		io.WriteString(fw, buildLog+"Error: make failed: exit status 2\n")
		fw, _ = zw.Create("build/gen/" + protocol.BuildCtxFile)
		io.WriteString(fw, "build_ctx_1")
		zw.Close()
		w.WriteHeader(protocol.StatusBuildFailed)
		w.Write(buf.Bytes())
	}))
	t.Cleanup(ts.Close)
	stdout, stderr, err := runIn(t, app, "--repo", sdk, "--server", ts.URL, "--no-delta")
	if err == nil || !strings.Contains(err.Error(), "build failed") || !strings.HasSuffix(err.Error(), ": make failed: exit status 2") {
		t.Fatalf("err = %v", err)
	}
	if stdout != buildLog {
		t.Errorf("stdout = %q, want the build log without its Error line", stdout)
	}
	if strings.Contains(stderr, "Error:") {
		t.Errorf("stderr already has an Error line (the caller prints the error):\n%s", stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(app, "build", "build.log")); !strings.HasSuffix(string(got), "Error: make failed: exit status 2\n") {
		t.Errorf("build/build.log lost the reason: %q", got)
	}
}

func TestTimeoutFlags(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.ConnectTimeout != 10*time.Second || o.BuildTimeout != 20*time.Minute {
		t.Errorf("defaults: connect %v, build %v", o.ConnectTimeout, o.BuildTimeout)
	}
	if o, err = parse(t, "--connect-timeout", "3s", "--build-timeout", "1h"); err != nil {
		t.Fatal(err)
	}
	if o.ConnectTimeout != 3*time.Second || o.BuildTimeout != time.Hour {
		t.Errorf("connect %v, build %v", o.ConnectTimeout, o.BuildTimeout)
	}
}
