package gencache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// unsupportedRemoveAll fails like os.RemoveAll on wine or FAT, where the
// POSIX-style delete it uses is "Invalid function", and counts its calls.
type unsupportedRemoveAll struct{ calls int }

func (u *unsupportedRemoveAll) removeAll(p string) error {
	u.calls++
	return &fs.PathError{Op: "unlinkat", Path: p, Err: unsupportedDeleteErr}
}

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	sort.Strings(n)
	return n
}

// Where the system's remove is refused (Windows: wine, FAT, some network
// drives), replacing an entry works through plain deletes, without a
// warning, and leaves nothing beside the entry.
func TestSaveWhereRemoveIsUnsupported(t *testing.T) {
	c := New(t.TempDir())
	u := &unsupportedRemoveAll{}
	c.removeAll = u.removeAll
	k := key("")
	for i, ctx := range []string{"build_ctx_1", "build_ctx_2", "build_ctx_3"} {
		gen := filepath.Join(t.TempDir(), "gen")
		testenv.WriteTree(t, gen, testenv.Tree{"build_ctx.txt": {Content: ctx}, "inc/x.h": {Content: ctx}})
		if err := c.Save(k, gen); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		if got, err := c.ReadFile(k, "build_ctx.txt"); err != nil || string(got) != ctx {
			t.Errorf("save %d: reads %q %v", i, got, err)
		}
	}
	if u.calls == 0 {
		t.Error("the failing remove was never tried")
	}
	if got := names(t, filepath.Join(c.Dir(), "gen")); len(got) != 2 || got[0] != k.id() || got[1] != k.id()+".lock" {
		t.Errorf("gen cache holds %v, want the entry and its lock only", got)
	}
	if got := entryVersions(t, c, k); len(got) != 1 {
		t.Errorf("entry holds versions %v, want one", got)
	}
}

// entryVersions lists the entry dir's names other than its key and
// pointer: the versions it holds (and any leftover).
func entryVersions(t *testing.T, c *Cache, k Key) []string {
	t.Helper()
	var v []string
	for _, n := range names(t, c.entryDir(k)) {
		if n != "key.json" && n != currentFile {
			v = append(v, n)
		}
	}
	return v
}

// A Save killed at any step leaves the old entry or the new one readable,
// never a mix; the next Save removes what it left. The states are made as
// a killed Save leaves them (see Save's crash story).
func TestSaveKilledLeavesOneWholeEntry(t *testing.T) {
	oldGen := testenv.Tree{"build_ctx.txt": {Content: "old_ctx"}, "inc/a.h": {Content: "old a"}}
	newGen := testenv.Tree{"build_ctx.txt": {Content: "new_ctx"}, "inc/b.h": {Content: "new b"}}
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, dir, live string) // dir: the entry; live: its version
		want  testenv.Tree
	}{
		{"while copying the new version", func(t *testing.T, dir, live string) {
			testenv.WriteTree(t, filepath.Join(dir, versionPfx+"123"), testenv.Tree{"build_ctx.txt": {Content: "new_ctx"}})
		}, oldGen},
		{"before switching the pointer", func(t *testing.T, dir, live string) {
			testenv.WriteTree(t, filepath.Join(dir, versionPfx+"123"), newGen)
			testenv.WriteTree(t, dir, testenv.Tree{tempPfx + "current-9": {Content: versionPfx + "123\n"}})
		}, oldGen},
		{"after switching the pointer", func(t *testing.T, dir, live string) {
			testenv.WriteTree(t, filepath.Join(dir, versionPfx+"123"), newGen)
			if err := os.WriteFile(filepath.Join(dir, currentFile), []byte(versionPfx+"123\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, newGen},
		{"an older mos's rotation", func(t *testing.T, dir, live string) {
			testenv.WriteTree(t, dir+".new-55", testenv.Tree{"gen/build_ctx.txt": {Content: "x"}})
			testenv.WriteTree(t, dir+".new-77.old", testenv.Tree{"gen/build_ctx.txt": {Content: "y"}})
		}, oldGen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(t.TempDir())
			k := key("")
			gen := filepath.Join(t.TempDir(), "gen")
			testenv.WriteTree(t, gen, oldGen)
			if err := c.Save(k, gen); err != nil {
				t.Fatal(err)
			}
			dir := c.entryDir(k)
			live := entryVersions(t, c, k)
			if len(live) != 1 {
				t.Fatalf("versions %v", live)
			}
			tc.leave(t, dir, live[0])

			restored := filepath.Join(t.TempDir(), "gen")
			if _, err := c.Restore(k, restored); err != nil {
				t.Fatal(err)
			}
			testenv.CheckTree(t, restored, tc.want)
			if got, err := c.ReadFile(k, "build_ctx.txt"); err != nil || string(got) != tc.want["build_ctx.txt"].Content {
				t.Errorf("ReadFile %q %v", got, err)
			}

			// The next run cleans up.
			third := filepath.Join(t.TempDir(), "gen")
			testenv.WriteTree(t, third, testenv.Tree{"build_ctx.txt": {Content: "third"}})
			if err := c.Save(k, third); err != nil {
				t.Fatal(err)
			}
			if got := entryVersions(t, c, k); len(got) != 1 {
				t.Errorf("after the next save the entry holds %v", got)
			}
			if got := names(t, filepath.Join(c.Dir(), "gen")); len(got) != 2 {
				t.Errorf("after the next save the cache holds %v", got)
			}
			if got, err := c.ReadFile(k, "build_ctx.txt"); err != nil || string(got) != "third" {
				t.Errorf("after the next save: %q %v", got, err)
			}
		})
	}
}

// An entry written before versions (gen/<id>/gen) is read, and replaced by
// the next Save.
func TestLegacyEntry(t *testing.T) {
	c := New(t.TempDir())
	k := key("")
	testenv.WriteTree(t, c.entryDir(k), testenv.Tree{"key.json": {Content: "{}"}, "gen/build_ctx.txt": {Content: "legacy"}})
	if got, err := c.ReadFile(k, "build_ctx.txt"); err != nil || string(got) != "legacy" {
		t.Fatalf("legacy entry: %q %v", got, err)
	}
	gen := filepath.Join(t.TempDir(), "gen")
	testenv.WriteTree(t, gen, testenv.Tree{"build_ctx.txt": {Content: "new"}})
	if err := c.Save(k, gen); err != nil {
		t.Fatal(err)
	}
	if got := entryVersions(t, c, k); len(got) != 1 || got[0] == legacyVer {
		t.Errorf("entry holds %v", got)
	}
	if got, _ := c.ReadFile(k, "build_ctx.txt"); string(got) != "new" {
		t.Errorf("read %q", got)
	}
	if err := c.Forget(k); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadFile(k, "build_ctx.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Forget: %v", err)
	}
}
