package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deepName is "d/d/.../f" with depth components in all.
func deepName(depth int) string {
	return strings.Repeat("d/", depth-1) + "f"
}

// Names too long or too deep are refused before anything is written, and
// the error quotes only a prefix of the name.
func TestExtractRefusesLongNames(t *testing.T) {
	cases := []struct {
		name  string
		entry string
		opts  ExtractOptions
		why   string
	}{
		{"depth 3000", "fs/" + deepName(3000), ExtractOptions{}, "bytes, the limit is 400"},
		{"depth over the default", deepName(DefaultMaxDepth + 1), ExtractOptions{}, "65 components, the limit is 64"},
		{"depth over an explicit limit", deepName(11), ExtractOptions{MaxDepth: 10}, "11 components, the limit is 10"},
		{"name of 401 bytes", strings.Repeat("n", 401), ExtractOptions{}, "401 bytes, the limit is 400"},
		{"component over NAME_MAX", "src/" + strings.Repeat("c", 256), ExtractOptions{MaxNameLength: -1}, "a component of 256 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			z := makeZip(t, file("ok", "x"), file(tc.entry, "deep"))
			_, err := extractBytes(z, dest, tc.opts)
			if !errors.Is(err, ErrNameTooLong) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("error = %.300v, want ErrNameTooLong saying %q", err, tc.why)
			}
			if msg := err.Error(); len(msg) > 250 || len(tc.entry) > 100 && !strings.Contains(msg, `"... (`) {
				t.Errorf("message of %d bytes does not quote a short prefix: %.300s", len(msg), msg)
			}
			if ents, _ := os.ReadDir(dest); len(ents) != 0 {
				t.Errorf("written before refusing: %v", ents)
			}
		})
	}
	// At the limits, the name is accepted.
	dest := t.TempDir()
	okDeep := deepName(DefaultMaxDepth)
	okLong := strings.Repeat("x", 200) + "/" + strings.Repeat("y", 199)
	if _, err := extractBytes(makeZip(t, file(okDeep, "1"), file(okLong, "2")), dest, ExtractOptions{}); err != nil {
		t.Fatalf("names at the limits: %v", err)
	}
	for _, n := range []string{okDeep, okLong} {
		if b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(n))); err != nil || len(b) != 1 {
			t.Errorf("%.40s...: %q %v", n, b, err)
		}
	}
}

// Unpacking is linear in the entries: with the limits lifted, a path of
// depth 3000 costs a few file system calls per component (one walk down),
// not one walk from the top per component (quadratic: 4.5 million).
func TestExtractDeepPathIsLinear(t *testing.T) {
	const depth = 3000
	name := deepName(depth)
	z := makeZip(t, file(name, "x"), file(strings.TrimSuffix(name, "f")+"g", "y"), file("top", "z"))
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	st, x, err := extract(zr, dest, ExtractOptions{MaxNameLength: -1, MaxDepth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 3 {
		t.Errorf("stats %+v, want 3 files", st)
	}
	// Each new directory: Lstat, Mkdir, Chmod, OpenRoot; each file:
	// Lstat, OpenFile.
	if max := 4*(depth-1) + 2*3; x.ops > max {
		t.Errorf("%d file system calls for %d directories and 3 files, want at most %d", x.ops, depth-1, max)
	}
	// The two deep files share their directories: the second one costs
	// no directory work. (The path is over PATH_MAX: read through a Root.)
	root, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, c := range strings.Split(strings.TrimSuffix(name, "/f"), "/") {
		sub, err := root.OpenRoot(c)
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		root = sub
	}
	for n, want := range map[string]string{"f": "x", "g": "y"} {
		if b, err := root.ReadFile(n); err != nil || string(b) != want {
			t.Errorf("deep file %s: %q %v", n, b, err)
		}
	}
}

// Entries of different directories in any order still land right, and a
// directory met again after another is checked, not recreated.
func TestExtractInterleavedDirs(t *testing.T) {
	dest := t.TempDir()
	z := makeZip(t, file("a/b/1", "1"), file("c/2", "2"), file("a/b/3", "3"), file("a/4", "4"), file("5", "5"), rawEntry{name: "a/b/"})
	st, err := extractBytes(z, dest, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 5 || st.Dirs != 1 {
		t.Errorf("stats %+v", st)
	}
	for n, want := range map[string]string{"a/b/1": "1", "c/2": "2", "a/b/3": "3", "a/4": "4", "5": "5"} {
		if b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(n))); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", n, b, err)
		}
	}
	checkDirModes(t, dest, 0o755)
}

func TestQuotePrefix(t *testing.T) {
	if got := QuotePrefix("short"); got != `"short"` {
		t.Errorf("short: %s", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes; the cut must not split a rune
	got := QuotePrefix(long)
	if want := `"` + strings.Repeat("é", 50) + `"... (200 bytes)`; got != want {
		t.Errorf("long: %s\nwant %s", got, want)
	}
}

func BenchmarkExtractDeepPath(b *testing.B) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(deepName(3000))
	w.Write([]byte("x"))
	zw.Close()
	for b.Loop() {
		dest := b.TempDir()
		if _, err := ExtractReaderAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest, ExtractOptions{MaxNameLength: -1, MaxDepth: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
