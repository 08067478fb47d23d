package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

// parse runs the build command's flag parsing and returns the Options the
// run would get.
func parse(t *testing.T, args ...string) (*BuildOptions, error) {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	f := cmdutil.New()
	f.IO = io
	var got *BuildOptions
	cmd := NewCmdBuild(f, func(_ context.Context, o *BuildOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestNewCmdBuildFlags(t *testing.T) {
	o, err := parse(t, "--local", "--platform", "esp32", "--build-var", "A=1,B:2", "--build-var", "C=x:y",
		"--keep-build-dir", "--build-context", "ci_main", "--libs-update-interval", "0s",
		"--lib", "l1:/x/l1", "--build-runner", "native", "--save-build-stat=false")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Local || o.Platform != "esp32" || !o.KeepBuildDir || o.BuildContext != "ci_main" ||
		o.LibsUpdateInterval != 0 || o.BuildRunner != "native" || o.SaveBuildStat {
		t.Errorf("options %+v", o)
	}
	if strings.Join(o.BuildVars, ";") != "A=1;B:2;C=x:y" {
		t.Errorf("build vars %q", o.BuildVars)
	}
	if o.Server != defaultServer || o.BuildTarget != "all" || !o.StrictDepsVersions {
		t.Errorf("defaults: server %q target %q strict %v", o.Server, o.BuildTarget, o.StrictDepsVersions)
	}
}

func TestNewCmdBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--build-context", "ci-main"}, `--build-context "ci-main"`},
		{[]string{"--build-runner", "podman"}, `--build-runner "podman"`},
		{[]string{"extra-arg"}, "unknown command"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	_, err := parse(t, "--build-context", "a/b")
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) {
		t.Errorf("a bad --build-context must be a FlagError, got %T", err)
	}
}

func TestStockSpellings(t *testing.T) {
	o, err := parse(t, "--arch", "esp8266")
	if err != nil {
		t.Fatal(err)
	}
	if o.Platform != "esp8266" {
		t.Errorf("--arch must set the platform, got %q", o.Platform)
	}
	o, err = parse(t, "--arch", "esp8266", "--platform", "esp32")
	if err != nil || o.Platform != "esp32" {
		t.Errorf("--platform wins over --arch: %q %v", o.Platform, err)
	}
}

func TestUserPassSetServerAuth(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--server", "http://buildsrv:8000", "--user", "ci", "--pass", "s3cret"}, "http://ci:s3cret@buildsrv:8000"},
		{[]string{"--server", "buildsrv:8000", "--user", "ci"}, "http://ci:test@buildsrv:8000"},
		{[]string{"--server", "https://old:pw@buildsrv/x", "--pass", "new"}, "https://old:new@buildsrv/x"},
		{[]string{"--server", "http://buildsrv:8000"}, "http://buildsrv:8000"},
	} {
		o, err := parse(t, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if o.Server != tc.want {
			t.Errorf("%v: server %q, want %q", tc.args, o.Server, tc.want)
		}
	}
}
