package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

func TestExtractRejectsHostile(t *testing.T) {
	bomb := bytes.Repeat([]byte{0}, 8<<20) // 8 MiB of zeros deflates to a few KiB
	type setupFunc func(t *testing.T, parent, dest string)
	linkOut := func(t *testing.T, parent, dest string) {
		if runtime.GOOS == "windows" {
			t.Skip("symlinks need privileges on Windows")
		}
		mustMkdir(t, filepath.Join(parent, "outside"))
		mustMkdir(t, dest)
		if err := os.Symlink(filepath.Join("..", "outside"), filepath.Join(dest, "link")); err != nil {
			t.Fatal(err)
		}
	}
	absLinkOut := func(t *testing.T, parent, dest string) {
		linkOut(t, parent, dest)
		if err := os.Symlink(filepath.Join(parent, "outside"), filepath.Join(dest, "abs")); err != nil {
			t.Fatal(err)
		}
	}
	fileInDest := func(t *testing.T, parent, dest string) {
		testenv.WriteTree(t, dest, testenv.Tree{"a": {Content: "old"}})
	}
	dirInDest := func(t *testing.T, parent, dest string) {
		testenv.WriteTree(t, dest, testenv.Tree{"a/keep": {Content: "old"}})
	}
	cases := []struct {
		name    string
		zip     []byte
		opts    ExtractOptions
		setup   setupFunc
		want    error
		entry   string // entry the error must name; "" for none
		nothing bool   // refused before writing anything
	}{
		{name: "parent_dir", zip: makeZip(t, file("ok", "x"), file("../x", "evil")), want: ErrUnsafeName, entry: "../x", nothing: true},
		{name: "parent_dir_deep", zip: makeZip(t, file("a/../../x", "evil")), want: ErrUnsafeName, entry: "a/../../x", nothing: true},
		{name: "parent_dir_after_strip", zip: makeZip(t, file("build/../../x", "evil")), opts: ExtractOptions{StripComponents: 1}, want: ErrUnsafeName, entry: "build/../../x", nothing: true},
		{name: "dotdot_only", zip: makeZip(t, rawEntry{name: "../", creator: 0x0314}), want: ErrUnsafeName, entry: "../", nothing: true},
		{name: "absolute", zip: makeZip(t, file("/etc/x", "evil")), want: ErrUnsafeName, entry: "/etc/x", nothing: true},
		{name: "absolute_root_dir", zip: makeZip(t, rawEntry{name: "/"}), want: ErrUnsafeName, entry: "/", nothing: true},
		{name: "drive_letter", zip: makeZip(t, file("C:/x", "evil")), want: ErrUnsafeName, entry: "C:/x", nothing: true},
		{name: "drive_relative", zip: makeZip(t, file("c:x", "evil")), want: ErrUnsafeName, entry: "c:x", nothing: true},
		{name: "unc_slash", zip: makeZip(t, file("//server/share/x", "evil")), want: ErrUnsafeName, entry: "//server/share/x", nothing: true},
		{name: "unc_backslash", zip: makeZip(t, file(`\\server\share\x`, "evil")), want: ErrUnsafeName, entry: `\\server\share\x`, nothing: true},
		{name: "backslash_parent", zip: makeZip(t, file(`\..\x`, "evil")), want: ErrUnsafeName, entry: `\..\x`, nothing: true},
		{name: "backslash_in_name", zip: makeZip(t, file(`a\..\..\x`, "evil")), want: ErrUnsafeName, entry: `a\..\..\x`, nothing: true},
		{name: "empty_component", zip: makeZip(t, file("a//b", "x")), want: ErrUnsafeName, entry: "a//b", nothing: true},
		{name: "dot_component", zip: makeZip(t, file("./a", "x")), want: ErrUnsafeName, entry: "./a", nothing: true},
		{name: "empty_name", zip: makeZip(t, file("", "x")), want: ErrUnsafeName, entry: "", nothing: true},
		{name: "symlink_entry", zip: makeZip(t, file("a", "x"), rawEntry{name: "link", content: []byte("../../outside"), mode: fs.ModeSymlink | 0o777}), want: ErrSymlink, entry: "link", nothing: true},
		{name: "symlink_entry_absolute", zip: makeZip(t, rawEntry{name: "l", content: []byte("/etc"), mode: fs.ModeSymlink | 0o777}), want: ErrSymlink, entry: "l", nothing: true},
		{name: "named_pipe", zip: makeZip(t, rawEntry{name: "p", mode: fs.ModeNamedPipe | 0o644}), want: ErrFileType, entry: "p", nothing: true},
		{name: "device", zip: makeZip(t, rawEntry{name: "d", mode: fs.ModeDevice | 0o644}), want: ErrFileType, entry: "d", nothing: true},
		{name: "duplicate", zip: makeZip(t, file("a/b", "1"), file("a/b", "2")), want: ErrDuplicate, entry: "a/b", nothing: true},
		{name: "duplicate_after_strip", zip: makeZip(t, file("x/f", "1"), file("y/f", "2")), opts: ExtractOptions{StripComponents: 1}, want: ErrDuplicate, entry: "y/f", nothing: true},
		{name: "duplicate_dir", zip: makeZip(t, rawEntry{name: "d/"}, rawEntry{name: "d/"}), want: ErrDuplicate, entry: "d/", nothing: true},
		{name: "file_then_dir", zip: makeZip(t, file("a", "1"), file("a/b", "2")), want: ErrConflict, entry: "a/b", nothing: true},
		{name: "dir_then_file", zip: makeZip(t, file("a/b", "1"), file("a", "2")), want: ErrConflict, entry: "a", nothing: true},
		{name: "dir_entry_then_file", zip: makeZip(t, rawEntry{name: "a/"}, file("a", "2")), want: ErrConflict, entry: "a", nothing: true},
		{name: "file_then_dir_entry", zip: makeZip(t, file("a", "1"), rawEntry{name: "a/"}), want: ErrConflict, entry: "a/", nothing: true},
		{name: "too_few_components", zip: makeZip(t, file("build/ok", "1"), file("stray", "2")), opts: ExtractOptions{StripComponents: 1}, want: ErrShortName, entry: "stray", nothing: true},
		{name: "too_many_entries", zip: makeZip(t, file("a", ""), file("b", ""), file("c", ""), file("d", "")), opts: ExtractOptions{MaxEntries: 3}, want: ErrTooManyEntries, entry: "d", nothing: true},
		{name: "declared_file_too_large", zip: makeZip(t, rawEntry{name: "big", content: bomb, method: zip.Deflate}), opts: ExtractOptions{MaxFileBytes: 1 << 20}, want: ErrTooLarge, entry: "big", nothing: true},
		{name: "declared_total_too_large", zip: makeZip(t, rawEntry{name: "a", content: bomb[:600<<10], method: zip.Deflate}, rawEntry{name: "b", content: bomb[:600<<10], method: zip.Deflate}), opts: ExtractOptions{MaxTotalBytes: 1 << 20}, want: ErrTooLarge, entry: "b", nothing: true},
		{name: "bomb_lying_header", zip: makeZip(t, rawEntry{name: "bomb", content: bomb, method: zip.Deflate, declared: 100}), opts: ExtractOptions{MaxTotalBytes: 1 << 20}, want: ErrTooLarge, entry: "bomb"},
		{name: "bomb_lying_header_per_file", zip: makeZip(t, rawEntry{name: "bomb", content: bomb, method: zip.Deflate, declared: 100}), opts: ExtractOptions{MaxFileBytes: 1 << 20}, want: ErrTooLarge, entry: "bomb"},
		{name: "bombs_lying_total", zip: makeZip(t, rawEntry{name: "a", content: bomb[:600<<10], method: zip.Deflate}, rawEntry{name: "b", content: bomb[:600<<10], method: zip.Deflate, declared: 10}), opts: ExtractOptions{MaxTotalBytes: 1 << 20}, want: ErrTooLarge, entry: "b"},
		{name: "longer_than_header", zip: makeZip(t, rawEntry{name: "f", content: []byte("0123456789"), method: zip.Deflate, declared: 5}), want: zip.ErrFormat, entry: "f"},
		{name: "shorter_than_header", zip: makeZip(t, rawEntry{name: "f", content: []byte("0123456789"), method: zip.Store, declared: 50}), want: zip.ErrFormat, entry: "f"},
		{name: "bad_crc", zip: makeZip(t, rawEntry{name: "f", content: []byte("hello"), method: zip.Deflate, crc: 12345}), want: zip.ErrChecksum, entry: "f"},
		{name: "unknown_method", zip: makeZip(t, rawEntry{name: "f", content: []byte("hello"), method: 99}), want: zip.ErrAlgorithm, entry: "f"},
		{name: "symlink_in_dest", zip: makeZip(t, file("link/x", "evil")), setup: linkOut, want: ErrSymlink, entry: "link/x"},
		{name: "symlink_in_dest_deeper", zip: makeZip(t, file("abs/sub/x", "evil")), setup: absLinkOut, want: ErrSymlink, entry: "abs/sub/x"},
		{name: "symlink_in_dest_dir_entry", zip: makeZip(t, rawEntry{name: "link/new/"}), setup: linkOut, want: ErrSymlink, entry: "link/new/"},
		{name: "file_in_dest_where_dir_needed", zip: makeZip(t, file("a/b", "x")), setup: fileInDest, want: ErrConflict, entry: "a/b"},
		{name: "dir_in_dest_where_file_needed", zip: makeZip(t, file("a", "x")), setup: dirInDest, want: ErrConflict, entry: "a"},
		{name: "not_a_zip", zip: []byte("this is not a zip archive at all"), want: ErrNotZip},
		{name: "empty_input", zip: nil, want: ErrNotZip},
		{name: "truncated_zip", zip: makeZip(t, file("a", "hello"))[:20], want: ErrNotZip},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			if c.setup != nil {
				c.setup(t, parent, dest)
			}
			before := snapshot(t, parent, dest)
			var destBefore []string
			if c.nothing {
				destBefore = listDir(t, dest)
			}

			_, err := extractBytes(c.zip, dest, c.opts)

			if !errors.Is(err, c.want) {
				t.Fatalf("error = %v, want one wrapping %v", err, c.want)
			}
			if c.entry != "" {
				var ee *EntryError
				if !errors.As(err, &ee) || ee.Name != c.entry {
					t.Errorf("error %v: want an *EntryError for %q", err, c.entry)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.entry)) {
					t.Errorf("error %q does not name entry %q", err, c.entry)
				}
			}
			if d := diffSnapshots(before, snapshot(t, parent, dest)); len(d) > 0 {
				t.Errorf("written outside dest:\n%s", joinLines(d))
			}
			if c.nothing {
				if got := listDir(t, dest); joinLines(got) != joinLines(destBefore) {
					t.Errorf("dest changed by a refused archive: %v, was %v", got, destBefore)
				}
			}
		})
	}
}

