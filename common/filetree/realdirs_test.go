package filetree

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRealDirsRemovesLinksNotTheirTargets(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	victim := filepath.Join(other, "fw.zip")
	if err := os.WriteFile(victim, []byte("alice's"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "build", "gen"), 0o755)
	os.Symlink(other, filepath.Join(root, "build", "fw"))
	os.Symlink(other, filepath.Join(root, "deps"))
	os.WriteFile(filepath.Join(root, "build", "objs"), nil, 0o644)
	removed, err := RealDirs(root, "build/gen", "build/fw", "build/objs", "deps", "tmp/x")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"build/fw", "build/objs", "deps"}; !reflect.DeepEqual(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "alice's" {
		t.Errorf("the link's target was touched: %q %v", b, err)
	}
	for _, p := range []string{"build/fw", "build/objs", "deps"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "build", "gen")); err != nil || !fi.IsDir() {
		t.Errorf("the real dir build/gen went: %v", err)
	}
	// A link on the way down goes, and nothing below it is looked at.
	os.Remove(filepath.Join(root, "build", "gen"))
	os.RemoveAll(filepath.Join(root, "build"))
	os.Symlink(other, filepath.Join(root, "build"))
	removed, err = RealDirs(root, "build/gen", "build/fw")
	if err != nil || !reflect.DeepEqual(removed, []string{"build"}) {
		t.Errorf("removed %v, %v; want [build]", removed, err)
	}
}
