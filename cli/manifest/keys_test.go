package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest/expr"
)

// Top-level keys no manifest type knows are a warning naming the file, the
// key and the closest known key; the manifest is read as before.
func TestUnknownKeysWarn(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	yml := "name: app\nmanifest_version: 2020-08-02\nlib:\n  - location: https://github.com/mongoose-os-libs/rpc-common\nsoruces: [src]\nzzzzzz_qqq: 1\nlibs_version: ${mos.version}\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	rd := newReader("", func(s string) { warnings = append(warnings, s) })
	vars := expr.NewVars()
	vars.Set(expr.MosVersion, "2.20.0")
	m, _, err := rd.readFile(file, vars, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "app" || len(m.Libs) != 0 {
		t.Errorf("manifest %+v", m)
	}
	want := []string{
		"Warning: " + file + `: unknown key "lib" (did you mean "libs"?)`,
		"Warning: " + file + `: unknown key "soruces" (did you mean "sources"?)`,
		"Warning: " + file + `: unknown key "zzzzzz_qqq"`,
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}
