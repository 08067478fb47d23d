package buildflags

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// parse binds Flags to a fresh flag set and parses args.
func parse(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	o := &Flags{}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o.Register(fs)
	return o, fs.Parse(args)
}

func TestDefaults(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.BuildTarget != "all" || !o.StrictDepsVersions || !o.SaveBuildStat || o.LibsUpdateInterval != time.Hour {
		t.Errorf("defaults %+v", o)
	}
}

func TestParseVars(t *testing.T) {
	vars := map[string]string{}
	if err := parseVars([]string{"A=1", "B:2", "C=x:y", "D:p=q", "E="}, vars); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "2", "C": "x:y", "D": "p=q", "E": ""}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if err := parseVars([]string{"NOSEP"}, vars); err == nil || !strings.Contains(err.Error(), "NOSEP") {
		t.Errorf("err = %v", err)
	}
}

func TestBuildParamsFromFlags(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sdk", "platforms"), 0o755)
	o, err := parse(t, "--platform", "ESP32", "--board", "b1", "--build-var", "X=1", "--cdef", "D=2",
		"--cflags-extra", "-O0,-g", "--lib-extra", "{location: https://github.com/mongoose-os-libs/dash}",
		"--lib", "mylib:../libs/mylib", "--lib", "net:https://github.com/o/net", "--repo", "sdk",
		"--no-libs-update", "--clean", "--credentials", "github.com:tok,gl.example.com:u:p,anytok")
	if err != nil {
		t.Fatal(err)
	}
	bp, err := o.Params(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Platform != "ESP32" || bp.BuildVars["BOARD"] != "b1" || bp.BuildVars["X"] != "1" || bp.CDefs["D"] != "2" {
		t.Errorf("adjustments %+v", bp.ManifestAdjustments)
	}
	if len(bp.CFlags) != 1 || bp.CFlags[0] != "-O0,-g" {
		t.Errorf("cflags-extra must not be comma-split: %q", bp.CFlags)
	}
	if len(bp.ExtraLibs) != 1 || bp.ExtraLibs[0].Location != "https://github.com/mongoose-os-libs/dash" {
		t.Errorf("extra libs %+v", bp.ExtraLibs)
	}
	if bp.CustomLibLocations["mylib"] != filepath.Join(filepath.Dir(dir), "libs", "mylib") ||
		bp.CustomLibLocations["net"] != "https://github.com/o/net" ||
		bp.CustomModuleLocations["mongoose-os"] != filepath.Join(dir, "sdk") {
		t.Errorf("custom locations %v %v", bp.CustomLibLocations, bp.CustomModuleLocations)
	}
	if bp.LibsUpdateInterval != 0 || !bp.Clean || bp.BuildTarget != "all" || !bp.SaveBuildStat {
		t.Errorf("params %+v", bp)
	}
	wantCreds := map[string]protocol.Credentials{
		"github.com":     {User: "mos", Pass: "tok"},
		"gl.example.com": {User: "u", Pass: "p"},
		"":               {User: "mos", Pass: "anytok"},
	}
	for h, c := range wantCreds {
		if bp.Credentials[h] != c {
			t.Errorf("credentials[%q] = %+v, want %+v", h, bp.Credentials[h], c)
		}
	}
}

func TestBuildParamsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bp.yml")
	testenv.WriteTree(t, dir, testenv.Tree{"bp.yml": {Content: "manifestadjustments:\n  platform: host\nlibsupdateinterval: 2h0m0s\nsavebuildstat: true\n"}})
	// Flags other than --build-params are ignored, as upstream.
	o, err := parse(t, "--build-params", file, "--platform", "esp32", "--clean")
	if err != nil {
		t.Fatal(err)
	}
	bp, err := o.Params(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Platform != "host" || bp.Clean || bp.LibsUpdateInterval != 2*time.Hour || bp.BuildTarget != "all" {
		t.Errorf("params %+v", bp)
	}
	o.BuildParamsFile = filepath.Join(dir, "missing.yml")
	if _, err := o.Params(dir); err == nil || !strings.Contains(err.Error(), "missing.yml") {
		t.Errorf("err = %v", err)
	}
}

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{"creds": {Content: "github.com:tok1\n\ngl.example.com:me:secret\n"}})
	c, err := ParseCredentials("@"+filepath.Join(dir, "creds"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c["github.com"].Pass != "tok1" || c["gl.example.com"].User != "me" || len(c) != 2 {
		t.Errorf("credentials %+v", c)
	}
	if _, err := ParseCredentials("a:b:c:d", ""); err == nil || strings.Contains(err.Error(), "c:d") {
		t.Errorf("a bad entry must fail without echoing secrets: %v", err)
	}
	if c, _ := ParseCredentials("", "ghtok"); c["github.com"].Pass != "ghtok" || len(c) != 1 {
		t.Errorf("--gh-token must be a github.com credential: %+v", c)
	}
	c, _ = ParseCredentials("gl.example.com:gltok", "ghtok")
	if c["github.com"].Pass != "ghtok" || c["gl.example.com"].Pass != "gltok" {
		t.Errorf("--gh-token must add to --credentials: %+v", c)
	}
	c, _ = ParseCredentials("github.com:explicit", "ghtok")
	if c["github.com"].Pass != "explicit" {
		t.Errorf("a github.com entry of --credentials must win over --gh-token: %+v", c)
	}
}

// A --repo that is not a mongoose-os checkout is named as --repo (it used
// to surface as "--module mongoose-os" or as no supported platforms).
func TestBadRepo(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	for _, tc := range []struct{ repo, want string }{
		{"gone", "--repo gone: no such directory"},
		{"file", "--repo file: not a directory"},
		{".", "--repo .: not a mongoose-os checkout (it has no platforms/ directory)"},
	} {
		o, err := parse(t, "--repo", tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Params(dir); err == nil || err.Error() != tc.want {
			t.Errorf("--repo %s: err = %v, want %q", tc.repo, err, tc.want)
		}
	}
}
