package archive

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	good := []string{"mos.yml", "src/main.c", "deps/modules/mongoose-os/tools/mgos_fw_meta.py",
		"_home_u_shared_src/util.c", ".hidden/x", "a..b", "...", "ünïcode/ファイル.c", "a b/c d"}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", n, err)
		}
	}
	bad := []struct{ name, reason string }{
		{"", "empty name"},
		{"..", `".."`},
		{"../x", `".."`},
		{"a/../../x", `".."`},
		{"a/..", `".."`},
		{"/etc/passwd", "absolute"},
		{"//server/share/x", "absolute"},
		{`\\server\share\x`, "backslash"},
		{`..\x`, "backslash"},
		{`a\b`, "backslash"},
		{"C:/x", "drive letter"},
		{"c:x", "drive letter"},
		{"C:", "drive letter"},
		{"a//b", "empty component"},
		{"a/", "empty component"},
		{"./a", `"."`},
		{"a/./b", `"."`},
		{".", `"."`},
		{"a\x00b", "NUL"},
	}
	for _, c := range bad {
		err := CheckName(c.name)
		if !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CheckName(%q) = %v, want ErrUnsafeName", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("CheckName(%q) = %q, want it to say %q", c.name, err, c.reason)
		}
	}
}

func TestCheckNameWindowsOnly(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("reserved names and ':' are only refused on Windows")
	}
	for _, n := range []string{"NUL", "src/COM1", "a:b", "x/CONIN$"} {
		if err := CheckName(n); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CheckName(%q) = %v, want ErrUnsafeName", n, err)
		}
	}
}
