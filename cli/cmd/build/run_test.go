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

// The dry run writes build/gen for an app whose lib comes from a git repo
// (file://), fetched into deps/ at the requested tag.
func TestDryRunWithGitLib(t *testing.T) {
	testenv.RequireTool(t, "git")
	app, sdk := testenv.Examples(t)
	repos := t.TempDir()
	url := testenv.GitRepo(t, filepath.Join(repos, "blinker"), testenv.Tree{
		"mos.yml":       {Content: "type: lib\nsources: [src]\nconfig_schema:\n  - [\"blinker\", \"o\", {title: \"Blinker\"}]\nmanifest_version: 2020-08-02\n"},
		"src/blinker.c": {Content: "#include <stdbool.h>\nbool mgos_blinker_init(void) { return true; }\n"},
	})
	testenv.Git(t, filepath.Join(repos, "blinker"), "tag", "v1.0")
	data, _ := os.ReadFile(filepath.Join(app, "mos.yml"))
	data = []byte(strings.Replace(string(data), "libs:\n", "libs:\n  - location: "+url+"\n    version: v1.0\n", 1))
	os.WriteFile(filepath.Join(app, "mos.yml"), data, 0o644)

	_, stderr, err := runCmd(t, app, "--local", "--build-dry-run", "--repo", sdk)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	gen := filepath.Join(app, "build", "gen")
	for _, f := range []string{"mos_final.yml", "mgos_deps_manifest.yml", "mgos_deps_init.c", "mos_conf_schema.yml"} {
		if _, err := os.Stat(filepath.Join(gen, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	deps, _ := os.ReadFile(filepath.Join(gen, "mgos_deps_manifest.yml"))
	head := testenv.Git(t, filepath.Join(repos, "blinker"), "rev-parse", "HEAD")
	if !strings.Contains(string(deps), "name: blinker\n  location: "+url+"\n  version: v1.0\n  repo_version: "+head) {
		t.Errorf("mgos_deps_manifest.yml:\n%s", deps)
	}
	if _, err := os.Stat(filepath.Join(app, "deps", "blinker", "src", "blinker.c")); err != nil {
		t.Errorf("the lib was not cloned into deps/: %v", err)
	}
	init, _ := os.ReadFile(filepath.Join(gen, "mgos_deps_init.c"))
	if !strings.Contains(string(init), "mgos_blinker_init") {
		t.Errorf("mgos_deps_init.c does not init the git lib")
	}
	if _, err := os.Stat(filepath.Join(app, "build", "objs")); err == nil {
		t.Error("the dry run ran make")
	}
}
