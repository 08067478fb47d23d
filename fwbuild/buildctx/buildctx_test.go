package buildctx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/testenv"
)

var key = Key{Version: "2.20.0", App: "hello", Platform: "esp32"}

// upload writes tree into a fresh dir and lists it, as the server does
// with an unpacked zip.
func upload(t *testing.T, tree testenv.Tree) (string, []filetree.Entry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	testenv.WriteTree(t, dir, tree)
	list, err := filetree.List(dir, filetree.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, list
}

func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := NewStore(filepath.Join(t.TempDir(), "volumes"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lock(t *testing.T, s *Store, name string) *Context {
	t.Helper()
	c, err := s.Lock(context.Background(), key, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// update brings tree into c, as a build that then finishes (Done).
func update(t *testing.T, c *Context, tree testenv.Tree, clean bool) UpdateResult {
	t.Helper()
	res := syncOnly(t, c, tree, clean)
	if err := c.Done(); err != nil {
		t.Fatal(err)
	}
	return res
}

// syncOnly brings tree into c, as a build that never finishes.
func syncOnly(t *testing.T, c *Context, tree testenv.Tree, clean bool) UpdateResult {
	t.Helper()
	src, list := upload(t, tree)
	res, err := c.Update(src, list, clean, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return res
}

func TestKeyCheck(t *testing.T) {
	good := []Key{key, {"latest", "my_app-1", "host"}}
	for _, k := range good {
		if err := k.Check(); err != nil {
			t.Errorf("%v: %v", k, err)
		}
	}
	bad := []struct {
		k    Key
		want string
	}{
		{Key{"..", "a", "b"}, `version ".." is not a plain name`},
		{Key{"tmp", "a", "b"}, `version "tmp" is reserved`},
		{Key{"libcache", "a", "b"}, `version "libcache" is reserved`},
		{Key{"1", "", "b"}, "app name is empty"},
		{Key{"1", "a/b", "b"}, `app name "a/b" contains a path separator`},
		{Key{"1", "a", ".."}, `platform ".." is not a plain name`},
		{Key{"1", "a", "x\x01"}, "control character"},
	}
	for _, tc := range bad {
		err := tc.k.Check()
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want ErrBadKey with %q", tc.k, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"ci_main", "build_ctx_123", "A9"} {
		if err := CheckName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "a.b", "../x", "a\n", "a-b", "a/b"} {
		if err := CheckName(n); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v, want ErrBadName", n, err)
		}
	}
}

func TestNewNameIsRandomLikeStock(t *testing.T) {
	s := newStore(t, Options{})
	a, err := s.NewName(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewName(key)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^build_ctx_[0-9]+$`)
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("names %q, %q", a, b)
	}
	if fi, err := os.Stat(filepath.Join(s.ContextsDir(key), a)); err != nil || !fi.IsDir() {
		t.Errorf("context dir of %s: %v", a, err)
	}
	if got, want := s.ContextsDir(key), filepath.Join(s.Root(), "2.20.0", "apps", "hello", "esp32", "build_contexts"); got != want {
		t.Errorf("ContextsDir = %s, want %s", got, want)
	}
}

func TestNewContextTakesTheUpload(t *testing.T) {
	s := newStore(t, Options{})
	c := lock(t, s, "ci_main")
	res := update(t, c, testenv.Tree{
		"mos.yml":                        {Content: "name: hello\n"},
		"src/main.c":                     {Content: "int main;\n"},
		"deps/modules/mongoose-os/x.py":  {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		"deps/modules/mongoose-os/a.txt": {Content: "a"},
	}, false)
	if !res.Fresh || res.Why != "new context" || res.Files != 4 {
		t.Errorf("result %+v", res)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{
		"mos.yml":                        {Content: "name: hello\n", Mode: 0o644},
		"src/main.c":                     {Content: "int main;\n", Mode: 0o644},
		"deps/modules/mongoose-os/x.py":  {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		"deps/modules/mongoose-os/a.txt": {Content: "a", Mode: 0o644},
	})
	if c.Dirty() {
		t.Error("new context left dirty")
	}
	idx, err := filetree.ReadIndex(c.IndexFile())
	if err != nil || len(idx) != 4 {
		t.Errorf("index: %v, %d entries", err, len(idx))
	}
	if filepath.Dir(c.IndexFile()) != filepath.Dir(c.Dir) || filepath.Base(c.IndexFile()) != "ci_main.index.json" {
		t.Errorf("index file %s is not beside the context", c.IndexFile())
	}
}

// setup makes a synced context with build output and a fetched lib, with
// old mtimes everywhere.
func setup(t *testing.T, s *Store) (*Context, time.Time) {
	t.Helper()
	c := lock(t, s, "ci_main")
	update(t, c, testenv.Tree{
		"mos.yml":        {Content: "name: hello\n"},
		"src/main.c":     {Content: "main v1"},
		"src/util.c":     {Content: "util"},
		"src/gone.c":     {Content: "gone"},
		"src/old/x.c":    {Content: "x"},
		"tools/gen.py":   {Content: "#!/bin/sh\n"},
		"fs/index.html":  {Content: "<html>"},
		"local_libs/l/a": {Content: "a"},
	}, false)
	testenv.WriteTree(t, c.Dir, testenv.Tree{
		"build/objs/main.o":    {Content: "obj"},
		"build/build.log":      {Content: "log"},
		"deps/fetched/mos.yml": {Content: "lib"},
		"build_params.yml":     {Content: "clean: false\n"},
	})
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.Walk(c.Dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, old
}

func mtime(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

func TestReuseSyncsOnlyWhatChanged(t *testing.T) {
	s := newStore(t, Options{})
	c, old := setup(t, s)
	res := update(t, c, testenv.Tree{
		"mos.yml":        {Content: "name: hello\n"},
		"src/main.c":     {Content: "main v2"},                  // changed
		"src/util.c":     {Content: "util"},                     // unchanged
		"src/new.c":      {Content: "new"},                      // added
		"tools/gen.py":   {Content: "#!/bin/sh\n", Mode: 0o755}, // mode only
		"fs/index.html":  {Content: "<html>"},
		"local_libs/l/a": {Content: "a"},
		// src/gone.c and src/old/x.c removed
	}, false)
	if res.Fresh {
		t.Fatalf("reused context started afresh: %s", res.Why)
	}
	st := res.Stats
	if st.Added != 1 || st.Changed != 2 || st.Removed != 2 || st.Unchanged != 4 {
		t.Errorf("stats %+v", st)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{
		"mos.yml":              {Content: "name: hello\n"},
		"src/main.c":           {Content: "main v2"},
		"src/util.c":           {Content: "util"},
		"src/new.c":            {Content: "new"},
		"tools/gen.py":         {Content: "#!/bin/sh\n", Mode: 0o755},
		"fs/index.html":        {Content: "<html>"},
		"local_libs/l/a":       {Content: "a"},
		"build/objs/main.o":    {Content: "obj"},
		"build/build.log":      {Content: "log"},
		"deps/fetched/mos.yml": {Content: "lib"},
		"build_params.yml":     {Content: "clean: false\n"},
	})
	for _, p := range []string{"mos.yml", "src/util.c", "fs/index.html", "build/objs/main.o", "deps/fetched/mos.yml"} {
		if got := mtime(t, filepath.Join(c.Dir, p)); !got.Equal(old) {
			t.Errorf("%s: mtime %v, want the old %v", p, got, old)
		}
	}
	if got := mtime(t, filepath.Join(c.Dir, "src/main.c")); !got.After(old) {
		t.Errorf("changed src/main.c kept its old mtime %v", got)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "src/old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("emptied src/old not removed: %v", err)
	}
	idx, err := filetree.ReadIndex(c.IndexFile())
	if err != nil || len(idx) != 7 {
		t.Errorf("index after sync: %v, %d entries", err, len(idx))
	}
}

func TestCleanStartsAfresh(t *testing.T) {
	s := newStore(t, Options{})
	c, _ := setup(t, s)
	res := update(t, c, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v3"}}, true)
	if !res.Fresh || res.Why != "clean requested" {
		t.Errorf("result %+v", res)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v3"}})
}

func TestSyncFailurePartWayMarksDirtyAndNextUpdateIsClean(t *testing.T) {
	fail := true
	partial := func(src, dst string, srcList, dstList []filetree.Entry) (filetree.SyncStats, error) {
		if !fail {
			return filetree.Sync(src, dst, srcList, dstList)
		}
		// Bring in one file, then fail, as an I/O error half-way would.
		if err := os.WriteFile(filepath.Join(dst, "src", "main.c"), []byte("half"), 0o644); err != nil {
			return filetree.SyncStats{}, err
		}
		return filetree.SyncStats{Touched: []string{"src/main.c"}},
			&filetree.SyncError{Path: "src/util.c", Err: errors.New("input/output error")}
	}
	s := newStore(t, Options{Sync: partial})
	fail = false
	c, _ := setup(t, s)
	fail = true
	src, list := upload(t, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v2"}, "src/util.c": {Content: "u2"}})
	_, err := c.Update(src, list, false, nil)
	if !errors.Is(err, ErrDirty) {
		t.Fatalf("Update = %v, want ErrDirty", err)
	}
	for _, want := range []string{"context ci_main", `syncing "src/util.c": input/output error`, "the next build starts it afresh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !c.Dirty() {
		t.Fatal("context not marked dirty")
	}
	if _, err := os.Stat(c.IndexFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("index kept after a failed sync: %v", err)
	}

	// A fresh lock (the next request) sees the marker and starts afresh.
	c.Close()
	fail = false
	c2 := lock(t, s, "ci_main")
	res := update(t, c2, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v3"}}, false)
	if !res.Fresh || !strings.Contains(res.Why, "dirty") {
		t.Errorf("result %+v, want fresh because dirty", res)
	}
	testenv.CheckTree(t, c2.Dir, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "src/main.c": {Content: "v3"}})
	if c2.Dirty() {
		t.Error("still dirty after a clean update")
	}
}

func TestSyncFailureBeforeChangesKeepsTheContext(t *testing.T) {
	refuse := false
	sync := func(src, dst string, srcList, dstList []filetree.Entry) (filetree.SyncStats, error) {
		if refuse {
			return filetree.SyncStats{}, &filetree.SyncError{Path: "src/main.c", Err: filetree.ErrSourceChanged}
		}
		return filetree.Sync(src, dst, srcList, dstList)
	}
	s := newStore(t, Options{Sync: sync})
	c, _ := setup(t, s)
	refuse = true
	src, list := upload(t, testenv.Tree{"mos.yml": {Content: "x"}})
	_, err := c.Update(src, list, false, nil)
	if err == nil || errors.Is(err, ErrDirty) || !errors.Is(err, filetree.ErrSourceChanged) {
		t.Fatalf("Update = %v", err)
	}
	if c.Dirty() {
		t.Error("context marked dirty though nothing changed")
	}
	if _, err := filetree.ReadIndex(c.IndexFile()); err != nil {
		t.Errorf("index lost: %v", err)
	}
}

func TestConflictStartsAfresh(t *testing.T) {
	s := newStore(t, Options{})
	c, _ := setup(t, s)
	// The upload now has a file where the context has a directory of
	// fetched deps: the sync cannot go over it, so the context is rebuilt.
	res := update(t, c, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "deps/fetched": {Content: "file"}}, false)
	if !res.Fresh || !strings.Contains(res.Why, "conflicts") {
		t.Errorf("result %+v", res)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{"mos.yml": {Content: "name: hello\n"}, "deps/fetched": {Content: "file"}})
}

func TestMissingIndexStartsAfresh(t *testing.T) {
	s := newStore(t, Options{})
	c, _ := setup(t, s)
	if err := os.Remove(c.IndexFile()); err != nil {
		t.Fatal(err)
	}
	res := update(t, c, testenv.Tree{"mos.yml": {Content: "y"}}, false)
	if !res.Fresh || res.Why != "no index of the previous upload" {
		t.Errorf("result %+v", res)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{"mos.yml": {Content: "y"}})
}

func TestPrepareAndFinish(t *testing.T) {
	s := newStore(t, Options{})
	c := lock(t, s, "ci_main")
	update(t, c, testenv.Tree{"mos.yml": {Content: "m"}}, false)
	params := "manifestadjustments:\n  platform: esp32\nclean: false\n"
	if err := c.Prepare([]byte(params)); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, c.Dir, testenv.Tree{
		"mos.yml":                 {Content: "m"},
		"build_params.yml":        {Content: params, Mode: 0o644},
		"tmp/":                    {},
		"build/gen/build_ctx.txt": {Content: "ci_main"},
	})
}

func TestLockSerialisesAcrossStores(t *testing.T) {
	// Two stores on one volumes dir stand for two server processes: the
	// lock is a flock on <name>.lock, which they share.
	waits := make(chan string, 1)
	a := newStore(t, Options{})
	b, err := NewStore(a.Root(), Options{OnLockWait: func(k Key, name string) { waits <- name }, LockPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	first := lock(t, a, "ci_main")
	got := make(chan *Context)
	go func() {
		c, err := b.Lock(context.Background(), key, "ci_main")
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	if name := <-waits; name != "ci_main" {
		t.Fatalf("waited for %q", name)
	}
	select {
	case <-got:
		t.Fatal("second store locked a context the first holds")
	default:
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := <-got
	if second == nil {
		t.Fatal("no context")
	}
	second.Close()

	// Other contexts are not blocked.
	other, err := b.Lock(context.Background(), key, "other")
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
}

func TestLockWaitEndsWithTheRequest(t *testing.T) {
	waits := make(chan string, 1)
	s := newStore(t, Options{OnLockWait: func(k Key, name string) { waits <- name }, LockPoll: time.Millisecond})
	held := lock(t, s, "ci_main")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := s.Lock(ctx, key, "ci_main")
		errc <- err
	}()
	<-waits
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Lock = %v, want context.Canceled", err)
	}
	held.Close()
}

func TestLockChecksNames(t *testing.T) {
	s := newStore(t, Options{})
	if _, err := s.Lock(context.Background(), key, "../x"); !errors.Is(err, ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := s.Lock(context.Background(), Key{"1", "..", "p"}, "x"); !errors.Is(err, ErrBadKey) {
		t.Errorf("bad key: %v", err)
	}
	entries, err := os.ReadDir(s.Root())
	if err != nil || len(entries) != 0 {
		t.Errorf("refused locks wrote %v (%v)", entries, err)
	}
}

// fillFrom makes a FillFunc that writes the asked files from tree into dir
// and records what was asked.
func fillFrom(t *testing.T, dir string, tree testenv.Tree, asked *[]string) FillFunc {
	return func(need []filetree.Entry) error {
		for _, e := range need {
			*asked = append(*asked, e.Path)
			testenv.WriteTree(t, dir, testenv.Tree{e.Path: tree[e.Path]})
		}
		return nil
	}
}

// listing lists tree without keeping the files: a plan's view.
func listing(t *testing.T, tree testenv.Tree) []filetree.Entry {
	t.Helper()
	_, list := upload(t, tree)
	return list
}

func TestUpdateFillsOnlyWhatItNeeds(t *testing.T) {
	c := lock(t, newStore(t, Options{}), "ctx")
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "src/a.c": {Content: "a"}, "src/b.c": {Content: "b"}, "tools/x.py": {Content: "#!", Mode: 0o644}}
	var asked []string
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(src, 0o755)
	res, err := c.Update(src, listing(t, v1), false, fillFrom(t, src, v1, &asked))
	c.Done()
	if err != nil || !res.Fresh {
		t.Fatalf("first update: %+v, %v", res, err)
	}
	if len(asked) != 4 {
		t.Errorf("a new context asked for %v, want every file", asked)
	}

	v2 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "src/a.c": {Content: "a changed"}, "src/b.c": {Content: "b"},
		"tools/x.py": {Content: "#!", Mode: 0o755}, "src/new.c": {Content: "new"}}
	asked = nil
	src = filepath.Join(t.TempDir(), "src")
	os.MkdirAll(src, 0o755)
	if _, err := c.Update(src, listing(t, v2), false, fillFrom(t, src, v2, &asked)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, " ") != "src/a.c src/new.c" {
		t.Errorf("an incremental update asked for %v, want only the changed and new contents", asked)
	}
	testenv.CheckTree(t, c.Dir, v2)
}

func TestUpdateFillErrorLeavesContext(t *testing.T) {
	c := lock(t, newStore(t, Options{}), "ctx")
	v1 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "src/a.c": {Content: "a"}}
	update(t, c, v1, false)
	boom := errors.New("blob missing")
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(src, 0o755)
	v2 := testenv.Tree{"mos.yml": {Content: "name: hello"}, "src/a.c": {Content: "a2"}}
	_, err := c.Update(src, listing(t, v2), false, func([]filetree.Entry) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the fill's error", err)
	}
	testenv.CheckTree(t, c.Dir, v1)
	if c.Dirty() {
		t.Error("a fill error marked the context dirty")
	}
}
