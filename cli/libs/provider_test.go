package libs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// syncBuffer is a log sink safe to read while a provider writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is an app dir plus origin repos under one temp root.
type fixture struct {
	t    *testing.T
	root string
	app  string
	log  syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testenv.RequireTool(t, "git")
	root := t.TempDir()
	f := &fixture{t: t, root: root, app: filepath.Join(root, "app")}
	if err := os.MkdirAll(f.app, 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// provider returns a provider for the fixture's app: interval 1h, isolated
// git, logging into f.log; edit adjusts the options.
func (f *fixture) provider(edit func(o *Options)) *Provider {
	f.t.Helper()
	o := Options{
		AppDir:         f.app,
		UpdateInterval: time.Hour,
		GitEnv:         testenv.GitEnv(),
		Log:            &f.log,
	}
	if edit != nil {
		edit(&o)
	}
	p, err := New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// origin creates origin repo name with tree and returns its URL.
func (f *fixture) origin(name string, tree testenv.Tree) string {
	f.t.Helper()
	return testenv.GitRepo(f.t, f.originDir(name), tree)
}

func (f *fixture) originDir(name string) string {
	return filepath.Join(f.root, "origin", name)
}

// commit commits tree on top of the current branch of origin name and
// returns the new HEAD.
func (f *fixture) commit(name string, tree testenv.Tree) string {
	f.t.Helper()
	dir := f.originDir(name)
	testenv.WriteTree(f.t, dir, tree)
	testenv.Git(f.t, dir, "add", "-A")
	testenv.Git(f.t, dir, "commit", "-q", "-m", "change")
	return testenv.Git(f.t, dir, "rev-parse", "HEAD")
}

func (f *fixture) head(dir string) string {
	f.t.Helper()
	return testenv.Git(f.t, dir, "rev-parse", "HEAD")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// age sets the mtime of dir to d ago.
func age(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	t.Run("relative_app_dir", func(t *testing.T) {
		_, err := New(Options{AppDir: "app"})
		if err == nil || !strings.Contains(err.Error(), `app dir "app" is not an absolute path`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		p, err := New(Options{AppDir: "/a/app", LibsDirs: []string{"l", "/x/l"}, CacheDir: "c"})
		if err != nil {
			t.Fatal(err)
		}
		o := p.opts
		want := Options{DepsDir: "/a/app/deps", ModulesDir: "/a/app/deps/modules", BinaryLibsDir: "/a/app/build/objs", CacheDir: "/a/app/c"}
		if o.DepsDir != want.DepsDir || o.ModulesDir != want.ModulesDir || o.BinaryLibsDir != want.BinaryLibsDir || o.CacheDir != want.CacheDir {
			t.Errorf("dirs = %q %q %q %q", o.DepsDir, o.ModulesDir, o.BinaryLibsDir, o.CacheDir)
		}
		if strings.Join(o.LibsDirs, ",") != "/a/app/l,/x/l" {
			t.Errorf("libs dirs = %q", o.LibsDirs)
		}
	})
}

func TestLibVersions(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v: 1\n"}})
	odir := f.originDir("sensors")
	first := f.head(odir)
	testenv.Git(t, odir, "tag", "1.0")
	second := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 2\n"}})
	testenv.Git(t, odir, "checkout", "-q", "-b", "dev")
	dev := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: dev\n"}})
	testenv.Git(t, odir, "checkout", "-q", "master")

	cases := []struct {
		name, version, defVersion string
		wantHash, wantContent     string
	}{
		{"default_latest_is_master", "", "latest", second, "v: 2\n"},
		{"master", "master", "1.0", second, "v: 2\n"},
		{"tag", "1.0", "latest", first, "v: 1\n"},
		{"default_version_tag", "", "1.0", first, "v: 1\n"},
		{"other_branch", "dev", "latest", dev, "v: dev\n"},
		{"full_hash", first, "latest", first, "v: 1\n"},
		{"abbreviated_hash", first[:8], "latest", first, "v: 1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.provider(func(o *Options) { o.DepsDir = filepath.Join(f.root, "deps-"+c.name) })
			ref := &manifest.Dep{Name: "sensors", Location: url, Version: c.version}
			got, err := p.Lib(context.Background(), ref, f.app, c.defVersion, "esp32")
			if err != nil {
				t.Fatal(err)
			}
			wantDir := filepath.Join(f.root, "deps-"+c.name, "sensors")
			if got.Dir != wantDir || got.RepoVersion != c.wantHash || got.RepoDirty {
				t.Errorf("got %+v, want dir %s hash %s", got, wantDir, c.wantHash)
			}
			if s := readFile(t, filepath.Join(wantDir, "mos.yml")); s != c.wantContent {
				t.Errorf("mos.yml = %q, want %q", s, c.wantContent)
			}
			if f.head(wantDir) != c.wantHash {
				t.Errorf("HEAD of the clone is not %s", c.wantHash)
			}
			if ref.Location != url {
				t.Errorf("location rewritten to %q", ref.Location)
			}
			// A second call finds everything in place.
			again, err := p.Lib(context.Background(), ref, f.app, c.defVersion, "esp32")
			if err != nil || again != got {
				t.Errorf("second call: %+v, %v", again, err)
			}
		})
	}

	t.Run("switch_versions_in_one_clone", func(t *testing.T) {
		p := f.provider(func(o *Options) { o.DepsDir = filepath.Join(f.root, "deps-switch") })
		for _, v := range []struct{ version, hash string }{{"1.0", first}, {"latest", second}, {"dev", dev}, {first, first}, {"master", second}} {
			got, err := p.Lib(context.Background(), &manifest.Dep{Location: url, Version: v.version}, f.app, "latest", "")
			if err != nil {
				t.Fatalf("%s: %v", v.version, err)
			}
			if got.RepoVersion != v.hash {
				t.Errorf("%s: at %s, want %s", v.version, got.RepoVersion, v.hash)
			}
		}
	})

	t.Run("hash_no_branch_reaches", func(t *testing.T) {
		testenv.Git(t, odir, "checkout", "-q", "-b", "gone")
		lost := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: lost\n"}})
		testenv.Git(t, odir, "checkout", "-q", "master")
		testenv.Git(t, odir, "branch", "-q", "-D", "gone")
		p := f.provider(func(o *Options) { o.DepsDir = filepath.Join(f.root, "deps-lost") })
		got, err := p.Lib(context.Background(), &manifest.Dep{Location: url, Version: lost}, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != lost || readFile(t, filepath.Join(got.Dir, "mos.yml")) != "v: lost\n" {
			t.Errorf("got %+v", got)
		}
	})
}

func TestLibSubDir(t *testing.T) {
	f := newFixture(t)
	url := f.origin("multi.git", testenv.Tree{"a/mos.yml": {Content: "a\n"}, "b/mos.yml": {Content: "b\n"}})
	p := f.provider(nil)
	for _, sub := range []string{"a", "b"} {
		got, err := p.Lib(context.Background(), &manifest.Dep{Location: url + "/" + sub}, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(f.app, "deps", "multi", sub); got.Dir != want {
			t.Errorf("dir = %s, want %s", got.Dir, want)
		}
	}
	_, err := p.Lib(context.Background(), &manifest.Dep{Location: url + "/c"}, f.app, "latest", "")
	if err == nil || !strings.Contains(err.Error(), `lib "c": "c" does not exist in `+filepath.Join(f.app, "deps", "multi")) {
		t.Errorf("err = %v", err)
	}
}

func TestLibUpdate(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v: 1\n"}})
	objs := filepath.Join(f.app, "build", "objs")
	p := f.provider(nil)
	ref := &manifest.Dep{Location: url}
	got, err := p.Lib(context.Background(), ref, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	first := got.RepoVersion
	clone := got.Dir

	second := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 2\n"}})
	testenv.WriteTree(t, objs, testenv.Tree{"libsensors-esp32-latest.a": {Content: "bin"}, "libother-esp32-latest.a": {Content: "bin"}})

	t.Run("interval_not_elapsed", func(t *testing.T) {
		age(t, clone, 59*time.Minute)
		got, err := p.Lib(context.Background(), ref, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != first || readFile(t, filepath.Join(clone, "mos.yml")) != "v: 1\n" {
			t.Errorf("pulled although the clone is recent: %+v", got)
		}
		if _, err := os.Stat(filepath.Join(objs, "libsensors-esp32-latest.a")); err != nil {
			t.Errorf("prebuilt binary removed without an update: %v", err)
		}
	})
	t.Run("interval_elapsed", func(t *testing.T) {
		age(t, clone, 61*time.Minute)
		got, err := p.Lib(context.Background(), ref, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != second || readFile(t, filepath.Join(clone, "mos.yml")) != "v: 2\n" {
			t.Errorf("not pulled: %+v", got)
		}
		fi, err := os.Stat(clone)
		if err != nil || time.Since(fi.ModTime()) > time.Minute {
			t.Errorf("clone mtime not refreshed after the pull: %v %v", fi.ModTime(), err)
		}
		if _, err := os.Stat(filepath.Join(objs, "libsensors-esp32-latest.a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale prebuilt binary of the updated lib kept: %v", err)
		}
		if _, err := os.Stat(filepath.Join(objs, "libother-esp32-latest.a")); err != nil {
			t.Errorf("binary of another lib removed: %v", err)
		}
	})
	t.Run("interval_zero_never_pulls", func(t *testing.T) {
		third := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 3\n"}})
		age(t, clone, 100*time.Hour)
		p0 := f.provider(func(o *Options) { o.UpdateInterval = 0 })
		got, err := p0.Lib(context.Background(), ref, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != second {
			t.Errorf("interval 0 pulled: at %s (origin at %s)", got.RepoVersion, third)
		}
	})
}

func TestLibDirty(t *testing.T) {
	cases := []struct {
		name  string
		dirty func(t *testing.T, dir string)
		want  bool
	}{
		{"modified", func(t *testing.T, dir string) {
			testenv.WriteTree(t, dir, testenv.Tree{"mos.yml": {Content: "mine\n"}})
		}, true},
		{"untracked", func(t *testing.T, dir string) {
			testenv.WriteTree(t, dir, testenv.Tree{"new.c": {Content: "x"}})
		}, true},
		{"deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "src.c")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"staged", func(t *testing.T, dir string) {
			testenv.WriteTree(t, dir, testenv.Tree{"src.c": {Content: "staged"}})
			testenv.Git(t, dir, "add", "src.c")
		}, true},
		{"local_commit", func(t *testing.T, dir string) {
			testenv.WriteTree(t, dir, testenv.Tree{"src.c": {Content: "committed"}})
			testenv.Git(t, dir, "commit", "-q", "-am", "mine")
		}, true},
		{"fetched_binary_lib_only", func(t *testing.T, dir string) {
			testenv.WriteTree(t, dir, testenv.Tree{"lib/esp32/libsensors.a": {Content: "bin"}})
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v: 1\n"}, "src.c": {Content: "int x;\n"}})
			p := f.provider(nil)
			ref := &manifest.Dep{Location: url}
			got, err := p.Lib(context.Background(), ref, f.app, "latest", "")
			if err != nil {
				t.Fatal(err)
			}
			c.dirty(t, got.Dir)
			local := f.head(got.Dir)
			f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 2\n"}})
			age(t, got.Dir, 2*time.Hour)
			before := testenv.ReadTree(t, got.Dir)

			again, err := p.Lib(context.Background(), ref, f.app, "latest", "")
			if err != nil {
				t.Fatal(err)
			}
			if again.RepoDirty != c.want {
				t.Fatalf("dirty = %v, want %v (%+v)", again.RepoDirty, c.want, again)
			}
			if c.want {
				if again.RepoVersion != local {
					t.Errorf("repo version %s, want the local HEAD %s", again.RepoVersion, local)
				}
				testenv.CheckTree(t, got.Dir, before)
				if !strings.Contains(f.log.String(), "has local changes, leaving it as it is") {
					t.Errorf("log does not report the dirty clone:\n%s", f.log.String())
				}
			} else if readFile(t, filepath.Join(got.Dir, "mos.yml")) != "v: 2\n" {
				t.Errorf("clean clone not updated")
			}
		})
	}
}

func TestLibOriginChange(t *testing.T) {
	f := newFixture(t)
	urlA := f.origin("a/sensors", testenv.Tree{"mos.yml": {Content: "from a\n"}})
	urlB := f.origin("b/sensors", testenv.Tree{"mos.yml": {Content: "from b\n"}})
	p := f.provider(nil)
	got, err := p.Lib(context.Background(), &manifest.Dep{Location: urlA}, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	got2, err := p.Lib(context.Background(), &manifest.Dep{Location: urlB}, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	if got2.Dir != got.Dir {
		t.Fatalf("dirs differ: %s %s", got.Dir, got2.Dir)
	}
	if s := readFile(t, filepath.Join(got.Dir, "mos.yml")); s != "from b\n" {
		t.Errorf("mos.yml = %q after the origin changed", s)
	}
	if o := testenv.Git(t, got.Dir, "config", "--get", "remote.origin.url"); o != urlB {
		t.Errorf("origin = %s", o)
	}
	if got2.RepoVersion != f.head(f.originDir("b/sensors")) {
		t.Errorf("repo version %s", got2.RepoVersion)
	}
}

func TestLibNotGitDir(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v\n"}})
	t.Run("non_empty_used_as_is", func(t *testing.T) {
		testenv.WriteTree(t, filepath.Join(f.app, "deps", "sensors"), testenv.Tree{"mine.txt": {Content: "x"}})
		got, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got != (manifest.Fetched{Dir: filepath.Join(f.app, "deps", "sensors")}) {
			t.Errorf("got %+v", got)
		}
		testenv.CheckTree(t, got.Dir, testenv.Tree{"mine.txt": {Content: "x"}})
	})
	t.Run("empty_is_cloned_into", func(t *testing.T) {
		dir := filepath.Join(f.root, "deps2", "sensors")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := f.provider(func(o *Options) { o.DepsDir = filepath.Join(f.root, "deps2") }).
			Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != f.head(f.originDir("sensors")) || readFile(t, filepath.Join(dir, "mos.yml")) != "v\n" {
			t.Errorf("got %+v", got)
		}
	})
}

func TestLibLookupOrder(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "git\n"}})
	urlOther := f.origin("other/sensors-fork", testenv.Tree{"mos.yml": {Content: "fork\n"}})
	libsDir1 := filepath.Join(f.root, "libs1")
	libsDir2 := filepath.Join(f.root, "libs2")
	testenv.WriteTree(t, libsDir1, testenv.Tree{"sensors/mos.yml": {Content: "libs1\n"}, "notadir": {Content: ""}})
	testenv.WriteTree(t, libsDir2, testenv.Tree{"sensors/mos.yml": {Content: "libs2\n"}, "boards/mos.yml": {Content: "b\n"}, "notadir/": {}})
	testenv.WriteTree(t, f.app, testenv.Tree{"mylibs/sensors/mos.yml": {Content: "custom\n"}, "local/thing/mos.yml": {Content: "local\n"}})

	cases := []struct {
		name    string
		opts    func(o *Options)
		ref     manifest.Dep
		wantDir string
		wantLoc string
	}{
		{"lib_path_beats_libs_dir", func(o *Options) {
			o.CustomLibs = map[string]string{"sensors": "mylibs/sensors"}
			o.LibsDirs = []string{libsDir1}
		}, manifest.Dep{Name: "sensors", Location: url}, filepath.Join(f.app, "mylibs", "sensors"), url},
		{"libs_dirs_in_order", func(o *Options) {
			o.LibsDirs = []string{filepath.Join(f.root, "none"), libsDir1, libsDir2}
		}, manifest.Dep{Name: "sensors", Location: url}, filepath.Join(libsDir1, "sensors"), url},
		{"libs_dir_entry_must_be_a_dir", func(o *Options) {
			o.LibsDirs = []string{libsDir1, libsDir2}
		}, manifest.Dep{Name: "notadir", Location: "local/thing"}, filepath.Join(libsDir2, "notadir"), "local/thing"},
		{"zz_boards_is_boards_in_libs_dir", func(o *Options) {
			o.LibsDirs = []string{libsDir2}
		}, manifest.Dep{Name: "zz_boards", Location: "https://github.com/mongoose-os-libs/boards"}, filepath.Join(libsDir2, "boards"), "https://github.com/mongoose-os-libs/boards"},
		{"lib_url_skips_libs_dir_and_replaces_location", func(o *Options) {
			o.CustomLibs = map[string]string{"sensors": urlOther}
			o.LibsDirs = []string{libsDir1}
		}, manifest.Dep{Name: "sensors", Location: url}, filepath.Join(f.app, "deps", "sensors-fork"), urlOther},
		{"git_into_deps", nil, manifest.Dep{Name: "sensors", Location: url}, filepath.Join(f.app, "deps", "sensors"), url},
		{"local_location_against_app_dir", nil, manifest.Dep{Location: "local/thing"}, filepath.Join(f.app, "local", "thing"), "local/thing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.provider(c.opts)
			ref := c.ref
			got, err := p.Lib(context.Background(), &ref, f.app, "latest", "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != c.wantDir {
				t.Errorf("dir = %s, want %s", got.Dir, c.wantDir)
			}
			if ref.Location != c.wantLoc {
				t.Errorf("location = %s, want %s", ref.Location, c.wantLoc)
			}
			isClone := strings.HasPrefix(got.Dir, filepath.Join(f.app, "deps"))
			if isClone != (got.RepoVersion != "") {
				t.Errorf("repo version %q for %s", got.RepoVersion, got.Dir)
			}
		})
	}
}

func TestLibErrors(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v\n"}})
	missing := testenv.FileURL(filepath.Join(f.root, "origin", "nosuch"))

	t.Run("missing_repo", func(t *testing.T) {
		_, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Name: "nosuch", Location: missing, Version: "2.20.0"}, f.app, "latest", "")
		want := `fetching lib "nosuch" (` + missing + ` @ 2.20.0): git clone: exit status 128: fatal: '` +
			filepath.Join(f.root, "origin", "nosuch") + `' does not appear to be a git repository fatal: Could not read from remote repository.`
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("err = %v\nwant %s...", err, want)
		}
		var ge *GitError
		if !errors.As(err, &ge) || ge.Args[0] != "clone" || exitCode(ge) != 128 {
			t.Errorf("not a GitError of git clone: %#v", ge)
		}
		if _, err := os.Stat(filepath.Join(f.app, "deps", "nosuch")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed clone left a dir behind: %v", err)
		}
	})
	t.Run("interval_zero_missing_clone", func(t *testing.T) {
		p := f.provider(func(o *Options) { o.UpdateInterval = 0 })
		_, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "2.20.0", "")
		dir := filepath.Join(f.app, "deps", "sensors")
		want := `fetching lib "sensors" (` + url + ` @ 2.20.0): sensors: Local copy in "` + dir + `" does not exist and fetching is not allowed`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		if !errors.Is(err, ErrFetchNotAllowed) {
			t.Errorf("not ErrFetchNotAllowed")
		}
		if strings.Contains(f.log.String(), "WARNING") {
			t.Errorf("retried although fetching is off:\n%s", f.log.String())
		}
	})
	t.Run("unknown_ref", func(t *testing.T) {
		_, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: url, Version: "nosuch"}, f.app, "latest", "")
		want := `fetching lib "sensors" (` + url + ` @ nosuch): git fetch: exit status 128: fatal: couldn't find remote ref nosuch`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})
	t.Run("strict_deps_versions", func(t *testing.T) {
		p := f.provider(func(o *Options) {
			o.DepsVersions = &protocol.DepsManifest{Libs: []*protocol.DepsManifestEntry{{Name: "other", RepoVersion: "abc"}}}
			o.StrictDepsVersions = true
		})
		_, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
		want := `lib "sensors" (` + url + `): not listed in --deps-versions (strict mode)`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})
}

func TestLibRetryLatest(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v\n"}})
	head := f.head(f.originDir("sensors"))

	t.Run("default_version_missing", func(t *testing.T) {
		got, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "2.20.0", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RepoVersion != head {
			t.Errorf("at %s, want master %s", got.RepoVersion, head)
		}
		if !strings.Contains(f.log.String(), `WARNING: lib "sensors" could not be fetched at version 2.20.0: fetching lib "sensors" (`+url+` @ 2.20.0): git fetch:`) {
			t.Errorf("no warning:\n%s", f.log.String())
		}
	})
	t.Run("explicit_version_is_not_retried", func(t *testing.T) {
		_, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: url, Version: "2.20.0"}, f.app, "latest", "")
		if err == nil || !strings.Contains(err.Error(), "@ 2.20.0): git fetch") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDepsVersionsForce(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v: 1\n"}})
	first := f.head(f.originDir("sensors"))
	f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 2\n"}})
	modURL := f.origin("mongoose-os", testenv.Tree{"fw/mos.yml": {Content: "core\n"}})
	modFirst := f.head(f.originDir("mongoose-os"))
	f.commit("mongoose-os", testenv.Tree{"fw/mos.yml": {Content: "core 2\n"}})

	p := f.provider(func(o *Options) {
		o.DepsVersions = &protocol.DepsManifest{
			Libs:    []*protocol.DepsManifestEntry{{Name: "sensors", RepoVersion: first}},
			Modules: []*protocol.DepsManifestEntry{{Name: "mongoose-os", RepoVersion: modFirst}},
		}
		o.StrictDepsVersions = true
	})
	got, err := p.Lib(context.Background(), &manifest.Dep{Location: url, Version: "master"}, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.RepoVersion != first {
		t.Errorf("lib at %s, want forced %s", got.RepoVersion, first)
	}
	gotm, err := p.Module(context.Background(), &manifest.Dep{Name: "mongoose-os", Location: modURL}, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	if gotm.RepoVersion != modFirst || gotm.Dir != filepath.Join(f.app, "deps", "modules", "mongoose-os") {
		t.Errorf("module %+v, want forced %s", gotm, modFirst)
	}

	t.Run("not_strict_logs", func(t *testing.T) {
		p := f.provider(func(o *Options) {
			o.DepsDir = filepath.Join(f.root, "deps-nonstrict")
			o.DepsVersions = &protocol.DepsManifest{}
		})
		if _, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", ""); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.log.String(), "sensors: not listed in --deps-versions") {
			t.Errorf("log:\n%s", f.log.String())
		}
	})
}

func TestModule(t *testing.T) {
	f := newFixture(t)
	url := f.origin("mongoose-os", testenv.Tree{"fw/mos.yml": {Content: "core\n"}})
	forkURL := f.origin("fork/mongoose-os", testenv.Tree{"fw/mos.yml": {Content: "fork\n"}})
	testenv.WriteTree(t, f.app, testenv.Tree{"mos-src/fw/mos.yml": {Content: "local\n"}})

	t.Run("default_location", func(t *testing.T) {
		ref := &manifest.Dep{Name: "mongoose-os"}
		p := f.provider(func(o *Options) { o.UpdateInterval = 0 })
		_, err := p.Module(context.Background(), ref, f.app, "latest", "")
		if ref.Location != DefaultMongooseOSLocation {
			t.Errorf("location = %q", ref.Location)
		}
		// No network: fetching is off, so the error names the dir.
		if !errors.Is(err, ErrFetchNotAllowed) || !strings.Contains(err.Error(), `(https://github.com/cesanta/mongoose-os @ latest)`) ||
			!strings.Contains(err.Error(), filepath.Join(f.app, "deps", "modules", "mongoose-os")) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("git_into_modules_dir", func(t *testing.T) {
		mods := filepath.Join(f.root, "mods")
		got, err := f.provider(func(o *Options) { o.ModulesDir = mods }).
			Module(context.Background(), &manifest.Dep{Name: "mongoose-os", Location: url}, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Dir != filepath.Join(mods, "mongoose-os") || readFile(t, filepath.Join(got.Dir, "fw", "mos.yml")) != "core\n" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("repo_path", func(t *testing.T) {
		ref := &manifest.Dep{Name: "mongoose-os", Location: url}
		got, err := f.provider(func(o *Options) { o.CustomModules = map[string]string{"mongoose-os": "mos-src"} }).
			Module(context.Background(), ref, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(f.app, "mos-src")
		if got != (manifest.Fetched{Dir: want}) || ref.Location != want {
			t.Errorf("got %+v, location %q", got, ref.Location)
		}
	})
	t.Run("module_url", func(t *testing.T) {
		ref := &manifest.Dep{Name: "mongoose-os", Location: url}
		got, err := f.provider(func(o *Options) {
			o.CustomModules = map[string]string{"mongoose-os": forkURL}
			o.ModulesDir = filepath.Join(f.root, "mods-fork")
		}).Module(context.Background(), ref, f.app, "latest", "")
		if err != nil {
			t.Fatal(err)
		}
		if ref.Location != forkURL || readFile(t, filepath.Join(got.Dir, "fw", "mos.yml")) != "fork\n" {
			t.Errorf("got %+v, location %q", got, ref.Location)
		}
	})
}

// A lib that cannot be found (a misspelled name, a wrong location) is
// named with a hint that fits: check the name and location, or give a
// local copy; not "mos update", which fits only when latest exists.
func TestLibNotFoundHint(t *testing.T) {
	f := newFixture(t)
	missing := testenv.FileURL(filepath.Join(f.root, "origin", "rcp"))
	_, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: missing}, f.app, "2.20.0", "")
	if err == nil {
		t.Fatal("a missing lib was found")
	}
	for _, want := range []string{`fetching lib "rcp" (` + missing + ` @ latest)`, `lib "rcp" cannot be fetched: check its name and location in mos.yml`, "--libs-dir", "--lib rcp:DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error()+f.log.String(), "mos update") {
		t.Errorf("the hint is about updating mos:\n%v\n%s", err, f.log.String())
	}
}