// A limit hit while writing leaves no trace of the failing file.
func TestExtractRemovesFailedFile(t *testing.T) {
	dest := t.TempDir()
	z := makeZip(t, file("first", "ok"), rawEntry{name: "bomb", content: make([]byte, 2<<20), method: zip.Deflate, declared: 1})
	st, err := extractBytes(z, dest, ExtractOptions{MaxFileBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	testenv.CheckTree(t, dest, testenv.Tree{"first": {Content: "ok"}})
	if st.Files != 1 || st.Bytes != 2 {
		t.Errorf("stats = %+v, want the 1 file (2 bytes) written before the failure", st)
	}
}

// A link already in dest at the very name of an entry is replaced by the
// file; its target is not touched.
func TestExtractReplacesLinkNotTarget(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	testenv.WriteTree(t, parent, testenv.Tree{"outside/secret": {Content: "keep"}})
	mustMkdir(t, dest)
	if err := os.Symlink(filepath.Join(parent, "outside", "secret"), filepath.Join(dest, "evil")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, parent, dest)
	if _, err := extractBytes(makeZip(t, file("evil", "new")), dest, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := diffSnapshots(before, snapshot(t, parent, dest)); len(d) > 0 {
		t.Errorf("written outside dest:\n%s", joinLines(d))
	}
	testenv.CheckTree(t, dest, testenv.Tree{"evil": {Content: "new", Mode: 0o644}})
}

// An existing file is replaced by a new inode: a hard link elsewhere (like
// build/fw.zip and build/fw/app-last.zip) keeps its old content.
func TestExtractReplacesExistingFile(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	testenv.WriteTree(t, parent, testenv.Tree{"dest/fw.zip": {Content: "old", Mode: 0o600}})
	if err := os.Link(filepath.Join(dest, "fw.zip"), filepath.Join(parent, "other")); err != nil {
		t.Skipf("hard links not supported here: %v", err)
	}
	if _, err := extractBytes(makeZip(t, file("fw.zip", "new")), dest, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dest, testenv.Tree{"fw.zip": {Content: "new", Mode: 0o644}})
	if b, _ := os.ReadFile(filepath.Join(parent, "other")); string(b) != "old" {
		t.Errorf("hard-linked copy now holds %q, want %q", b, "old")
	}
}

// A zip made exactly like a stock client's (zip.Writer.Create: MS-DOS host,
// no attributes, no mode) gets its modes from the ModeLess policy.
func TestExtractStockClientZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, content string }{
		{"mos.yml", "name: app\n"},
		{"src/main.c", "int main(void) { return 0; }\n"},
		{"deps/modules/mongoose-os/tools/mgos_fw_meta.py", "#!/usr/bin/env python3\nprint(1)\n"},
		{"fs/empty.txt", ""},
		{"fs/hash.txt", "#not a shebang\n"},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.content))
	}
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.CreatorVersion != 0x0014 || f.ExternalAttrs != 0 {
			t.Fatalf("fixture %q: creator %#x attrs %#x, want a stock mode-less entry", f.Name, f.CreatorVersion, f.ExternalAttrs)
		}
	}

	server := t.TempDir()
	st, err := Extract(zr, server, ExtractOptions{ModeLess: ShebangMode})
	if err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, server, testenv.Tree{
		"mos.yml":    {Content: "name: app\n", Mode: 0o644},
		"src/main.c": {Content: "int main(void) { return 0; }\n", Mode: 0o644},
		"deps/modules/mongoose-os/tools/mgos_fw_meta.py": {Content: "#!/usr/bin/env python3\nprint(1)\n", Mode: 0o755},
		"fs/empty.txt": {Content: "", Mode: 0o644},
		"fs/hash.txt":  {Content: "#not a shebang\n", Mode: 0o644},
	})
	if st.Files != 5 || st.Bytes != int64(len("name: app\n")+len("int main(void) { return 0; }\n")+len("#!/usr/bin/env python3\nprint(1)\n")+len("#not a shebang\n")) {
		t.Errorf("stats = %+v", st)
	}
	checkDirModes(t, server, 0o755)

	plain := t.TempDir()
	if _, err := Extract(zr, plain, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := testenv.ReadTree(t, plain)["deps/modules/mongoose-os/tools/mgos_fw_meta.py"].Mode; got != 0o644 {
		t.Errorf("with no ModeLess policy the script is %v, want 0644", got)
	}

	// The policy sees the destination path after stripping and the head.
	var seen []string
	_, err = Extract(zr, t.TempDir(), ExtractOptions{StripComponents: 1, ModeLess: func(name string, head []byte) fs.FileMode {
		seen = append(seen, fmt.Sprintf("%s:%d", name, len(head)))
		return 0o600
	}})
	if !errors.Is(err, ErrShortName) { // mos.yml has a single component
		t.Fatalf("strip 1 over mos.yml: %v, want ErrShortName", err)
	}
	if len(seen) != 0 {
		t.Errorf("policy called %v before the archive was refused", seen)
	}
}

