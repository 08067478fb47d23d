package runner

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNamesTimeMacro(t *testing.T) {
	for text, want := range map[string]bool{
		`const char *t = __TIME__;`:                  true,
		`printf("%s", __DATE__);`:                    true,
		`#define STAMP __TIMESTAMP__`:                true,
		`#define IS_TIME(__TIME__) ((__TIME__) > 1)`: true, // ccache's view too
		`int MY_TIME__x; int DATE__; int TIME;`:      false,
		`__attribute__((unused)) static int __x__;`:  false,
		``: false,
	} {
		if got := namesTimeMacro([]byte(text)); got != want {
			t.Errorf("namesTimeMacro(%q) = %v, want %v", text, got, want)
		}
	}
}

// The scan reads C-family files only, below every dir given, and skips
// .git.
func TestTimeMacroFile(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		write(filepath.Join("core", "src", string(rune('a'+i%26))+string(rune('a'+i/26))+".c"), "int f(void) { return __LINE__; }\n")
	}
	write("core/README.md", "__TIME__ in a text file is no compile's\n")
	write("core/.git/x.h", "__TIME__\n")
	if f := timeMacroFile([]string{filepath.Join(root, "core"), filepath.Join(root, "missing")}); f != "" {
		t.Fatalf("found %s, want none", f)
	}
	write("lib/include/deep/stamp.h", "#define BUILT __DATE__\n")
	if f := timeMacroFile([]string{filepath.Join(root, "core"), filepath.Join(root, "lib")}); f != filepath.Join(root, "lib/include/deep/stamp.h") {
		t.Errorf("found %q, want lib/include/deep/stamp.h", f)
	}
}
