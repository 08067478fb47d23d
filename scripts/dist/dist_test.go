package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1764633600, 0).UTC()

// files writes name -> content into a temp dir (in the given order, with
// the given mtime) and returns the entries for them.
func files(t *testing.T, mtime time.Time, order []string, content map[string]string) []entry {
	t.Helper()
	dir := t.TempDir()
	var es []entry
	for _, n := range order {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(content[n]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if n == "mos" {
			mode = 0o755
		}
		es = append(es, entry{name: n, src: p, mode: mode})
	}
	return es
}

// The archive bytes depend on the contents only: not on the files' times,
// disk modes or the order they are given in.
func TestArchivesIgnoreDiskState(t *testing.T) {
	content := map[string]string{"mos": "\x7fELF binary", "README.md": "# read me\n", "LICENSE": "Apache\n"}
	a := files(t, time.Unix(1000, 0), []string{"mos", "README.md", "LICENSE"}, content)
	b := files(t, time.Now(), []string{"LICENSE", "mos", "README.md"}, content)
	for _, ext := range []string{".tar.gz", ".zip"} {
		out := t.TempDir()
		pa, pb := filepath.Join(out, "a"+ext), filepath.Join(out, "b"+ext)
		if err := writeArchive(pa, "mos-1-linux-amd64", a, epoch); err != nil {
			t.Fatal(err)
		}
		if err := writeArchive(pb, "mos-1-linux-amd64", b, epoch); err != nil {
			t.Fatal(err)
		}
		da, _ := os.ReadFile(pa)
		db, _ := os.ReadFile(pb)
		if !bytes.Equal(da, db) {
			t.Errorf("%s: two archives of the same contents differ (%d and %d bytes)", ext, len(da), len(db))
		}
		// And a different content does change them.
		content2 := map[string]string{"mos": "\x7fELF other", "README.md": "# read me\n", "LICENSE": "Apache\n"}
		c := files(t, time.Unix(1000, 0), []string{"mos", "README.md", "LICENSE"}, content2)
		pc := filepath.Join(out, "c"+ext)
		if err := writeArchive(pc, "mos-1-linux-amd64", c, epoch); err != nil {
			t.Fatal(err)
		}
		if dc, _ := os.ReadFile(pc); bytes.Equal(da, dc) {
			t.Errorf("%s: archives of different contents are equal", ext)
		}
	}
}

type listed struct {
	name string
	mode os.FileMode
	time time.Time
	body string
}

func listTarGz(t *testing.T, p string) []listed {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header has name %q, time %v; want neither", gz.Name, gz.ModTime)
	}
	var out []listed
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		b, _ := io.ReadAll(tr)
		out = append(out, listed{h.Name, h.FileInfo().Mode(), h.ModTime.UTC(), string(b)})
	}
}

func listZip(t *testing.T, p string) []listed {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []listed
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, listed{f.Name, f.Mode(), f.Modified.UTC(), string(b)})
	}
	return out
}

func TestArchiveEntries(t *testing.T) {
	content := map[string]string{"mos.exe": "MZ", "README.md": "r", "LICENSE": "l"}
	es := files(t, time.Now(), []string{"README.md", "mos.exe", "LICENSE"}, content)
	es[1].mode = 0o755
	out := t.TempDir()
	for _, ext := range []string{".tar.gz", ".zip"} {
		p := filepath.Join(out, "x"+ext)
		if err := writeArchive(p, "mos-2-windows-amd64", es, epoch); err != nil {
			t.Fatal(err)
		}
		var got []listed
		if ext == ".zip" {
			got = listZip(t, p)
		} else {
			got = listTarGz(t, p)
		}
		want := []listed{
			{"mos-2-windows-amd64/", os.ModeDir | 0o755, epoch, ""},
			{"mos-2-windows-amd64/LICENSE", 0o644, epoch, "l"},
			{"mos-2-windows-amd64/README.md", 0o644, epoch, "r"},
			{"mos-2-windows-amd64/mos.exe", 0o755, epoch, "MZ"},
		}
		if len(got) != len(want) {
			t.Fatalf("%s: entries %+v, want %+v", ext, got, want)
		}
		for i := range want {
			if got[i].name != want[i].name || got[i].mode != want[i].mode || !got[i].time.Equal(want[i].time) || got[i].body != want[i].body {
				t.Errorf("%s: entry %d = %+v, want %+v", ext, i, got[i], want[i])
			}
		}
	}
}

func TestSumsFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.zip"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.tar.gz"), []byte(""), 0o644)
	if err := writeSums(dir, []string{"b.zip", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.tar.gz\n" +
		"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.zip\n"
	if string(got) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", got, want)
	}
}

// Two real runs of the release build for one platform give the same
// bytes. DIST_FRESH_GOCACHE=1 makes the second run compile everything again
// in an empty build cache (minutes), so no cached object hides a
// difference; `make dist-check` does that for every platform.
func TestDistReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mos twice; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("release archives are made on Linux")
	}
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	base := options{
		version: "9.9.9-test", ldflags: "-X github.com/mongoose-os/mos/common/version.BuildID=test/fork@test",
		epoch: epoch, src: src, only: []string{"windows-amd64"},
	}
	first, second := base, base
	first.out, second.out = t.TempDir(), t.TempDir()
	if os.Getenv("DIST_FRESH_GOCACHE") == "1" {
		second.gocache = t.TempDir()
	}
	files1, err := run(first)
	if err != nil {
		t.Fatal(err)
	}
	files2, err := run(second)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mos-9.9.9-test-windows-amd64.zip", "SHA256SUMS"}
	if strings.Join(files1, " ") != strings.Join(want, " ") || strings.Join(files2, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v and %v, want %v", files1, files2, want)
	}
	for _, f := range want {
		a, _ := os.ReadFile(filepath.Join(first.out, f))
		b, _ := os.ReadFile(filepath.Join(second.out, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs (%d and %d bytes)", f, len(a), len(b))
		}
	}
	var names []string
	for _, e := range listZip(t, filepath.Join(first.out, want[0])) {
		names = append(names, e.name)
	}
	if got := strings.Join(names, " "); got != "mos-9.9.9-test-windows-amd64/ mos-9.9.9-test-windows-amd64/LICENSE mos-9.9.9-test-windows-amd64/README.md mos-9.9.9-test-windows-amd64/mos.exe" {
		t.Errorf("zip holds %s", got)
	}
}

// The server's archive carries the mos it runs builds with (the server
// looks for mos next to itself).
func TestServerArchiveHasMos(t *testing.T) {
	for _, tg := range targets {
		if tg.product != "fwbuild-manager" {
			continue
		}
		var bins []string
		for _, p := range tg.programs {
			bins = append(bins, binaryNames[p])
		}
		if got := strings.Join(bins, " "); got != "fwbuild-manager mos" {
			t.Errorf("%s archive has %s, want fwbuild-manager mos", tg.name("V"), got)
		}
		return
	}
	t.Error("no fwbuild-manager archive among the targets")
}
