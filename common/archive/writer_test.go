package archive

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

type addCall struct {
	name    string
	mode    fs.FileMode
	content string
	method  Method
}

func writeZip(t *testing.T, calls []addCall) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, c := range calls {
		w.Method = c.method
		if err := w.AddFile(c.name, c.mode, strings.NewReader(c.content)); err != nil {
			t.Fatalf("AddFile(%q): %v", c.name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sampleCalls = []addCall{
	{name: "mos.yml", mode: 0o644, content: "name: app\n"},
	{name: "deps/modules/mongoose-os/tools/mgos_fw_meta.py", mode: 0o755, content: "#!/usr/bin/env python3\n"},
	{name: "src/main.c", mode: 0o644, content: strings.Repeat("int x;\n", 100)},
	{name: "fs/data.bin", mode: 0o600, content: "\x00\x01", method: Store},
	{name: "bin/tool", mode: 0o700, content: "ELF"},
	{name: "ünï/ファイル.txt", mode: 0o444, content: "u"},
}

// The standard library reads back the modes given, a Unix creator host
// (version made by 0x0314), the fixed date and the chosen method.
func TestWriterHeadersAsStdlibReadsThem(t *testing.T) {
	b := writeZip(t, sampleCalls)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(sampleCalls) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(sampleCalls))
	}
	for i, f := range zr.File {
		c := sampleCalls[i]
		if f.Name != c.name {
			t.Errorf("entry %d is %q, want %q", i, f.Name, c.name)
		}
		if f.Mode() != c.mode {
			t.Errorf("%s: Mode() = %v, want %v", f.Name, f.Mode(), c.mode)
		}
		if f.CreatorVersion>>8 != 3 || f.CreatorVersion != 0x0314 {
			t.Errorf("%s: CreatorVersion = %#04x, want 0x0314 (Unix host)", f.Name, f.CreatorVersion)
		}
		if got := f.ExternalAttrs >> 16; got != 0o100000|uint32(c.mode) {
			t.Errorf("%s: Unix attributes %#o, want %#o", f.Name, got, 0o100000|uint32(c.mode))
		}
		wantMethod := uint16(zip.Deflate)
		if c.method == Store {
			wantMethod = zip.Store
		}
		if f.Method != wantMethod {
			t.Errorf("%s: method %d, want %d", f.Name, f.Method, wantMethod)
		}
		if !f.Modified.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: Modified = %v, want 1980-01-01", f.Name, f.Modified)
		}
		if len(f.Extra) != 0 {
			t.Errorf("%s: extra fields %x, want none", f.Name, f.Extra)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != c.content {
			t.Errorf("%s: content %q (%v), want %q", f.Name, got, err, c.content)
		}
	}
}

func TestWriterDeterministic(t *testing.T) {
	a, b := writeZip(t, sampleCalls), writeZip(t, sampleCalls)
	if !bytes.Equal(a, b) {
		t.Fatal("same inputs gave different bytes")
	}
	changed := append([]addCall(nil), sampleCalls...)
	changed[0].mode = 0o755
	if bytes.Equal(a, writeZip(t, changed)) {
		t.Fatal("a different mode gave the same bytes")
	}
}

// What our Writer packs, Extract unpacks with the same modes (our client
// to our server, and our server to our client).
func TestWriterExtractRoundTrip(t *testing.T) {
	dest := t.TempDir()
	b := writeZip(t, sampleCalls)
	// ModeLess must not be consulted: every entry has a mode.
	st, err := extractBytes(b, dest, ExtractOptions{ModeLess: func(string, []byte) fs.FileMode {
		t.Error("ModeLess called for an entry with a Unix mode")
		return 0
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := testenv.Tree{}
	for _, c := range sampleCalls {
		want[c.name] = testenv.File{Content: c.content, Mode: c.mode}
	}
	if runtime.GOOS == "windows" {
		for k, v := range want {
			v.Mode = 0
			want[k] = v
		}
	}
	testenv.CheckTree(t, dest, want)
	if st.Files != len(sampleCalls) {
		t.Errorf("stats = %+v", st)
	}
}

func TestWriterRefusesBadNames(t *testing.T) {
	bad := []struct {
		name string
		mode fs.FileMode
		want error
	}{
		{"../x", 0o644, ErrUnsafeName},
		{"a/../../x", 0o644, ErrUnsafeName},
		{"/etc/passwd", 0o644, ErrUnsafeName},
		{"C:/x", 0o644, ErrUnsafeName},
		{`a\b`, 0o644, ErrUnsafeName},
		{`\\server\share`, 0o644, ErrUnsafeName},
		{"a//b", 0o644, ErrUnsafeName},
		{"dir/", 0o644, ErrUnsafeName},
		{"./a", 0o644, ErrUnsafeName},
		{"", 0o644, ErrUnsafeName},
		{"ok", fs.ModeSymlink | 0o777, ErrMode},
		{"ok", fs.ModeDir | 0o755, ErrMode},
		{"ok", fs.ModeSetuid | 0o755, ErrMode},
		{"good", 0o644, ErrDuplicate},
		{"good/x", 0o644, ErrConflict},
		{"sub", 0o644, ErrConflict},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.AddFile("good", 0o644, strings.NewReader("g")); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("sub/file", 0o644, strings.NewReader("s")); err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		err := w.AddFile(c.name, c.mode, strings.NewReader("evil"))
		var ee *EntryError
		if !errors.Is(err, c.want) || !errors.As(err, &ee) || ee.Name != c.name {
			t.Errorf("AddFile(%q, %v) = %v, want an *EntryError wrapping %v", c.name, c.mode, err, c.want)
		}
	}
	// Refused names leave the writer usable and the archive clean.
	if err := w.AddFile("last", 0o644, strings.NewReader("l")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := joinLines(zipNames(t, buf.Bytes())); got != joinLines([]string{"good", "sub/file", "last"}) {
		t.Errorf("archive holds %q", got)
	}
}

func TestWriterReaderErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	w := NewWriter(io.Discard)
	err := w.AddFile("a", 0o644, iotest.ErrReader(boom))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `entry "a"`) {
		t.Fatalf("AddFile = %v, want the reader's error naming the entry", err)
	}
	if err2 := w.AddFile("b", 0o644, strings.NewReader("x")); !errors.Is(err2, boom) {
		t.Errorf("next AddFile = %v, want the earlier error", err2)
	}
	if err2 := w.Close(); !errors.Is(err2, boom) {
		t.Errorf("Close = %v, want the earlier error", err2)
	}
}

// countingWriter records how much reached the output.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestWriterStreams(t *testing.T) {
	out := &countingWriter{}
	w := NewWriter(out)
	w.Method = Store
	if err := w.AddFile("big", 0o644, io.LimitReader(rand.Reader, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if out.n < 4<<20-64<<10 {
		t.Errorf("only %d bytes reached the output before Close: the archive is being held in memory", out.n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterStoreKeepsBytes(t *testing.T) {
	content := strings.Repeat("ALREADY-COMPRESSED-PAYLOAD-", 100)
	stored := writeZip(t, []addCall{{name: "fw.zip", mode: 0o644, content: content, method: Store}})
	deflated := writeZip(t, []addCall{{name: "fw.zip", mode: 0o644, content: content}})
	if !bytes.Contains(stored, []byte(content)) {
		t.Error("stored entry does not hold the content verbatim")
	}
	for _, c := range []struct {
		name   string
		zip    []byte
		method uint16
	}{{"stored", stored, zip.Store}, {"deflated", deflated, zip.Deflate}} {
		zr, err := zip.NewReader(bytes.NewReader(c.zip), int64(len(c.zip)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f := zr.File[0]
		if f.Method != c.method {
			t.Errorf("%s entry: method %d, want %d", c.name, f.Method, c.method)
		}
		if c.method == zip.Deflate && f.CompressedSize64 >= f.UncompressedSize64/4 {
			t.Errorf("deflated entry: %d bytes for %d of repeated text", f.CompressedSize64, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != content {
			t.Errorf("%s entry reads back %d bytes (%v), want the %d written", c.name, len(got), err, len(content))
		}
	}
}

func TestAddFileFromDisk(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{"script.sh": {Content: "#!/bin/sh\n", Mode: 0o644}})
	var buf bytes.Buffer
	w := NewWriter(&buf)
	// The mode given wins over the mode on disk.
	if err := w.AddFileFromDisk("tools/script.sh", filepath.Join(dir, "script.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFileFromDisk("missing", filepath.Join(dir, "nope"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := w.AddFileFromDisk("dir", dir, 0o644); !errors.Is(err, ErrFileType) {
		t.Errorf("directory: %v, want ErrFileType", err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink("script.sh", filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		if err := w.AddFileFromDisk("link", filepath.Join(dir, "link"), 0o644); !errors.Is(err, ErrSymlink) {
			t.Errorf("symlink: %v, want ErrSymlink", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "tools/script.sh" || zr.File[0].Mode() != 0o755 {
		t.Errorf("archive: %v", zipNames(t, buf.Bytes()))
	}
}
