package libs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// mirrorDirs lists the mirrors in cache.
func mirrorDirs(t *testing.T, cache string) []string {
	t.Helper()
	ents, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

func TestCacheSharedBetweenDepsDirs(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v: 1\n"}})
	odir := f.originDir("sensors")
	first := f.head(odir)
	testenv.Git(t, odir, "tag", "1.0")
	second := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 2\n"}})
	cache := filepath.Join(f.root, "cache")
	inContext := func(name string) *Provider {
		return f.provider(func(o *Options) {
			o.DepsDir = filepath.Join(f.root, name, "deps")
			o.CacheDir = cache
		})
	}
	fetch := func(t *testing.T, p *Provider, version string) manifest.Fetched {
		t.Helper()
		got, err := p.Lib(context.Background(), &manifest.Dep{Location: url, Version: version}, f.app, "latest", "")
		if err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		return got
	}

	a := fetch(t, inContext("a"), "1.0")
	if a.RepoVersion != first || a.Dir != filepath.Join(f.root, "a", "deps", "sensors") {
		t.Fatalf("context a: %+v", a)
	}
	mirrors := mirrorDirs(t, cache)
	if len(mirrors) != 1 || !regexp.MustCompile(`^[0-9a-f]{20}-sensors\.git$`).MatchString(mirrors[0]) {
		t.Fatalf("mirrors: %q", mirrors)
	}
	mirror := filepath.Join(cache, mirrors[0])

	// The origin goes away: other contexts are served by the mirror.
	if err := os.Rename(odir, odir+".away"); err != nil {
		t.Fatal(err)
	}
	logBefore := f.log.String()
	b := fetch(t, inContext("b"), "1.0")
	c := fetch(t, inContext("c"), "latest")
	if b.RepoVersion != first || readFile(t, filepath.Join(b.Dir, "mos.yml")) != "v: 1\n" {
		t.Errorf("context b: %+v", b)
	}
	if c.RepoVersion != second || readFile(t, filepath.Join(c.Dir, "mos.yml")) != "v: 2\n" {
		t.Errorf("context c: %+v", c)
	}
	if newLog := strings.TrimPrefix(f.log.String(), logBefore); strings.Contains(newLog, "cache mirror") {
		t.Errorf("mirror fetched again:\n%s", newLog)
	}
	for _, dir := range []string{b.Dir, c.Dir} {
		if o := testenv.Git(t, dir, "config", "--get", "remote.origin.url"); o != url {
			t.Errorf("%s: origin %s, want %s", dir, o, url)
		}
	}
	if err := os.Rename(odir+".away", odir); err != nil {
		t.Fatal(err)
	}

	t.Run("missing_ref_fetches_the_mirror", func(t *testing.T) {
		third := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 3\n"}})
		testenv.Git(t, odir, "tag", "2.0")
		logBefore := f.log.String()
		d := fetch(t, inContext("d"), "2.0")
		if d.RepoVersion != third {
			t.Errorf("context d: %+v, want %s", d, third)
		}
		if !strings.Contains(strings.TrimPrefix(f.log.String(), logBefore), "updating cache mirror of "+url) {
			t.Errorf("log:\n%s", f.log.String())
		}
	})

	t.Run("pull_goes_through_the_mirror_per_interval", func(t *testing.T) {
		third := f.head(odir)
		fourth := f.commit("sensors", testenv.Tree{"mos.yml": {Content: "v: 4\n"}})
		// c's clone is due for a pull, the mirror is not: c gets what the
		// mirror has.
		age(t, c.Dir, 2*time.Hour)
		if got := fetch(t, inContext("c"), "latest"); got.RepoVersion != third {
			t.Errorf("with a fresh mirror: at %s, want %s", got.RepoVersion, third)
		}
		age(t, c.Dir, 2*time.Hour)
		age(t, mirror, 2*time.Hour)
		if got := fetch(t, inContext("c"), "latest"); got.RepoVersion != fourth {
			t.Errorf("with a stale mirror: at %s, want %s", got.RepoVersion, fourth)
		}
	})

	t.Run("clones_do_not_depend_on_the_mirror", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(b.Dir, ".git", "objects", "info", "alternates")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("clone borrows objects: %v", err)
		}
		if err := os.RemoveAll(cache); err != nil {
			t.Fatal(err)
		}
		testenv.Git(t, b.Dir, "fsck", "--strict")
		if got := testenv.Git(t, b.Dir, "rev-parse", "HEAD"); got != first {
			t.Errorf("HEAD %s", got)
		}
	})
}

func TestCacheCreateFailure(t *testing.T) {
	f := newFixture(t)
	missing := testenv.FileURL(filepath.Join(f.root, "origin", "nosuch"))
	cache := filepath.Join(f.root, "cache")
	p := f.provider(func(o *Options) { o.CacheDir = cache })
	_, err := p.Lib(context.Background(), &manifest.Dep{Location: missing}, f.app, "latest", "")
	want := `fetching lib "nosuch" (` + missing + ` @ latest): creating cache mirror ` + cache + string(filepath.Separator)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "-nosuch.git: git clone: exit status 128: fatal: ") {
		t.Fatalf("err = %v\nwant %s...", err, want)
	}
	if dirs := mirrorDirs(t, cache); len(dirs) != 0 {
		t.Errorf("left behind: %q", dirs)
	}
}
