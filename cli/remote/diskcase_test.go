package remote

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// fakeDisk is a file system of Windows or Unix paths as the disk spells
// them (dirs end in a separator); with foldCase it resolves names in any
// case, as NTFS and APFS do.
type fakeDisk struct {
	ps       pathSyntax
	foldCase bool
	entries  map[string]bool // path -> is dir
}

func newFakeDisk(ps pathSyntax, foldCase bool, paths ...string) *fakeDisk {
	d := &fakeDisk{ps: ps, foldCase: foldCase, entries: map[string]bool{}}
	for _, p := range paths {
		isDir := strings.HasSuffix(p, ps.sep())
		a := ps.resolve(p, ".")
		for i := 1; i <= len(a.parts); i++ {
			sub := ps.join(absPath{vol: a.vol, parts: a.parts[:i]})
			d.entries[sub] = d.entries[sub] || i < len(a.parts) || isDir
		}
	}
	return d
}

func (d *fakeDisk) find(p string) (string, bool) {
	want := d.ps.join(d.ps.resolve(p, "."))
	for e := range d.entries {
		if e == want || (d.foldCase && strings.EqualFold(e, want)) {
			return e, true
		}
	}
	if len(d.ps.resolve(p, ".").parts) == 0 {
		return want, true // a root
	}
	return "", false
}

func (d *fakeDisk) stat(p string) (bool, error) {
	e, ok := d.find(p)
	if !ok {
		return false, fmt.Errorf("stat %s: %w", p, fs.ErrNotExist)
	}
	return d.entries[e] || len(d.ps.resolve(p, ".").parts) == 0, nil
}

func (d *fakeDisk) readDir(p string) ([]string, error) {
	dir, ok := d.find(p)
	if !ok || !(d.entries[dir] || len(d.ps.resolve(p, ".").parts) == 0) {
		return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
	}
	base := d.ps.resolve(dir, ".")
	var names []string
	for e := range d.entries {
		a := d.ps.resolve(e, ".")
		if len(a.parts) == len(base.parts)+1 && d.ps.join(absPath{vol: a.vol, parts: a.parts[:len(base.parts)]}) == d.ps.join(base) {
			names = append(names, a.parts[len(a.parts)-1])
		}
	}
	return names, nil
}

func (d *fakeDisk) plan(t *testing.T, appDir string, m *manifest.Manifest) (*plan, error) {
	t.Helper()
	return makePlan(planInput{ps: d.ps, appDir: appDir, buildDir: d.ps.join(d.ps.resolve(appDir, "build")), manifest: m, stat: d.stat, readDir: d.readDir})
}

