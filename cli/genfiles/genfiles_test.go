package genfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

func TestVarsMk(t *testing.T) {
	got := string(VarsMk(map[string]string{
		"PLATFORM":    "esp32",
		"APP_CFLAGS":  "-DX=1 -DCOLOR=\"#fff\"",
		"APP_VERSION": "",
		"MULTI":       "a\r\nb\nc",
	}))
	want := "APP_CFLAGS=-DX=1 -DCOLOR=\"\\#fff\"\nAPP_VERSION=\nMULTI=a  b c\nPLATFORM=esp32"
	if got != want {
		t.Errorf("VarsMk =\n%q\nwant\n%q", got, want)
	}
	if got := VarsMk(nil); len(got) != 0 {
		t.Errorf("VarsMk(nil) = %q", got)
	}

	dir := filepath.Join(t.TempDir(), "gen")
	p, err := WriteVarsMk(dir, map[string]string{"A": "1", "B": "2"})
	if err != nil || p != filepath.Join(dir, "vars.mk") {
		t.Fatalf("WriteVarsMk = %q, %v", p, err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{"vars.mk": {Content: "A=1\nB=2"}})
}

func TestCFlags(t *testing.T) {
	got, err := CFlags("cflags", []string{"-O2", "-Wall"}, map[string]string{"FOO": "1", "BAR": `\"x\"`, "EMPTY": ""})
	if want := `-O2 -Wall '-DBAR="x"' -DEMPTY= -DFOO=1`; err != nil || got != want {
		t.Errorf("CFlags = %q, %v, want %q", got, err, want)
	}
	if got, err := CFlags("cflags", nil, nil); got != "" || err != nil {
		t.Errorf("CFlags(nil, nil) = %q, %v", got, err)
	}
}

func TestMarshalFinal(t *testing.T) {
	m := &manifest.Manifest{
		Name:         "app",
		Type:         "app",
		Version:      "1.0",
		Platform:     "esp32",
		Sources:      []string{"/a/src/main.c"},
		Libs:         []manifest.Dep{},
		Conds:        []manifest.Cond{},
		ConfigSchema: []manifest.ConfigSchemaItem{{"app", "o", map[any]any{"title": "App"}}},
		BuildVars:    map[string]string{"MGOS": "1", "BOARD": ""},
		LibsHandled: []manifest.LibHandled{{
			Lib:      manifest.Dep{Name: "core", Location: "https://github.com/mongoose-os-libs/core"},
			Path:     "/deps/core",
			Deps:     []string{},
			Version:  "2.20.0",
			Manifest: &manifest.Manifest{Name: "never written"},
		}},
		ManifestVersion: "2020-08-02",
		Origin:          "never written either",
	}
	got, err := MarshalFinal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `name: app
type: app
version: "1.0"
platform: esp32
sources:
- /a/src/main.c
config_schema:
- - app
  - o
  - title: App
build_vars:
  BOARD: ""
  MGOS: "1"
manifest_version: "2020-08-02"
libs_handled:
- lib:
    name: core
    location: https://github.com/mongoose-os-libs/core
  path: /deps/core
  version: 2.20.0
`
	if string(got) != want {
		t.Errorf("MarshalFinal =\n%s\nwant\n%s", got, want)
	}

	dir := t.TempDir()
	if _, err := WriteFinal(dir, m); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{"mos_final.yml": {Content: want}})
}

func TestWriteDepsFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build", "gen")
	mtime := time.Date(2020, 8, 2, 12, 0, 0, 0, time.UTC)
	dm := &protocol.DepsManifest{
		AppName: "app",
		Libs: []*protocol.DepsManifestEntry{{Name: "core", Location: "https://github.com/mongoose-os-libs/core",
			Version: "2.20.0", Blobs: []*protocol.DepsBlobEntry{{Name: "libcore-esp32.a", Size: 3, SHA256: "ab"}}}},
		ManifestVersion: protocol.DepsManifestVersion,
	}
	if err := WriteDepsManifest(dir, dm); err != nil {
		t.Fatal(err)
	}
	if err := WriteDepsInit(dir, []byte("/* init */\n"), mtime); err != nil {
		t.Fatal(err)
	}
	schema := []manifest.ConfigSchemaItem{{"app.x", "i", 5, map[any]any{"title": "X"}}}
	p, err := WriteConfSchema(dir, schema, mtime)
	if err != nil || p != filepath.Join(dir, "mos_conf_schema.yml") {
		t.Fatalf("WriteConfSchema = %q, %v", p, err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{
		"mgos_deps_manifest.yml": {Content: `app_name: app
libs:
- name: core
  location: https://github.com/mongoose-os-libs/core
  version: 2.20.0
  blobs:
  - name: libcore-esp32.a
    size: 3
    cs_sha256: ab
manifest_version: "2021-03-26"
`},
		"mgos_deps_init.c":    {Content: "/* init */\n"},
		"mos_conf_schema.yml": {Content: "- - app.x\n  - i\n  - 5\n  - title: X\n"},
	})
	for _, name := range []string{"mgos_deps_init.c", "mos_conf_schema.yml"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.ModTime().Equal(mtime) {
			t.Errorf("%s: mtime %v, %v; want %v", name, fi.ModTime(), err, mtime)
		}
	}

	// The schema round-trips as YAML.
	var back []manifest.ConfigSchemaItem
	if err := yaml.Unmarshal([]byte("- - app.x\n  - i\n  - 5\n  - title: X\n"), &back); err != nil || len(back) != 1 {
		t.Errorf("schema read back: %v, %v", back, err)
	}

	// Empty schema: no file.
	empty := t.TempDir()
	if p, err := WriteConfSchema(empty, nil, mtime); err != nil || p != "" {
		t.Errorf("empty schema: %q, %v", p, err)
	}
	testenv.CheckTree(t, empty, testenv.Tree{})

	// Lib builds have no deps files.
	if err := WriteDepsManifest(empty, nil); err == nil || !strings.Contains(err.Error(), "mgos_deps_manifest.yml") {
		t.Errorf("nil deps manifest: %v", err)
	}
	if err := WriteDepsInit(empty, nil, mtime); err == nil {
		t.Error("nil deps init: no error")
	}
}

func TestWriteFailsOnBadGenDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteVarsMk(filepath.Join(f, "gen"), nil); err == nil || !strings.Contains(err.Error(), "gen dir") {
		t.Errorf("gen dir under a file: %v", err)
	}
}