func TestExtractModeLessHead(t *testing.T) {
	big := append([]byte("#!"), bytes.Repeat([]byte("x"), 3*HeadSize)...)
	z := makeZip(t, rawEntry{name: "build/tools/run", content: big, method: zip.Deflate}, rawEntry{name: "build/"})
	var got []string
	_, err := extractBytes(z, t.TempDir(), ExtractOptions{StripComponents: 1, ModeLess: func(name string, head []byte) fs.FileMode {
		got = append(got, fmt.Sprintf("%s %d %q", name, len(head), head[:2]))
		return 0o700
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("tools/run %d %q", HeadSize, "#!"); joinLines(got) != want {
		t.Errorf("policy calls = %q, want %q", got, want)
	}
}

// Unix modes in entries are applied minus setuid/setgid/sticky and
// group/other write; directories are always 0755.
func TestExtractUnixModes(t *testing.T) {
	z := makeZip(t,
		rawEntry{name: "d/", mode: fs.ModeDir | 0o777},
		rawEntry{name: "d/suid", content: []byte("x"), mode: fs.ModeSetuid | fs.ModeSetgid | 0o4755},
		rawEntry{name: "d/sticky", content: []byte("x"), mode: fs.ModeSticky | 0o777},
		rawEntry{name: "d/ro", content: []byte("x"), mode: 0o444},
		rawEntry{name: "d/private", content: []byte("x"), mode: 0o600},
		rawEntry{name: "d/gw", content: []byte("x"), mode: 0o664},
		rawEntry{name: "e/f/g/h", content: []byte("x"), mode: 0o755},
		rawEntry{name: "script", content: []byte("#!/bin/sh\n"), mode: 0o644}, // a mode wins over the policy
	)
	dest := t.TempDir()
	st, err := extractBytes(z, dest, ExtractOptions{ModeLess: ShebangMode})
	if err != nil {
		t.Fatal(err)
	}
	want := testenv.Tree{
		"d/suid":    {Content: "x", Mode: 0o755},
		"d/sticky":  {Content: "x", Mode: 0o755},
		"d/ro":      {Content: "x", Mode: 0o444},
		"d/private": {Content: "x", Mode: 0o600},
		"d/gw":      {Content: "x", Mode: 0o644},
		"e/f/g/h":   {Content: "x", Mode: 0o755},
		"script":    {Content: "#!/bin/sh\n", Mode: 0o644},
	}
	if runtime.GOOS == "windows" {
		for k, v := range want {
			v.Mode = 0
			want[k] = v
		}
	}
	testenv.CheckTree(t, dest, want)
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(dest, "d", "suid"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			t.Errorf("d/suid has mode %v, want no special bits", fi.Mode())
		}
		checkDirModes(t, dest, 0o755)
	}
	if st.Files != 7 || st.Dirs != 1 || st.Bytes != 16 {
		t.Errorf("stats = %+v, want 7 files, 1 dir, 16 bytes", st)
	}
}

func TestExtractStripAndDirs(t *testing.T) {
	z := makeZip(t,
		rawEntry{name: "build/"},
		rawEntry{name: "build/empty/"},
		file("build/fw.zip", "FW"),
		file("build/gen/build_ctx.txt", "build_ctx_1"),
		file("build/objs/app.elf", "ELF"),
	)
	dest := t.TempDir()
	testenv.WriteTree(t, dest, testenv.Tree{"build.local.log": {Content: "kept"}, "fw.zip": {Content: "old"}})
	st, err := extractBytes(z, dest, ExtractOptions{StripComponents: 1})
	if err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dest, testenv.Tree{
		"empty/":            {},
		"fw.zip":            {Content: "FW"},
		"gen/build_ctx.txt": {Content: "build_ctx_1"},
		"objs/app.elf":      {Content: "ELF"},
		"build.local.log":   {Content: "kept"},
	})
	if st.Files != 3 || st.Dirs != 1 {
		t.Errorf("stats = %+v, want 3 files and 1 dir", st)
	}
}

func TestExtractCreatesDest(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "a", "b")
	if _, err := extractBytes(makeZip(t, file("x", "1")), dest, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dest, testenv.Tree{"x": {Content: "1"}})
}