// On Windows, in-app entries reach the server with slashes and in the
// disk's case, the upload filter matches what is on disk, and an entry
// that matches nothing is a warning naming it.
func TestPlanInAppEntriesAsOnDisk(t *testing.T) {
	disk := newFakeDisk(win, true,
		`C:\Users\me\hello\src\main.c`, `C:\Users\me\hello\src\Extra\x.c`,
		`C:\Users\me\hello\include\h.h`, `C:\Users\me\hello\fs\index.html`, `C:\Users\me\hello\mos.yml`)
	m := &manifest.Manifest{
		Type:       "app",
		Sources:    []string{`SRC`, `src\extra`, `c:\users\ME\Hello\src\`, `gone`, `.`},
		Includes:   []string{`.\Include\`},
		Filesystem: []string{`FS\*.html`, `fs\*.none`},
	}
	pl, err := disk.plan(t, `c:\users\me\HELLO`, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.Sources, "|"), "src|src/Extra|src|gone|."; got != want {
		t.Errorf("sources %q, want %q", got, want)
	}
	if m.Includes[0] != "include" || m.Filesystem[0] != "fs/*.html" || m.Filesystem[1] != "fs/*.none" {
		t.Errorf("includes %q, filesystem %q", m.Includes, m.Filesystem)
	}
	for _, rel := range []string{"src/main.c", "src/Extra/x.c", "include/h.h", "fs/index.html"} {
		if !pl.whitelist.covers(rel, false) {
			t.Errorf("%s (as on disk) is not uploaded", rel)
		}
	}
	if !pl.exclude["build"] {
		t.Errorf("build not excluded: %v", pl.exclude)
	}
	want := []string{`mos.yml: sources[3] "gone" matches nothing`, `mos.yml: filesystem[1] "fs\\*.none" matches nothing`}
	if strings.Join(pl.warnings, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", pl.warnings, want)
	}
}

// On Linux (case matters) a name in other case is not the dir: a
// warning, and the entry is sent as written.
func TestPlanCaseMattersOnUnix(t *testing.T) {
	disk := newFakeDisk(unix, false, "/home/u/app/src/main.c", "/home/u/app/mos.yml")
	m := &manifest.Manifest{Type: "app", Sources: []string{"SRC", "src", "./src/"}, Includes: []string{"/home/u/app/src"}}
	pl, err := disk.plan(t, "/home/u/app", m)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Sources, "|"); got != "SRC|src|./src/" {
		t.Errorf("sources %q", got)
	}
	if m.Includes[0] != "src" {
		t.Errorf("an absolute in-app include is sent as %q, want src", m.Includes[0])
	}
	if strings.Join(pl.warnings, "|") != `mos.yml: sources[0] "SRC" matches nothing` {
		t.Errorf("warnings %q", pl.warnings)
	}
	// With a case-blind file system (macOS) the disk's case is sent.
	disk.foldCase = true
	m = &manifest.Manifest{Type: "app", Sources: []string{"SRC"}}
	if pl, err = disk.plan(t, "/home/u/app", m); err != nil || m.Sources[0] != "src" || len(pl.warnings) != 0 {
		t.Errorf("case-blind disk: sources %q, warnings %q, err %v", m.Sources, pl.warnings, err)
	}
}

// Two entries of a dir differing only in case cannot be told apart by a
// name in a third case: refused, naming the entry.
func TestPlanAmbiguousCase(t *testing.T) {
	disk := newFakeDisk(win, true, `C:\app\Src\a.c`, `C:\app\src\b.c`)
	_, err := disk.plan(t, `C:\app`, &manifest.Manifest{Type: "app", Sources: []string{`SRC`}})
	if err == nil || !strings.Contains(err.Error(), `mos.yml: sources[0] "SRC": "SRC" matches`) || !strings.Contains(err.Error(), "differ only in case") {
		t.Errorf("err = %v", err)
	}
}

// The caches' key of an app dir is one spelling: the disk's case and an
// upper-case drive letter.
func TestCanonicalDir(t *testing.T) {
	disk := newFakeDisk(win, true, `C:\Users\me\hello\mos.yml`)
	fsys := diskFS{stat: disk.stat, readDir: disk.readDir}
	for _, typed := range []string{`c:\users\ME\HELLO`, `C:\Users\me\hello\`, `c:/Users/me/./hello`} {
		if got := win.canonical(typed, fsys); got != `C:\Users\me\hello` {
			t.Errorf("canonical(%q) = %q", typed, got)
		}
	}
	if got := win.canonical(`d:\not\there`, fsys); got != `D:\not\there` {
		t.Errorf("missing dir: %q", got)
	}
	udisk := newFakeDisk(unix, false, "/home/u/App/mos.yml")
	if got := unix.canonical("/home/u/App/", diskFS{stat: udisk.stat, readDir: udisk.readDir}); got != "/home/u/App" {
		t.Errorf("unix: %q", got)
	}
}

// A build of an app with a sources entry that matches nothing warns,
// naming the entry; the upload holds what is on disk.
func TestBuildWarnsOfEntryMatchingNothing(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	if exists(filepath.Join(e.app, "SRC")) {
		t.Skip("this file system ignores case: Src is src here")
	}
	testenv.WriteTree(t, e.app, testenv.Tree{"mos.yml": {Content: strings.Replace(demoYML, "  - src\n", "  - src\n  - ./src/\n  - Src\n", 1)}})
	e.build(e.req(ts.URL))
	if !strings.Contains(e.log.String(), `Warning: mos.yml: sources[2] "Src" matches nothing`) || strings.Contains(e.log.String(), "sources[1]") {
		t.Errorf("log:\n%s", e.log)
	}
	if _, ok := srv.last().upload["src/main.c"]; !ok {
		t.Errorf("upload %v", srv.last().zipNames)
	}
}
