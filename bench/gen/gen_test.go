package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestDeterministicAndSized(t *testing.T) {
	o := Options{Libs: 3, FilesPerLib: 4, LinesPerFile: 100, BinaryBytes: 300 << 10, Seed: 42}
	a, b, c := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "c")
	ta, err := Write(a, "../core", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, "../core", o); err != nil {
		t.Fatal(err)
	}
	o2 := o
	o2.Seed = 43
	if _, err := Write(c, "../core", o2); err != nil {
		t.Fatal(err)
	}
	if len(ta.CFiles) != 3*4 {
		t.Errorf("%d lib C files, want 12", len(ta.CFiles))
	}
	if ta.Bytes < 300<<10 {
		t.Errorf("tree of %d bytes, want more than the binaries alone", ta.Bytes)
	}
	same := func(x, y, rel string) bool {
		bx, _ := os.ReadFile(filepath.Join(x, rel))
		by, _ := os.ReadFile(filepath.Join(y, rel))
		return len(bx) > 0 && bytes.Equal(bx, by)
	}
	for _, rel := range []string{ta.CFiles[5], "mos.yml", "deps/benchlib01/lib/libbenchlib01-host.a"} {
		if !same(a, b, rel) {
			t.Errorf("%s differs between two runs with one seed", rel)
		}
	}
	if same(a, c, ta.CFiles[5]) {
		t.Error("another seed gave the same code")
	}
	lines := bytes.Count(mustRead(t, filepath.Join(a, ta.CFiles[0])), []byte("\n"))
	if lines < 80 || lines > 130 {
		t.Errorf("a C file has %d lines, want about 100", lines)
	}
	if _, err := Write(a, "../core", o); err == nil {
		t.Error("writing over an existing dir must fail")
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
