package manifest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

func TestReadAppForUpload(t *testing.T) {
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"platform: ESP32",
			"sources: [src]",
			"libs: [{location: https://github.com/o/wifi}]",
			"build_vars: {MODE: app}",
			"conds:",
			`  - when: mos.platform == "esp32"`,
			"    apply: {sources: [esp32_src], name: renamed}",
			`  - when: build_vars.MODE == "cli"`,
			"    apply: {sources: [cli_src]}",
			// Decided too early: libs are not known yet.
			"  - when: defined(build_vars.MGOS_HAVE_WIFI)",
			"    apply: {sources: [wifi_src]}",
			`  - when: mos.version == "2.20.0"`,
			"    apply: {cflags: [-DV]}",
		),
		"app/mos_esp32.yml": yml("sources: [sub_src]", "conds:", `  - when: platform == "esp32"`, "    apply: {cdefs: {SUB: \"1\"}}"),
	})
	m, err := manifest.ReadAppForUpload("app", root, "", map[string]string{"MODE": "cli"}, "2.20.0")
	if err != nil {
		t.Fatal(err)
	}
	if m.Platform != "esp32" || m.Type != "app" || m.Name != "renamed" {
		t.Errorf("platform %q, type %q, name %q", m.Platform, m.Type, m.Name)
	}
	if want := []string{"src", "sub_src", "esp32_src", "cli_src"}; !reflect.DeepEqual(m.Sources, want) {
		t.Errorf("sources %q, want %q", m.Sources, want)
	}
	if m.CDefs["SUB"] != "1" || !reflect.DeepEqual(m.CFlags, []string{"-DV"}) {
		t.Errorf("cdefs %v, cflags %v", m.CDefs, m.CFlags)
	}
	if len(m.Conds) != 0 {
		t.Errorf("conds left: %v", m.Conds)
	}
	if len(m.Libs) != 1 || m.Libs[0].Location != "https://github.com/o/wifi" {
		t.Errorf("libs %v", m.Libs)
	}

	if _, err := manifest.ReadAppForUpload("app", root, "", nil, "2.20.0"); err != nil {
		t.Errorf("without CLI vars: %v", err)
	}
	testenv.WriteTree(t, root, testenv.Tree{"noplat/mos.yml": yml("manifest_version: 2020-08-02")})
	if _, err := manifest.ReadAppForUpload("noplat", root, "", nil, "2.20.0"); !errors.Is(err, manifest.ErrNoPlatform) {
		t.Errorf("no platform: %v", err)
	}
	if m, err := manifest.ReadAppForUpload("noplat", root, "ESP8266", nil, "2.20.0"); err != nil || m.Platform != "esp8266" {
		t.Errorf("platform from the argument: %v, %v", m, err)
	}
}

func TestEvalExpr(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "tags: [c, js]", "build_vars: {X: \"${mos.version}\"}"),
	})
	res, err := manifest.Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	for _, tc := range []struct {
		expr string
		want any
		out  string
	}{
		{"build_vars.MGOS", "1", `"1"`},
		{"build_vars.X", "2.20.0", `"2.20.0"`},
		{`mos.platform == "esp32"`, true, "true"},
		{"tags", []any{"c", "js"}, "[\n  \"c\",\n  \"js\"\n]"},
		{"defined(build_vars.MGOS_HAVE_CORE)", true, "true"},
	} {
		got, err := manifest.EvalExpr(m, "", "2.20.0", tc.expr)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("EvalExpr(%q) = %#v, %v; want %#v", tc.expr, got, err, tc.want)
		}
		out, err := manifest.EvalExprOutput(m, "", "2.20.0", tc.expr)
		if err != nil || out != tc.out {
			t.Errorf("EvalExprOutput(%q) = %q, %v; want %q", tc.expr, out, err, tc.out)
		}
	}
	if _, err := manifest.EvalExpr(m, "", "2.20.0", "build_vars.NOPE"); err == nil {
		t.Error("undefined variable: no error")
	}
}
