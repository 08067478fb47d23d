package build

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/testenv"
)

// runCmd runs `mos build args...` in dir with test streams, through the
// command's real run function.
func runCmd(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	io, _, out, errOut := cmdutil.Test()
	f := cmdutil.New()
	f.IO = io
	f.WorkDir = func() (string, error) { return dir, nil }
	f.MosDir = func() (string, error) { return filepath.Join(dir, ".mos-home"), nil }
	cmd := NewCmdBuild(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestLocalBuildCommand(t *testing.T) {
	testenv.RequireTool(t, "make")
	app, sdk := testenv.Examples(t)
	stdout, stderr, err := runCmd(t, app, "--local", "--build-runner", "native", "--repo", sdk)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s\nstdout:\n%s", err, stderr, stdout)
	}
	fw := filepath.Join(app, "build", "fw.zip")
	if !strings.Contains(stderr, "Success, built hello/host version 1.0 (") ||
		!strings.Contains(stderr, "Firmware saved to "+fw+"\n") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty on success", stdout)
	}
	var stat map[string]any
	data, err := os.ReadFile(filepath.Join(app, "build", "gen", "build_stat.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &stat); err != nil {
		t.Fatal(err)
	}
	if stat["platform"] != "host" || stat["arch"] != "host" || stat["app_name"] != "hello" || stat["build_time_ms"] == nil {
		t.Errorf("build_stat.json = %s", data)
	}
	if !strings.HasPrefix(string(data), "{\n  \"arch\": \"host\",\n  \"platform\"") || strings.HasSuffix(string(data), "\n") {
		t.Errorf("build_stat.json layout: %q", data)
	}

	// --save-build-stat=false leaves no stat; a failing build prints the
	// build log to stdout and fails.
	os.Remove(filepath.Join(app, "build", "gen", "build_stat.json"))
	os.WriteFile(filepath.Join(app, "src", "broken.c"), []byte("int broken(void) { return nope; }\n"), 0o644)
	stdout, _, err = runCmd(t, app, "--local", "--build-runner", "native", "--repo", sdk, "--save-build-stat=false")
	if err == nil {
		t.Fatal("a broken source built")
	}
	if !strings.Contains(stdout, "nope") || !strings.Contains(stdout, "Building hello...") {
		t.Errorf("stdout does not hold the build log:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(app, "build", "gen", "build_stat.json")); err == nil {
		t.Error("build_stat.json written for a failed build")
	}
}

func TestBuildCommandNoManifest(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCmd(t, dir, "--local")
	if err == nil || !strings.Contains(err.Error(), "no mos.yml file in "+dir) {
		t.Errorf("err = %v", err)
	}
}
