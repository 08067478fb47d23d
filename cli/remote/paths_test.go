package remote

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
)

var (
	win  = pathSyntax{windows: true}
	unix = pathSyntax{windows: false}
)

func TestIsAbs(t *testing.T) {
	for _, tc := range []struct {
		ps   pathSyntax
		p    string
		want bool
	}{
		{win, `C:\Users\me\app`, true},
		{win, `c:/Users/me/app`, true},
		{win, `C:app`, false},
		{win, `\app`, false},
		{win, `\\srv\share\app`, true},
		{win, `app\src`, false},
		{win, `/home/u`, false},
		{unix, `/home/u`, true},
		{unix, `C:\Users`, false},
		{unix, `src`, false},
	} {
		if got := tc.ps.isAbs(tc.p); got != tc.want {
			t.Errorf("windows=%v isAbs(%q) = %v", tc.ps.windows, tc.p, got)
		}
	}
}

func TestResolveAndRel(t *testing.T) {
	app := `C:\Users\me\app`
	for _, tc := range []struct {
		entry  string
		joined string // win.join of the resolved path
		rel    string // slash path inside the app, "-" when outside
	}{
		{`src`, `C:\Users\me\app\src`, "src"},
		{`.\src\`, `C:\Users\me\app\src`, "src"},
		{`libs/greeting`, `C:\Users\me\app\libs\greeting`, "libs/greeting"},
		{`libs\greeting\..\greeting`, `C:\Users\me\app\libs\greeting`, "libs/greeting"},
		{`.`, `C:\Users\me\app`, ""},
		{`..\shared\src`, `C:\Users\me\shared\src`, "-"},
		{`../app2`, `C:\Users\me\app2`, "-"},
		{`c:\users\ME\APP\inc`, `c:\users\ME\APP\inc`, "inc"},
		{`D:\Users\me\app\src`, `D:\Users\me\app\src`, "-"},
		{`\Users\me\app\fs`, `C:\Users\me\app\fs`, "fs"},
		{`\\srv\share\lib`, `\\srv\share\lib`, "-"},
		{`..\..\..\..\..\x`, `C:\x`, "-"},
	} {
		p := win.resolve(app, tc.entry)
		if got := win.join(p); got != tc.joined {
			t.Errorf("resolve(%q) = %q, want %q", tc.entry, got, tc.joined)
		}
		rel, ok := win.relInside(win.resolve(app, "."), p)
		got := "-"
		if ok {
			got = slashJoin(rel...)
		}
		if got != tc.rel {
			t.Errorf("relInside(%q) = %q, want %q", tc.entry, got, tc.rel)
		}
	}
	// Unix: case matters, backslash is a name character.
	p := unix.resolve("/home/u/app", `../App/x`)
	if _, ok := unix.relInside(unix.resolve("/home/u/app", "."), p); ok || unix.join(p) != "/home/u/App/x" {
		t.Errorf("unix resolve %q", unix.join(p))
	}
}

func TestFlatName(t *testing.T) {
	for _, tc := range []struct {
		ps   pathSyntax
		dir  string
		glob bool
		want string
	}{
		{unix, "/home/u/shared/src", false, "_home_u_shared_src"},
		{unix, "/home/u/shared", true, "_home_u_shared_"},
		{unix, "/", true, "_"},
		{win, `C:\work\shared\src`, false, "C__work_shared_src"},
		{win, `C:\work\shared`, true, "C__work_shared_"},
		{win, `c:/work/shared/src/`, false, "c__work_shared_src"},
		{win, `\\srv\share\src`, false, "__srv_share_src"},
	} {
		if got := flatName(tc.ps.resolve(`C:\`, tc.dir), tc.glob); got != tc.want {
			t.Errorf("flatName(%q, %v) = %q, want %q", tc.dir, tc.glob, got, tc.want)
		}
	}
}

// fakeStat answers from a set of Windows dirs (case-insensitive).
func fakeStat(dirs ...string) func(string) (bool, error) {
	return func(p string) (bool, error) {
		for _, d := range dirs {
			if strings.EqualFold(d, p) {
				return true, nil
			}
		}
		if strings.HasSuffix(strings.ToLower(p), ".c") {
			return false, nil // a file
		}
		return false, fmt.Errorf("stat %s: %w", p, fs.ErrNotExist)
	}
}

// TestPlanWindowsPaths plans an upload from a Windows app dir: every name
// that reaches the zip or mos.yml is slash-separated.
func TestPlanWindowsPaths(t *testing.T) {
	m := &manifest.Manifest{
		Type:       "app",
		Sources:    []string{`src`, `src\sub`, `..\shared\src`, `C:\Users\me\shared\glob\*.c`, `D:\ext\one.c`},
		Includes:   []string{`include\`, `..\shared\src`},
		Filesystem: []string{`fs\*.html`},
		ExtraFiles: []string{`tools\x.bin`},
		Libs: []manifest.Dep{
			{Location: `libs\greeting`},
			{Origin: `C:\Users\me\mylib`},
			{Name: "two", Location: `..\..\other\lib2`},
			{Location: `https://github.com/mongoose-os-libs/boards`},
			{Location: `C:\Users\me\app\deep\x\lib3`},
		},
	}
	pl, err := makePlan(planInput{
		ps:       win,
		appDir:   `C:\Users\me\app`,
		buildDir: `C:\Users\me\app\build`,
		genDir:   `C:\Users\me\app\out\gen`,
		manifest: m,
		libs:     map[string]string{"foo": `C:\work\foo`, "git": "https://github.com/x/y"},
		modules:  map[string]string{"mongoose-os": `C:\src\mongoose-os`},
		stat:     fakeStat(`C:\Users\me\shared\src`, `C:\Users\me\shared\glob`, `D:\ext`),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTrees := map[string]string{
		"deps/foo":                 `C:\work\foo`,
		"deps/modules/mongoose-os": `C:\src\mongoose-os`,
		"C__Users_me_shared_src":   `C:\Users\me\shared\src`,
		"C__Users_me_shared_glob_": `C:\Users\me\shared\glob`,
		"D__ext_":                  `D:\ext`,
		"local_libs/mylib":         `C:\Users\me\mylib`,
		"local_libs/two":           `C:\Users\other\lib2`,
	}
	if len(pl.trees) != len(wantTrees) {
		t.Errorf("trees %+v", pl.trees)
	}
	for _, tr := range pl.trees {
		if wantTrees[tr.prefix] != tr.dir {
			t.Errorf("tree %q from %q, want from %q", tr.prefix, tr.dir, wantTrees[tr.prefix])
		}
	}
	wantSources := []string{`src`, `src/sub`, "C__Users_me_shared_src", "C__Users_me_shared_glob_/*.c", "D__ext_/one.c"}
	if strings.Join(m.Sources, "|") != strings.Join(wantSources, "|") {
		t.Errorf("sources %q, want %q (in-tree entries with slashes)", m.Sources, wantSources)
	}
	if m.Includes[0] != "include" || m.Filesystem[0] != "fs/*.html" {
		t.Errorf("includes %q, filesystem %q", m.Includes, m.Filesystem)
	}
	if m.Includes[1] != "C__Users_me_shared_src" {
		t.Errorf("includes %q", m.Includes)
	}
	var locs []string
	for _, l := range m.Libs {
		locs = append(locs, l.Location+"~"+l.Origin)
	}
	wantLocs := "libs/greeting~|local_libs/mylib~|local_libs/two~|https://github.com/mongoose-os-libs/boards~|deep/x/lib3~"
	if strings.Join(locs, "|") != wantLocs {
		t.Errorf("lib locations %q, want %q", strings.Join(locs, "|"), wantLocs)
	}
	if len(pl.libs) != 1 || pl.libs["git"] != "https://github.com/x/y" || len(pl.modules) != 0 {
		t.Errorf("kept custom locations %v %v", pl.libs, pl.modules)
	}
	for _, tc := range []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"mos.yml", false, true},
		{"src", true, true},
		{"src/main.c", false, true},
		{"include/x.h", false, true},
		{"fs/index.html", false, true},
		{"tools/x.bin", false, true},
		{"libs/greeting/src/g.c", false, true},
		{"libs/other/x.c", false, false},
		{"deep/x/lib3/mos.yml", false, true},
		{"deep/y", true, false},
		{"deps/bar/x.c", false, true},
		{"local_libs/z/mos.yml", false, true},
		{"README.md", false, false},
	} {
		if got := pl.whitelist.covers(tc.rel, tc.isDir); got != tc.want {
			t.Errorf("covers(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
	if !pl.whitelist.leadsTo("libs") || !pl.whitelist.leadsTo("deep/x") || pl.whitelist.leadsTo("src/sub") {
		t.Error("leadsTo wrong")
	}
	for _, ex := range []string{"build", "out/gen", "mos.yml", "deps/foo", "deps/modules/mongoose-os", "local_libs/mylib"} {
		if !pl.exclude[ex] {
			t.Errorf("%s not excluded (%v)", ex, pl.exclude)
		}
	}
	// Nothing that reaches the zip or mos.yml has a backslash.
	for _, tr := range pl.trees {
		if strings.ContainsRune(tr.prefix, '\\') {
			t.Errorf("zip prefix %q", tr.prefix)
		}
	}
	for _, l := range m.Libs {
		if strings.ContainsRune(l.Location, '\\') {
			t.Errorf("lib location %q", l.Location)
		}
	}
	for _, s := range append(append(m.Sources, m.Includes...), m.Filesystem...) {
		if strings.ContainsRune(s, '\\') {
			t.Errorf("rewritten source %q", s)
		}
	}
	for p := range pl.whitelist.paths {
		if strings.ContainsRune(p, '\\') {
			t.Errorf("whitelist path %q", p)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		m    *manifest.Manifest
		libs map[string]string
		want string
	}{
		"type":         {&manifest.Manifest{Type: "bin"}, nil, `invalid project type: "bin"`},
		"space":        {&manifest.Manifest{Type: "app", Name: "my app"}, nil, "should not contain spaces"},
		"missing dir":  {&manifest.Manifest{Type: "app", Sources: []string{`..\gone\*.c`}}, nil, `mos.yml: sources[0] "..\\gone\\*.c"`},
		"same name":    {&manifest.Manifest{Type: "app", Libs: []manifest.Dep{{Location: `..\a\lib`}, {Location: `..\b\lib`}}}, nil, `two local libs named "lib"`},
		"app as lib":   {&manifest.Manifest{Type: "app", Libs: []manifest.Dep{{Location: `.`}}}, nil, "is the app dir itself"},
		"bad lib name": {&manifest.Manifest{Type: "app"}, map[string]string{`a\b`: `C:\x`}, "--lib name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := makePlan(planInput{ps: win, appDir: `C:\app`, manifest: tc.m, libs: tc.libs, stat: fakeStat()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
