package relpath

import (
	"runtime"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"a", "a/b.c", "deps/modules/mongoose-os/tools/mgos_fw_meta.py", ".hidden/x", "a..b"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
	for p, reason := range map[string]string{
		"":          "empty",
		`a\b`:       "backslash",
		"a\x00":     "NUL",
		"/etc/x":    "absolute",
		"C:/x":      "drive letter",
		"c:x":       "drive letter",
		"../x":      `".."`,
		"a/../../x": `".."`,
		"a/./b":     `"."`,
		"a//b":      "empty component",
		"a/":        "empty component",
	} {
		err := Check(p)
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("Check(%q) = %v, want a %s error", p, err, reason)
		}
	}
	if runtime.GOOS == "windows" {
		if err := Check("a/NUL"); err == nil {
			t.Error("a reserved Windows name must be refused on Windows")
		}
	}
}
