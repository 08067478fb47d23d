package protocol

import "testing"

func TestValidContextName(t *testing.T) {
	for name, want := range map[string]bool{
		"ci_main":            true,
		"build_ctx_24788545": true,
		"A1":                 true,
		"":                   false,
		"ci-main":            false,
		"../x":               false,
		"ci_main\n":          false,
		"a b":                false,
	} {
		if got := ValidContextName(name); got != want {
			t.Errorf("ValidContextName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCheckPathComponent(t *testing.T) {
	for _, ok := range []string{"hello", "esp32", "2.20.0", "latest", "my-app_1"} {
		if err := CheckPathComponent("app name", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "c:x", "a\x00b"} {
		if err := CheckPathComponent("app name", bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestBuildPath(t *testing.T) {
	if got := BuildPath("2.20.0"); got != "/api/fwbuild/2.20.0/build" {
		t.Errorf("BuildPath = %q", got)
	}
}
