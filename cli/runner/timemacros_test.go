package runner

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
	write := func(rel, content string) { writeFile(t, root, rel, content) }
	for i := 0; i < 50; i++ {
		write(filepath.Join("core", "src", string(rune('a'+i%26))+string(rune('a'+i/26))+".c"), "int f(void) { return __LINE__; }\n")
	}
	write("core/README.md", "__TIME__ in a text file is no compile's\n")
	write("core/.git/x.h", "__TIME__\n")
	if f := timeMacroFile([]string{filepath.Join(root, "core"), filepath.Join(root, "missing")}); f != "" {
		t.Fatalf("found %s, want none", f)
	}
	// Generated sources in the dirs mos writes are left out.
	write("core/build/gen/mgos_config.c", "const char *s = \"__TIME__\";\n")
	if f := scanTimeMacros([]string{filepath.Join(root, "core")}, []string{filepath.Join(root, "core/build")}, nil).found; f != "" {
		t.Errorf("found %s in a skipped dir", f)
	}
	os.Remove(filepath.Join(root, "core/build/gen/mgos_config.c"))
	write("lib/include/deep/stamp.h", "#define BUILT __DATE__\n")
	if f := timeMacroFile([]string{filepath.Join(root, "core"), filepath.Join(root, "lib")}); f != filepath.Join(root, "lib/include/deep/stamp.h") {
		t.Errorf("found %q, want lib/include/deep/stamp.h", f)
	}
}

// The check keeps what it read in ScanState and reads again only files
// that changed or appeared: a file added since (even with an old time) or
// changed is still found.
func TestScanState(t *testing.T) {
	old := time.Now().Add(-24 * time.Hour)
	for _, tc := range []struct {
		name   string
		change func(root string) string // returns the file to be found
	}{
		{"nothing changed", func(string) string { return "" }},
		{"a lib added with an old time", func(root string) string {
			p := writeFile(t, root, "app/deps/lib/include/stamp.h", "#define BUILT __DATE__\n")
			os.Chtimes(p, old, old)
			return p
		}},
		{"a source changed", func(root string) string {
			return writeFile(t, root, "app/src/main.c", "const char *t = __TIME__; int main(void) { return 0; }\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "app/src/main.c", "int main(void) { return 0; }\n")
			c := &Ccache{ScanState: filepath.Join(root, "app/build/objs/.mos-time-macros.json")}
			dirs, skip := []string{filepath.Join(root, "app")}, []string{filepath.Join(root, "app/build")}
			if got := c.timeMacroFileOf(dirs, skip); got != "" {
				t.Fatalf("first scan found %q", got)
			}
			if st := loadScanState(c.ScanState); st == nil || len(st.clean) != 1 {
				t.Fatalf("scan state %+v, want main.c", st)
			}
			want := tc.change(root)
			if got := c.timeMacroFileOf(dirs, skip); got != want {
				t.Errorf("found %q, want %q", got, want)
			}
		})
	}
}

func writeFile(t *testing.T, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
