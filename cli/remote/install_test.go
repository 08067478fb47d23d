package remote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// unsupportedRemoveAll fails like os.RemoveAll on wine or FAT, where the
// POSIX-style delete it uses is "Invalid function", and counts its calls.
type unsupportedRemoveAll struct{ calls int }

func (u *unsupportedRemoveAll) removeAll(p string) error {
	u.calls++
	return &fs.PathError{Op: "removeat", Path: p, Err: unsupportedDeleteErr}
}

// leftovers lists the stage dirs left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, resultStagePrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Where the system's remove is refused (wine, FAT, some network drives),
// a delta install and a full one still work through plain deletes, and
// leave no stage dir.
func TestInstallWhereRemoveIsUnsupported(t *testing.T) {
	have := testenv.Tree{
		"build.log":       {Content: "old log"},
		"build.local.log": {Content: "old local log"},
		"fw.zip":          {Content: "old"},
		"gen/old/stale.h": {Content: "s"},
		"gen/x.h":         {Content: "x"},
	}
	want := testenv.Tree{"build.log": {Content: "new log"}, "fw.zip": {Content: "new"}, "gen/x.h": {Content: "x"}}
	for _, delta := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "build")
		testenv.WriteTree(t, dir, have)
		testenv.WriteTree(t, dir, testenv.Tree{resultStagePrefix + "123/objs/a.o": {Content: "aborted"}})
		u := &unsupportedRemoveAll{}
		in := &installer{buildDir: dir, removeAll: u.removeAll}
		var zip string
		if delta {
			zip = resultZip(t, map[string]string{"build.log": "new log", "fw.zip": "new"}, []string{"build.local.log", "gen/old/stale.h"})
		} else {
			zip = resultZip(t, map[string]string{"build.log": "new log", "fw.zip": "new", "gen/x.h": "x"}, nil)
		}
		if err := in.install(zip, delta); err != nil {
			t.Fatalf("delta=%v: %v", delta, err)
		}
		testenv.CheckTree(t, dir, want)
		if u.calls == 0 {
			t.Errorf("delta=%v: the failing remove was never tried", delta)
		}
	}
}

func TestRemoveUnsupported(t *testing.T) {
	if !filetree.RemoveUnsupported(&fs.PathError{Op: "removeat", Path: "x", Err: unsupportedDeleteErr}) {
		t.Error("the file system's refusal is not recognised")
	}
	if filetree.RemoveUnsupported(&fs.PathError{Op: "removeat", Path: "x", Err: fs.ErrPermission}) {
		t.Error("a permission error taken for an unsupported delete")
	}
}

// heldRename fails to move one file, as Windows does with a file another
// program holds open.
func heldRename(held string) func(string, string) error {
	return func(oldpath, newpath string) error {
		if oldpath == held || newpath == held {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrPermission}
		}
		return os.Rename(oldpath, newpath)
	}
}

// A file of build/ that cannot be replaced (held by a flasher) stops the
// install before anything new is in: build/ is as it was, the error names
// the file and the likely cause.
func TestInstallAllOrNothing(t *testing.T) {
	have := testenv.Tree{
		"build.log":         {Content: "old log"},
		"fw.zip":            {Content: "old fw"},
		"fw/app.bin":        {Content: "old bin"},
		"gen/build_ctx.txt": {Content: "ctx"},
		"objs/z.o":          {Content: "z"},
	}
	files := map[string]string{"build.log": "new log", "fw.zip": "new fw", "fw/app.bin": "new bin", "gen/build_ctx.txt": "ctx", "new/dir/n.h": "n"}
	for _, tc := range []struct {
		name  string
		delta bool
		keep  bool
		held  string // slash path in build/
	}{
		{"full, fw.zip held", false, false, "fw.zip"},
		{"full, objs held", false, false, "objs"},
		{"full keep, fw.zip held", false, true, "fw.zip"},
		{"delta, fw.zip held", true, false, "fw.zip"},
		{"delta, deleted file held", true, false, "objs/z.o"},
		{"delta, new file cannot go in", true, false, "new/dir/n.h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "build")
			testenv.WriteTree(t, dir, have)
			in := &installer{buildDir: dir, keep: tc.keep, rename: heldRename(filepath.Join(dir, filepath.FromSlash(tc.held)))}
			var deleted []string
			if tc.delta {
				deleted = []string{"objs/z.o"}
			}
			err := in.install(resultZip(t, files, deleted), tc.delta)
			if !errors.Is(err, ErrFileInUse) || !strings.Contains(err.Error(), filepath.Join(dir, filepath.FromSlash(tc.held))+" cannot be replaced") ||
				!strings.Contains(err.Error(), "another program may hold it open") {
				t.Fatalf("err = %v", err)
			}
			testenv.CheckTree(t, dir, have)
		})
	}
}

// The next install removes what aborted ones left.
func TestInstallRemovesLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	testenv.WriteTree(t, dir, testenv.Tree{
		"fw.zip":                           {Content: "old"},
		resultStagePrefix + "1/fw.zip":     {Content: "aborted new"},
		resultStagePrefix + "2/objs/a.o":   {Content: "aborted old"},
		"objs/" + resultStagePrefix + "x/": {},
	})
	if err := installResult(resultZip(t, map[string]string{"fw.zip": "new"}, nil), dir, true); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{"fw.zip": {Content: "new"}, "objs/" + resultStagePrefix + "x/": {}})
}

// A delta list may not delete through a link in build/, outside build/, or
// the client's own stage dirs; refused, build/ stays as it was.
func TestInstallDeltaRefusesPathsOut(t *testing.T) {
	for _, tc := range []struct {
		deleted string
		want    string
	}{
		{"src/main.c", "not a directory (a link?)"},
		{"../src/main.c", `".." component`},
		{"/etc/hostname", "absolute path"},
		{resultStagePrefix + "x", "the client's own"},
	} {
		t.Run(tc.deleted, func(t *testing.T) {
			app := t.TempDir()
			testenv.WriteTree(t, app, testenv.Tree{"src/main.c": {Content: "int main;"}, "build/fw.zip": {Content: "old"}})
			dir := filepath.Join(app, "build")
			if err := os.Symlink(filepath.Join(app, "src"), filepath.Join(dir, "src")); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
			err := installDelta(resultZip(t, map[string]string{"fw.zip": "new"}, []string{tc.deleted}), dir, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), protocol.DeltaListName) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if got := mustRead(t, filepath.Join(app, "src", "main.c")); got != "int main;" {
				t.Errorf("source changed: %q", got)
			}
			if got := mustRead(t, filepath.Join(dir, "fw.zip")); got != "old" {
				t.Errorf("fw.zip = %q after a refused result", got)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("left %v", l)
			}
		})
	}
}
