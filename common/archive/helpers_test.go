package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// rawEntry is one entry of a hand-made zip, so tests can write what no
// honest writer would: lying sizes, links, odd hosts, bad names.
type rawEntry struct {
	name     string
	content  []byte
	mode     fs.FileMode // 0: no mode, like a stock client (MS-DOS host, attributes 0)
	method   uint16      // zip.Store or zip.Deflate (0 is Store)
	declared int64       // header's uncompressed size; 0 means the true size
	crc      uint32      // header CRC-32; 0 means the true one
	creator  uint16      // CreatorVersion when mode is 0; 0 means 0x0014
}

// makeZip writes entries with zip.Writer.CreateRaw.
func makeZip(t *testing.T, entries ...rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		data := e.content
		if e.method == zip.Deflate {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(e.content)
			fw.Close()
			data = c.Bytes()
		}
		fh := &zip.FileHeader{
			Name:               e.name,
			Method:             e.method,
			CRC32:              crc32.ChecksumIEEE(e.content),
			CompressedSize64:   uint64(len(data)),
			UncompressedSize64: uint64(len(e.content)),
			CreatorVersion:     0x0014,
			ReaderVersion:      20,
		}
		if e.declared != 0 {
			fh.UncompressedSize64 = uint64(e.declared)
		}
		if e.crc != 0 {
			fh.CRC32 = e.crc
		}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		} else if e.creator != 0 {
			fh.CreatorVersion = e.creator
		}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			t.Fatalf("CreateRaw %q: %v", e.name, err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func file(name, content string) rawEntry {
	return rawEntry{name: name, content: []byte(content), method: zip.Deflate}
}

func extractBytes(b []byte, dest string, opts ExtractOptions) (Stats, error) {
	return ExtractReaderAt(bytes.NewReader(b), int64(len(b)), dest, opts)
}

// snapshot describes everything under dir except the subtree skip: path,
// type, mode and content (link targets for links).
func snapshot(t *testing.T, dir, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b)
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

func diffSnapshots(before, after map[string]string) []string {
	var d []string
	for p, a := range after {
		if b, ok := before[p]; !ok {
			d = append(d, "new: "+p+" "+a)
		} else if a != b {
			d = append(d, "changed: "+p+" "+b+" => "+a)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			d = append(d, "gone: "+p)
		}
	}
	sort.Strings(d)
	return d
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	return names
}

func zipNames(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("reading zip: %v", err)
	}
	var n []string
	for _, f := range zr.File {
		n = append(n, f.Name)
	}
	return n
}

func joinLines(s []string) string { return strings.Join(s, "\n") }

// The snapshot comparison used to prove "nothing outside dest" does see
// new, changed and removed files and links.
func TestSnapshotDetectsChanges(t *testing.T) {
	dir := t.TempDir()
	skip := filepath.Join(dir, "dest")
	mustMkdir(t, skip)
	os.WriteFile(filepath.Join(dir, "a"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(dir, "gone"), []byte("1"), 0o644)
	before := snapshot(t, dir, skip)
	os.WriteFile(filepath.Join(skip, "inside"), []byte("ignored"), 0o644)
	if d := diffSnapshots(before, snapshot(t, dir, skip)); len(d) != 0 {
		t.Fatalf("a change inside the skipped dir was reported: %v", d)
	}
	os.WriteFile(filepath.Join(dir, "a"), []byte("2"), 0o644)
	os.Remove(filepath.Join(dir, "gone"))
	os.WriteFile(filepath.Join(dir, "new"), []byte("3"), 0o644)
	d := diffSnapshots(before, snapshot(t, dir, skip))
	if len(d) != 3 || !strings.HasPrefix(d[0], "changed: ") || !strings.HasPrefix(d[1], "gone: ") || !strings.HasPrefix(d[2], "new: ") {
		t.Errorf("diff = %q, want one changed, one gone, one new", d)
	}
}
