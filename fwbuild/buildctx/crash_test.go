package buildctx

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/testenv"
)

// dieDuring runs f in a goroutine that ends (runtime.Goexit) at the point
// where sync calls die, as a process killed there would: no deferred
// clean-up of Update's runs, no error is returned.
func dieDuring(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// TestKilledMidSyncIsNotTrusted is the server killed while it synced an
// upload into a context (issue 19): the changed file is in, the index is
// the old one. The next upload, equal to the old index, must not be taken
// as "nothing changed" over the half-synced context.
func TestKilledMidSyncIsNotTrusted(t *testing.T) {
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "SOURCE VERSION 1"}, "src/util.c": {Content: "util"}}
	v2 := testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "SOURCE VERSION 2"}, "src/util.c": {Content: "util 2"}}
	killed := false
	dying := func(src, dst string, srcList, dstList []filetree.Entry) (filetree.SyncStats, error) {
		if !killed {
			return filetree.Sync(src, dst, srcList, dstList)
		}
		// Bring in the first changed file only, then die.
		var part []filetree.Entry
		for _, e := range srcList {
			if e.Path == "src/main.c" {
				part = append(part, e)
			} else {
				for _, o := range dstList {
					if o.Path == e.Path {
						part = append(part, o)
					}
				}
			}
		}
		filetree.Sync(src, dst, part, dstList)
		runtime.Goexit()
		return filetree.SyncStats{}, nil
	}
	dir := filepath.Join(t.TempDir(), "volumes")
	s, err := NewStore(dir, Options{Sync: dying})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Lock(context.Background(), key, "ci_crash")
	if err != nil {
		t.Fatal(err)
	}
	update(t, c, v1, false)
	c.Done()
	killed = true
	dieDuring(func() {
		src, list := upload(t, v2)
		c.Update(src, list, false, nil)
	})
	c.lock.unlock() // the process is gone: so is its lock
	testenv.CheckTree(t, c.Dir, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "SOURCE VERSION 2"}, "src/util.c": {Content: "util"}})

	// The restarted server.
	s2, err := NewStore(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c2 := lock(t, s2, "ci_crash")
	res := update(t, c2, v1, false)
	if !res.Fresh {
		t.Errorf("the context of a killed sync was trusted: %+v", res.Stats)
	}
	testenv.CheckTree(t, c2.Dir, v1)
}

// TestKilledDuringBuildIsNotTrusted: the sync finished, the build did not
// (make killed half-way can leave a truncated object newer than its
// source). The next build starts the context afresh.
func TestKilledDuringBuildIsNotTrusted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "volumes")
	s := newStoreAt(t, dir)
	c, err := s.Lock(context.Background(), key, "ci_crash")
	if err != nil {
		t.Fatal(err)
	}
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v1"}}
	update(t, c, v1, false)
	c.Done()
	syncOnly(t, c, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v2"}}, false)
	testenv.WriteTree(t, c.Dir, testenv.Tree{"build/objs/main.o": {Content: "trunc"}})
	c.lock.unlock() // killed before Done

	c2 := lock(t, newStoreAt(t, dir), "ci_crash")
	res := update(t, c2, v1, false)
	if !res.Fresh {
		t.Fatalf("a context whose build did not finish was trusted: %+v", res.Stats)
	}
	testenv.CheckTree(t, c2.Dir, v1)
	c2.Done()
	if res := update(t, c2, v1, false); res.Fresh {
		t.Errorf("a finished context started afresh: %s", res.Why)
	}
}

// TestRebootDistrustsUnsyncedContexts: a context written during another
// boot of the machine may have lost file data that never reached the disk
// (power loss); unless the server synced the disk at a clean stop of that
// boot, it starts afresh.
func TestRebootDistrustsUnsyncedContexts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "volumes")
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v1"}}
	open := func(boot string) *Store {
		s, err := NewStore(dir, Options{BootID: boot})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	build := func(s *Store) UpdateResult {
		c, err := s.Lock(context.Background(), key, "ci_boot")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res := update(t, c, v1, false)
		c.Done()
		return res
	}
	build(open("boot-a"))
	if res := build(open("boot-a")); res.Fresh {
		t.Fatalf("same boot: started afresh (%s)", res.Why)
	}
	if res := build(open("boot-b")); !res.Fresh {
		t.Fatal("after a reboot without a synced stop the context was trusted")
	}
	s := open("boot-b")
	if err := s.Synced(); err != nil {
		t.Fatal(err)
	}
	if res := build(open("boot-c")); res.Fresh {
		t.Errorf("after a synced stop, a reboot started the context afresh (%s)", res.Why)
	}
	// A server started again in boot c forgets the synced stop of boot b
	// only for what it writes itself: boot c's writes are not synced.
	if res := build(open("boot-d")); !res.Fresh {
		t.Error("writes of a boot that ended without a synced stop were trusted")
	}
}

// TestModeOnlyChangeOfAMissingFileResyncs: an indexed file the build
// deleted from the context, whose next upload changes only its mode,
// used to fail every build with 500 (a copy from a source the delta
// upload never filled). It is brought in again instead.
func TestModeOnlyChangeOfAMissingFileResyncs(t *testing.T) {
	c := lock(t, newStore(t, Options{}), "ctx")
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "tools/x.py": {Content: "#!", Mode: 0o644}}
	update(t, c, v1, false)
	c.Done()
	if err := os.Remove(filepath.Join(c.Dir, "tools", "x.py")); err != nil {
		t.Fatal(err)
	}
	v2 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "tools/x.py": {Content: "#!", Mode: 0o755}}
	var asked []string
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(src, 0o755)
	if _, err := c.Update(src, listing(t, v2), false, fillFrom(t, src, v2, &asked)); err != nil {
		t.Fatalf("update: %v", err)
	}
	testenv.CheckTree(t, c.Dir, v2)
}

func newStoreAt(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := NewStore(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