func TestExtractFile(t *testing.T) {
	dir := t.TempDir()
	zp := filepath.Join(dir, "source.zip")
	if err := os.WriteFile(zp, makeZip(t, file("a/b.c", "B")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractFile(zp, filepath.Join(dir, "out"), ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, filepath.Join(dir, "out"), testenv.Tree{"a/b.c": {Content: "B"}})

	bad := filepath.Join(dir, "bad.zip")
	if err := os.WriteFile(bad, makeZip(t, file("../x", "evil")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ExtractFile(bad, filepath.Join(dir, "out2"), ExtractOptions{})
	if !errors.Is(err, ErrUnsafeName) || !strings.HasPrefix(err.Error(), bad+`: entry "../x": unsafe name`) {
		t.Errorf("error = %v, want it to start with the zip path and name the entry", err)
	}
	if _, err := ExtractFile(filepath.Join(dir, "missing.zip"), dir, ExtractOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing zip: %v, want fs.ErrNotExist", err)
	}
}

func TestExtractLimitsDefaults(t *testing.T) {
	l := ExtractOptions{}.limits()
	if l.entries != DefaultMaxEntries || l.total != DefaultMaxTotalBytes || l.file != DefaultMaxFileBytes {
		t.Errorf("zero options give %+v, want the defaults", l)
	}
	// Negative means no limit: an archive over every default still passes
	// the header checks.
	z := makeZip(t, rawEntry{name: "a", content: []byte("x"), method: zip.Store, declared: 0},
		rawEntry{name: "b", content: []byte("y"), method: zip.Store})
	if _, err := extractBytes(z, t.TempDir(), ExtractOptions{MaxEntries: -1, MaxTotalBytes: -1, MaxFileBytes: -1}); err != nil {
		t.Errorf("unlimited: %v", err)
	}
	if _, err := extractBytes(z, t.TempDir(), ExtractOptions{MaxEntries: 1}); !errors.Is(err, ErrTooManyEntries) {
		t.Errorf("MaxEntries 1: %v, want ErrTooManyEntries", err)
	}
	if _, err := extractBytes(z, t.TempDir(), ExtractOptions{MaxTotalBytes: 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxTotalBytes 1: %v, want ErrTooLarge", err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func checkDirModes(t *testing.T, root string, want fs.FileMode) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == root {
			return err
		}
		fi, err := d.Info()
		if err == nil && fi.Mode().Perm() != want {
			t.Errorf("dir %s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return err
	})
}
