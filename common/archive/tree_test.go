package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

func TestResultFilter(t *testing.T) {
	cases := []struct {
		name  string
		isDir bool
		keep  bool
	}{
		{"build/build.log", false, true},
		{"build/fw.zip", false, true},
		{"build/fw", true, true},
		{"build/gen/mos_final.yml", false, true},
		{"build/objs", true, true},
		{"build/objs/app.elf", false, true},
		{"build/objs/app.o", false, false},
		{"build/objs/app.elf.map", false, false},
		{"build/objs/sub", true, false},
		{"build/objs/sub/x.elf", false, false},
		{"build/objs/x.elf", true, false},
		{"build/objsx/y.o", false, true},
		{"build/fs/objs/a", false, true},
	}
	for _, c := range cases {
		if got := ResultFilter(c.name, c.isDir); got != c.keep {
			t.Errorf("ResultFilter(%q, %v) = %v, want %v", c.name, c.isDir, got, c.keep)
		}
	}
}

func TestAddTreeResult(t *testing.T) {
	ctx := t.TempDir()
	testenv.WriteTree(t, ctx, testenv.Tree{
		"mos.yml":                      {Content: "not packed"},
		"build/build.log":              {Content: "log"},
		"build/fw.zip":                 {Content: "PK-fw"},
		"build/fw/app-esp32-last.zip":  {Content: "PK-fw"},
		"build/gen/build_ctx.txt":      {Content: "build_ctx_1"},
		"build/objs/app.elf":           {Content: "ELF", Mode: 0o755},
		"build/objs/app.o":             {Content: "obj"},
		"build/objs/mongoose-os/x.o":   {Content: "obj"},
		"build/objs/mongoose-os/y.elf": {Content: "elf below"},
		"build/fs/conf0.json":          {Content: "{}"},
		"build/empty/":                 {},
	})
	var skipped []string
	if runtime.GOOS != "windows" {
		if err := os.Symlink("/etc/passwd", filepath.Join(ctx, "build", "gen", "leak")); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	st, err := w.AddTree(filepath.Join(ctx, "build"), TreeOptions{
		Prefix:  "build/",
		Keep:    ResultFilter,
		Store:   func(name string) bool { return strings.HasSuffix(name, ".zip") },
		Skipped: func(name string, mode fs.FileMode) { skipped = append(skipped, name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"build/build.log",
		"build/fs/conf0.json",
		"build/fw/app-esp32-last.zip",
		"build/fw.zip",
		"build/gen/build_ctx.txt",
		"build/objs/app.elf",
	}
	if got := zipNames(t, buf.Bytes()); joinLines(got) != joinLines(want) {
		t.Errorf("entries:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
	if st.Files != len(want) || st.Bytes != int64(len("log")+len("{}")+2*len("PK-fw")+len("build_ctx_1")+len("ELF")) {
		t.Errorf("stats = %+v", st)
	}
	if runtime.GOOS != "windows" && joinLines(skipped) != "build/gen/leak" {
		t.Errorf("skipped = %v, want the symlink reported", skipped)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, f := range zr.File {
		wantMethod := uint16(zip.Deflate)
		if strings.HasSuffix(f.Name, ".zip") {
			wantMethod = zip.Store
		}
		if f.Method != wantMethod {
			t.Errorf("%s: method %d, want %d", f.Name, f.Method, wantMethod)
		}
		if f.Name == "build/objs/app.elf" && runtime.GOOS != "windows" && f.Mode() != 0o755 {
			t.Errorf("%s: mode %v, want the disk's 0755", f.Name, f.Mode())
		}
	}

	// The client's view: strip "build/".
	dest := t.TempDir()
	if _, err := extractBytes(buf.Bytes(), dest, ExtractOptions{StripComponents: 1}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dest, testenv.Tree{
		"build.log":             {Content: "log"},
		"fs/conf0.json":         {Content: "{}"},
		"fw/app-esp32-last.zip": {Content: "PK-fw"},
		"fw.zip":                {Content: "PK-fw"},
		"gen/build_ctx.txt":     {Content: "build_ctx_1"},
		"objs/app.elf":          {Content: "ELF"},
	})
}

func TestAddTreeRefusesUnencodableName(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a backslash cannot be part of a file name on Windows")
	}
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{"ok.c": {Content: "1"}})
	if err := os.WriteFile(filepath.Join(dir, `odd\name.c`), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(&bytes.Buffer{})
	_, err := w.AddTree(dir, TreeOptions{})
	if !errors.Is(err, ErrUnsafeName) || !strings.Contains(err.Error(), `odd\\name.c`) {
		t.Errorf("AddTree = %v, want ErrUnsafeName naming the file", err)
	}
}

func TestAddTreeBadInput(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	if _, err := w.AddTree(filepath.Join(t.TempDir(), "missing"), TreeOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v, want fs.ErrNotExist", err)
	}
	for _, p := range []string{"build", "../build/", "/abs/"} {
		if _, err := w.AddTree(t.TempDir(), TreeOptions{Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
