package evalexpr

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/testenv"
)

// app writes an app with a local lib and a fake core module, so the real
// provider needs no network.
func app(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{
		"mos/platforms/host/sdk.version": {Content: "sdk:1\n"},
		"app/mos.yml": {Content: `name: demo
platform: host
libs:
  - location: libs/greeting
  - name: core
    location: ../core
build_vars:
  GREETING: hello
manifest_version: 2020-08-02
`},
		"app/libs/greeting/mos.yml": {Content: "type: lib\nmanifest_version: 2020-08-02\n"},
		"core/mos.yml":              {Content: "type: lib\nbuild_vars:\n  CORE_VAR: core\nmanifest_version: 2020-08-02\n"},
	})
	return root
}

func run(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	io, _, out, errOut := cmdutil.Test()
	opts := &EvalExprOptions{IO: io, Dir: dir, Expr: args[len(args)-1]}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	opts.Flags.Register(fs)
	if err := fs.Parse(args[:len(args)-1]); err != nil {
		t.Fatal(err)
	}
	err := evalExprRun(context.Background(), opts)
	return out.String(), errOut.String(), err
}

func TestEvalAgainstFinalManifest(t *testing.T) {
	root := app(t)
	dir := filepath.Join(root, "app")
	repo := "--repo=" + filepath.Join(root, "mos")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{repo, "build_vars.GREETING"}, `"hello"`},
		{[]string{repo, "build_vars.MGOS_HAVE_GREETING"}, `"1"`},
		{[]string{repo, "build_vars.CORE_VAR"}, `"core"`},
		{[]string{repo, `mos.platform == "host"`}, "true"},
		{[]string{repo, "--build-var", "GREETING=hi", "build_vars.GREETING"}, `"hi"`},
		{[]string{repo, "name"}, `"demo"`},
	} {
		out, _, err := run(t, dir, tc.args...)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if strings.TrimSpace(out) != tc.want {
			t.Errorf("%v: printed %q, want %q", tc.args, out, tc.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	root := app(t)
	dir := filepath.Join(root, "app")
	_, _, err := run(t, dir, "--repo="+filepath.Join(root, "mos"), "build_vars.NOPE")
	if err == nil || !strings.Contains(err.Error(), "build_vars.NOPE") {
		t.Errorf("err = %v, want one naming the expression", err)
	}
	// Without --repo the core module would be fetched; with fetching off it
	// is a clear error.
	_, _, err = run(t, dir, "--no-libs-update", "name")
	if err == nil || !strings.Contains(err.Error(), "mongoose-os") {
		t.Errorf("err = %v, want one naming the mongoose-os module", err)
	}
}

func TestNewCmdEvalExprArgs(t *testing.T) {
	io, _, _, _ := cmdutil.Test()
	var got *EvalExprOptions
	cmd := NewCmdEvalExpr(&cmdutil.Factory{IO: io, WorkDir: func() (string, error) { return "/app", nil }}, func(_ context.Context, o *EvalExprOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--platform", "esp32", "build_vars.X"})
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Expr != "build_vars.X" || got.Platform != "esp32" || got.Dir != "/app" {
		t.Errorf("options %+v", got)
	}
	cmd.SetArgs([]string{})
	if err := cmd.Execute(); err == nil {
		t.Error("want an error without EXPR")
	}
}
