package filetree

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// Known digests, not computed by the code under test.
const (
	shaHello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // "hello"
	shaEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // ""
	shaWorld = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7" // "world"
)

func TestList(t *testing.T) {
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{
		"mos.yml":       {Content: "hello"},
		"a.c":           {Content: ""},
		"a/b":           {Content: "world", Mode: 0o755},
		"build/x.o":     {Content: "obj"},
		"src/build/y.o": {Content: "obj"},
		".git/HEAD":     {Content: "ref"},
		"empty/":        {},
		"ünï code/ファイル": {Content: "hello", Mode: 0o600},
	})
	var irregular []string
	if runtime.GOOS != "windows" {
		if err := os.Symlink("/etc/passwd", filepath.Join(root, "leak")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("a", filepath.Join(root, "dirlink")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := List(root, ListOptions{
		Skip:      SkipNames("build", ".git"),
		Irregular: func(p string, m fs.FileMode) error { irregular = append(irregular, p); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Path: "a.c", Size: 0, Mode: 0o644, SHA256: shaEmpty},
		{Path: "a/b", Size: 5, Mode: 0o755, SHA256: shaWorld},
		{Path: "mos.yml", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "ünï code/ファイル", Size: 5, Mode: 0o600, SHA256: shaHello},
	}
	if runtime.GOOS == "windows" {
		for i := range want {
			want[i].Mode = 0o666
		}
	}
	checkEntries(t, got, want)
	if runtime.GOOS != "windows" && strings.Join(irregular, ",") != "dirlink,leak" {
		t.Errorf("irregular = %v, want the two links reported", irregular)
	}
}

func TestListIrregularCanRefuse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	root := t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{"src/ok.c": {Content: "x"}})
	if err := os.Symlink("../../etc", filepath.Join(root, "src", "evil")); err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("links are not allowed")
	_, err := List(root, ListOptions{Irregular: func(string, fs.FileMode) error { return refuse }})
	if !errors.Is(err, refuse) || !strings.Contains(err.Error(), "src/evil") {
		t.Errorf("List = %v, want the callback's error naming src/evil", err)
	}
}

func TestListBadRoot(t *testing.T) {
	dir := t.TempDir()
	if _, err := List(filepath.Join(dir, "missing"), ListOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v, want fs.ErrNotExist", err)
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := List(f, ListOptions{}); err == nil {
		t.Error("a file as root was accepted")
	}
}

func checkEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// setMtime sets a file's mtime, failing the test on error.
func setMtime(t *testing.T, p string, mt time.Time) {
	t.Helper()
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

var oldTime = time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)

func listOne(t *testing.T, root string, c *HashCache) string {
	t.Helper()
	es, err := List(root, ListOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Fatalf("listing %+v, want one file", es)
	}
	return es[0].SHA256
}

// A cached file is not re-read: rewriting it with the same size and
// putting the old mtime back leaves the cached (now stale) hash in place.
// That is git's index trade-off, accepted for speed.
func TestHashCacheSkipsUnchangedFiles(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	testenv.WriteTree(t, root, testenv.Tree{"f": {Content: "hello"}})
	setMtime(t, p, oldTime)
	c := NewHashCache()
	if got := listOne(t, root, c); got != shaHello {
		t.Fatalf("first listing %s, want sha of hello", got)
	}

	os.WriteFile(p, []byte("world"), 0o644)
	setMtime(t, p, oldTime)
	if got := listOne(t, root, c); got != shaHello {
		t.Errorf("same size, mode and mtime: got %s, want the cached hash (file not re-read)", got)
	}
	if got := listOne(t, root, nil); got != shaWorld {
		t.Errorf("without cache: %s, want sha of world", got)
	}

	// Any of mtime, size or mode changing makes it re-read.
	setMtime(t, p, oldTime.Add(time.Nanosecond))
	if got := listOne(t, root, c); got != shaWorld {
		t.Errorf("after an mtime change: %s, want sha of world", got)
	}
	os.WriteFile(p, []byte("hello"), 0o644)
	setMtime(t, p, oldTime.Add(time.Nanosecond))
	if runtime.GOOS != "windows" {
		os.Chmod(p, 0o755)
		if got := listOne(t, root, c); got != shaHello {
			t.Errorf("after a mode change: %s, want sha of hello", got)
		}
	}
	os.WriteFile(p, []byte("hello!"), 0o644)
	setMtime(t, p, oldTime.Add(time.Nanosecond))
	if got := listOne(t, root, c); got == shaHello || got == shaWorld {
		t.Errorf("after a size change: still %s", got)
	}
}

// A file hashed right after it was written may change again within the
// same timestamp tick; such hashes are not trusted.
func TestHashCacheDistrustsRacyFiles(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	testenv.WriteTree(t, root, testenv.Tree{"f": {Content: "hello"}})
	mt := time.Now().Add(-time.Second)
	setMtime(t, p, mt)
	c := NewHashCache()
	if got := listOne(t, root, c); got != shaHello {
		t.Fatal(got)
	}
	os.WriteFile(p, []byte("world"), 0o644)
	setMtime(t, p, mt)
	if got := listOne(t, root, c); got != shaWorld {
		t.Errorf("racy file: got %s, want it re-read (sha of world)", got)
	}
}

func TestHashCacheSaveLoad(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	testenv.WriteTree(t, root, testenv.Tree{"keep": {Content: "hello"}, "gone": {Content: "x"}, "skipped/s": {Content: "y"}})
	for _, n := range []string{"keep", "gone", "skipped/s"} {
		setMtime(t, filepath.Join(root, n), oldTime)
	}
	cacheFile := filepath.Join(dir, "hashes.json")

	c, err := LoadHashCache(cacheFile)
	if err != nil || c.Len() != 0 {
		t.Fatalf("missing cache file: %v, %d entries; want an empty cache", err, c.Len())
	}
	if _, err := List(root, ListOptions{Cache: c}); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(cacheFile); err != nil {
		t.Fatal(err)
	}

	// A loaded cache answers without reading: stale content shows the old hash.
	os.WriteFile(filepath.Join(root, "keep"), []byte("world"), 0o644)
	setMtime(t, filepath.Join(root, "keep"), oldTime)
	os.Remove(filepath.Join(root, "gone"))
	c2, err := LoadHashCache(cacheFile)
	if err != nil || c2.Len() != 3 {
		t.Fatalf("reload: %v, %d entries, want 3", err, c2.Len())
	}
	es, err := List(root, ListOptions{Cache: c2, Skip: SkipNames("skipped")})
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, []Entry{{Path: "keep", Size: 5, Mode: es[0].Mode, SHA256: shaHello}})
	// Vanished and unvisited files are dropped on save.
	if err := c2.Save(cacheFile); err != nil {
		t.Fatal(err)
	}
	c3, err := LoadHashCache(cacheFile)
	if err != nil || c3.Len() != 1 {
		t.Errorf("after save: %v, %d entries, want 1", err, c3.Len())
	}
	if names := dirNames(t, dir); names != "hashes.json" {
		t.Errorf("cache dir holds %s, want only hashes.json (no temp files)", names)
	}
}

func TestLoadHashCacheMalformed(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage": "{not json",
		"version": `{"version": 99, "files": []}`,
		"bad_sha": `{"version": 1, "files": [{"path": "/x/f", "sha256": "zz"}]}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		c, err := LoadHashCache(p)
		if !errors.Is(err, ErrBadIndex) {
			t.Errorf("%s: %v, want ErrBadIndex", name, err)
		}
		if c == nil || c.Len() != 0 {
			t.Errorf("%s: want an empty usable cache", name)
		}
	}
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return strings.Join(n, ",")
}
