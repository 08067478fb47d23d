package manifest_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// The example of manifest.md §10: libs order with alphabetical roots, and
// init order with globs and weak deps.
func TestLibsAndInitOrder(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml(
			"manifest_version: 2020-08-02",
			"libs:",
			"  - location: https://github.com/o/b_lib",
			"  - location: https://github.com/o/a_lib",
		),
		"libs/a_lib/mos.yml": yml(
			"manifest_version: 2020-08-02",
			"sources: [src]",
			"libs: [{location: https://github.com/o/c_lib}]",
		),
		"libs/a_lib/src/a.c": {},
		"libs/b_lib/mos.yml": yml(
			"manifest_version: 2020-08-02",
			"sources: [src]",
			"init_after: [c_*, nosuch]",
			"init_before: [a_lib]",
		),
		"libs/b_lib/src/b.c": {},
		"libs/c_lib/mos.yml": yml("manifest_version: 2020-08-02", "sources: [src]"),
		"libs/c_lib/src/c.c": {},
	})
	m := resolve(t, req).Manifest

	if got, want := libNames(m), []string{"c_lib", "a_lib", "b_lib", "core"}; !reflect.DeepEqual(got, want) {
		t.Errorf("libs order %v, want %v", got, want)
	}
	if want := []string{"core", "c_lib", "b_lib", "a_lib"}; !reflect.DeepEqual(m.InitDeps, want) {
		t.Errorf("init order %v, want %v", m.InitDeps, want)
	}
	for name, want := range map[string][]string{
		"a_lib": {"b_lib", "c_lib", "core"},
		"b_lib": {"c_lib", "core"},
		"c_lib": {"core"},
		"core":  nil,
	} {
		if got := lib(m, name).InitDeps; len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s init_deps %v, want %v", name, got, want)
		}
	}
	// Sources follow libs order; the deps init file comes last.
	want := []string{"libs/c_lib/src/c.c", "libs/a_lib/src/a.c", "libs/b_lib/src/b.c", "app/build/gen/mgos_deps_init.c"}
	if got := rel(req.Cwd, m.Sources); !reflect.DeepEqual(got, want) {
		t.Errorf("sources %v, want %v", got, want)
	}
	// MGOS_HAVE_* lands in the first referring parent and reaches the
	// aggregate.
	for _, v := range []string{"MGOS_HAVE_A_LIB", "MGOS_HAVE_B_LIB", "MGOS_HAVE_C_LIB", "MGOS_HAVE_CORE"} {
		if m.BuildVars[v] != "1" || m.CDefs[v] != "1" {
			t.Errorf("%s: build var %q, cdef %q", v, m.BuildVars[v], m.CDefs[v])
		}
	}
}

// With all names after "app", the order is the post-order from the app
// (manifest.md §10.1, upstream's test_03).
func TestLibsOrderFromApp(t *testing.T) {
	tree := testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "libs:",
			"  - location: https://github.com/o/mylib3",
			"  - location: https://github.com/o/mylib2",
			"  - location: https://github.com/o/mylib1"),
		"libs/mylib3/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/mylib4}]"),
		"libs/mylib2/mos.yml": yml("manifest_version: 2020-08-02", "init_after: [mylib4]"),
		"libs/mylib1/mos.yml": yml("manifest_version: 2020-08-02"),
		"libs/mylib4/mos.yml": yml("manifest_version: 2020-08-02"),
	}
	req, _ := setup(t, tree)
	m := resolve(t, req).Manifest
	if got, want := libNames(m), []string{"core", "mylib1", "mylib2", "mylib4", "mylib3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("libs order %v, want %v", got, want)
	}
}

func TestCycles(t *testing.T) {
	t.Run("libs", func(t *testing.T) {
		req, _ := setup(t, testenv.Tree{
			"app/mos.yml":     yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/aa}]"),
			"libs/aa/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/bb}]"),
			"libs/bb/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/aa}]"),
		})
		err := resolveErr(t, req)
		var ce *manifest.CycleError
		if !errors.As(err, &ce) || ce.Init || err.Error() != "dependency cycle: aa -> bb -> aa" {
			t.Errorf("error %v, want the deps cycle aa -> bb -> aa", err)
		}
	})
	t.Run("init", func(t *testing.T) {
		req, _ := setup(t, testenv.Tree{
			"app/mos.yml": yml("manifest_version: 2020-08-02", "libs:",
				"  - location: https://github.com/o/xx", "  - location: https://github.com/o/yy"),
			"libs/xx/mos.yml": yml("manifest_version: 2020-08-02", "init_after: [yy]"),
			"libs/yy/mos.yml": yml("manifest_version: 2020-08-02", "init_after: [xx]"),
		})
		err := resolveErr(t, req)
		var ce *manifest.CycleError
		if !errors.As(err, &ce) || !ce.Init || err.Error() != "init dependency cycle: xx -> yy -> xx" {
			t.Errorf("error %v, want the init cycle xx -> yy -> xx", err)
		}
	})
	t.Run("init_before matching itself", func(t *testing.T) {
		req, _ := setup(t, testenv.Tree{
			"app/mos.yml":        yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/mylib}]"),
			"libs/mylib/mos.yml": yml("manifest_version: 2020-08-02", "init_before: [my*]"),
		})
		err := resolveErr(t, req)
		if !strings.Contains(err.Error(), "init dependency cycle: mylib -> mylib") {
			t.Errorf("error %v", err)
		}
	})
}

func TestReadErrors(t *testing.T) {
	provErr := errors.New("repository not found")
	for _, tc := range []struct {
		name string
		tree testenv.Tree
		req  func(*manifest.Request, *fakeProvider)
		// want is checked with strings.Contains; "<root>" is the temp dir.
		want  []string
		is    error
		check func(t *testing.T, err error)
	}{{
		name: "no mos.yml",
		tree: testenv.Tree{"app/src/": {}},
		want: []string{`reading manifest "app/mos.yml": `},
		is:   fs.ErrNotExist,
	}, {
		name: "invalid yaml in app",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "sources: [unclosed")},
		want: []string{`parsing manifest "app/mos.yml": yaml: `},
	}, {
		name: "invalid yaml in lib",
		tree: testenv.Tree{
			"app/mos.yml":      yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/bad}]"),
			"libs/bad/mos.yml": yml("libs: {"),
		},
		want: []string{`parsing manifest "<root>/libs/bad/mos.yml"`},
	}, {
		name: "invalid yaml in submanifest",
		tree: testenv.Tree{
			"app/mos.yml":       yml("manifest_version: 2020-08-02"),
			"app/mos_esp32.yml": yml("build_vars: [1, 2]"),
		},
		want: []string{`parsing manifest "app/mos_esp32.yml"`},
	}, {
		name: "provider cannot find the lib",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "libs:",
			"  - location: https://github.com/o/missing", "    version: 1.2")},
		req: func(_ *manifest.Request, p *fakeProvider) {
			p.libErr = map[string]error{"https://github.com/o/missing": provErr}
		},
		want: []string{`lib "missing" (https://github.com/o/missing): repository not found`},
		is:   provErr,
		check: func(t *testing.T, err error) {
			var le *manifest.LibError
			if !errors.As(err, &le) || le.Name != "missing" {
				t.Errorf("not a LibError for missing: %v", err)
			}
		},
	}, {
		name: "lib name differs from its reference",
		tree: testenv.Tree{
			"app/mos.yml":      yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/foo, name: bar}]"),
			"libs/foo/mos.yml": yml("manifest_version: 2020-08-02", "name: foo"),
		},
		want: []string{`Library "foo" at "https://github.com/o/foo" is referred to as "bar" from "app/mos.yml"`},
		check: func(t *testing.T, err error) {
			var ne *manifest.NameMismatchError
			if !errors.As(err, &ne) || ne.RefName != "bar" {
				t.Errorf("not a NameMismatchError: %v", err)
			}
		},
	}, {
		name: "lib named differently from its location",
		tree: testenv.Tree{
			"app/mos.yml":      yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/foo}]"),
			"libs/foo/mos.yml": yml("manifest_version: 2020-08-02", "name: bar"),
		},
		want: []string{`Library "bar" at "https://github.com/o/foo" must be referred to as "bar" from "app/mos.yml"`},
	}, {
		name: "lib without location",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{name: x}]")},
		want: []string{"app/mos.yml: libs[0]: location is not set"},
		is:   manifest.ErrNoLocation,
	}, {
		name: "invalid lib name",
		tree: testenv.Tree{
			"app/mos.yml":     yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/xx, name: \"1x\"}]"),
			"libs/xx/mos.yml": yml("manifest_version: 2020-08-02"),
		},
		want: []string{`"1x" is not a valid name`},
	}, {
		name: "module without location",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "modules: [{name: m}]")},
		want: []string{"app/mos.yml: modules[0]: location is not set"},
		is:   manifest.ErrNoLocation,
	}, {
		name: "module added by a cond is not normalized",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02",
			"conds:", `  - when: mos.platform == "esp32"`, "    apply: {modules: [{location: https://github.com/o/mod}]}")},
		want: []string{"module not normalized"},
	}, {
		name: "manifest_version missing",
		tree: testenv.Tree{"app/mos.yml": yml("name: app")},
		want: []string{`manifest version is missing in "app/mos.yml"`},
		is:   manifest.ErrManifestVersion,
	}, {
		name: "manifest_version missing in a lib",
		tree: testenv.Tree{
			"app/mos.yml":     yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/xx}]"),
			"libs/xx/mos.yml": yml("name: x"),
		},
		want: []string{`manifest version is missing in "<root>/libs/xx/mos.yml"`},
		is:   manifest.ErrManifestVersion,
	}, {
		name: "manifest_version too old",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2017-01-01")},
		want: []string{`too old manifest_version "2017-01-01" in "app/mos.yml" (oldest supported is "2017-03-17")`},
		is:   manifest.ErrManifestVersion,
	}, {
		name: "manifest_version too new",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2099-01-01")},
		want: []string{`too new manifest_version "2099-01-01" in "app/mos.yml" (latest supported is "2020-08-02"). Please run "mos update".`},
		is:   manifest.ErrManifestVersion,
	}, {
		name: "error in the app",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "error: BOOM")},
		want: []string{"app/mos.yml: BOOM"},
	}, {
		name: "error on a cond",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02",
			"conds:", `  - when: mos.platform == "esp32"`, "    error: esp32 is not supported")},
		want: []string{"expanding app manifest's conds: esp32 is not supported"},
		check: func(t *testing.T, err error) {
			var ce *manifest.CondError
			if !errors.As(err, &ce) || ce.Text != "esp32 is not supported" {
				t.Errorf("not a CondError: %v", err)
			}
		},
	}, {
		name: "error in a lib cond's apply",
		tree: testenv.Tree{
			"app/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/xx}]"),
			"libs/xx/mos.yml": yml("manifest_version: 2020-08-02", "conds:",
				`  - when: mos.platform == "esp8266"`, "    apply: {error: not this one}",
				`  - when: mos.platform == "esp32"`, "    apply: {error: no esp32}"),
		},
		want: []string{`expanding "xx" conds: <root>/libs/xx/mos.yml cond 2: no esp32`},
		check: func(t *testing.T, err error) {
			var me *manifest.ManifestError
			if !errors.As(err, &me) || !strings.HasSuffix(me.Origin, "cond 2") {
				t.Errorf("not a ManifestError of cond 2: %v", err)
			}
		},
	}, {
		name: "bad when in a lib cond",
		tree: testenv.Tree{
			"app/mos.yml":     yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/xx}]"),
			"libs/xx/mos.yml": yml("manifest_version: 2020-08-02", "conds:", "  - when: build_vars.MGOS == 1", "    apply: {}"),
		},
		want: []string{`expanding "xx" conds: evaluating cond "when" expression 'build_vars.MGOS == 1': failed to evaluate 1`},
	}, {
		name: "unresolvable expression in a lib's build_vars",
		tree: testenv.Tree{
			"app/mos.yml":     yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/xx}]"),
			"libs/xx/mos.yml": yml("manifest_version: 2020-08-02", "build_vars: {K: \"${build_vars.NOPE}/x\"}"),
		},
		want: []string{`expanding "xx": handling build_vars: handling "K": expanding expressions in "${build_vars.NOPE}/x": failed to evaluate build_vars.NOPE`},
	}, {
		name: "no platform",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02")},
		req:  func(r *manifest.Request, _ *fakeProvider) { r.Platform = "" },
		want: []string{"--platform must be specified or mos.yml should contain a platform key"},
		is:   manifest.ErrNoPlatform,
	}, {
		name: "app name with a space",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "name: my app")},
		want: []string{`app name ("my app") should not contain spaces`},
	}, {
		name: "unresolvable libs_version",
		tree: testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "libs_version: ${build_vars.V}")},
		want: []string{`app/mos.yml: libs_version: expanding expressions in "${build_vars.V}": failed to evaluate build_vars.V`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			req, p := setup(t, tc.tree)
			if tc.req != nil {
				tc.req(req, p)
			}
			err := resolveErr(t, req)
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "<root>", req.Cwd)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestSubmanifestVersionOptionalAndWarnings(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml":       yml("manifest_version: 2020-08-02", "warning: careful", "libs: [{location: https://github.com/o/xx}]"),
		"app/mos_esp32.yml": yml("cflags: [-DESP]"),
		"libs/xx/mos.yml":   yml("manifest_version: 2020-08-02", "warning: old lib"),
	})
	var warnings []string
	req.Warn = func(s string) { warnings = append(warnings, s) }
	m := resolve(t, req).Manifest
	if !reflect.DeepEqual(m.CFlags, []string{"-DESP"}) {
		t.Errorf("cflags %v", m.CFlags)
	}
	want := []string{"Warning: app/mos.yml: careful", "Warning: " + filepath.Join(req.Cwd, "libs/xx/mos.yml") + ": old lib"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q, want %q (each once)", warnings, want)
	}
}

// manifest.md §3: a submanifest's value is expanded against the main file
// and kept when that fails; the rest is resolved during aggregation.
func TestSubmanifestKeepsUnresolved(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml":       yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/ll}]"),
		"libs/base/mos.yml": yml("manifest_version: 2020-08-02", "build_vars: {X: base}"),
		"libs/ll/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/base}]",
			`build_vars: {X: "${build_vars.X} main"}`),
		"libs/ll/mos_esp32.yml": yml(`build_vars: {X: "${build_vars.X} esp"}`),
	})
	m := resolve(t, req).Manifest
	if got := m.BuildVars["X"]; got != "base main esp" {
		t.Errorf("X = %q, want %q", got, "base main esp")
	}
}

// manifest.md §7.4: a lib cond's apply is expanded against the lib, and
// the chain puts core, then the lib, then the app.
func TestCondApplyChain(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/ll}]",
			`build_vars: {FOO: "${build_vars.FOO} from_app", SW: "1"}`),
		"libs/core/mos.yml": yml("manifest_version: 2020-08-02", "build_vars: {FOO: core}"),
		"libs/ll/mos.yml": yml("manifest_version: 2020-08-02",
			"build_vars: {SW: \"0\"}",
			"conds:",
			"  - when: mos.platform == \"esp32\"",
			"    apply:",
			`      build_vars: {FOO: "${build_vars.FOO} from_lib"}`,
			"      version: \"7.0\"",
			"      description: from cond",
			"      name: ignored_for_libs",
			// Decided against the aggregate: the app's SW wins.
			"  - when: build_vars.SW == \"1\"",
			"    apply: {cdefs: {SW_ON: \"1\"}}",
			// Nested conds wait for the next round.
			"  - when: defined(build_vars.MGOS_HAVE_LL)",
			"    apply:",
			"      conds:",
			"        - when: cdefs.SW_ON == \"1\"",
			"          apply: {cflags: [-DNESTED]}",
		),
	})
	m := resolve(t, req).Manifest
	if got := m.BuildVars["FOO"]; got != "core from_lib from_app" {
		t.Errorf("FOO = %q", got)
	}
	if m.CDefs["SW_ON"] != "1" {
		t.Errorf("cdefs %v: the cond on the app's SW did not fire", m.CDefs)
	}
	if !reflect.DeepEqual(m.CFlags, []string{"-DNESTED"}) {
		t.Errorf("cflags %v: the nested cond did not fire", m.CFlags)
	}
	l := lib(m, "ll")
	if l == nil || l.UserVersion != "7.0" || l.Lib.Name != "ll" {
		t.Errorf("lib l: %+v", l)
	}
	if m.Name != "app" {
		t.Errorf("name %q: a lib cond must not rename the app", m.Name)
	}
	if len(m.Conds) != 0 || len(m.Libs) != 0 {
		t.Errorf("conds %v, libs %v left in the final manifest", m.Conds, m.Libs)
	}
}

// Paths (manifest.md §11.1): +/- prefixes, dirs and globs, no dedup,
// includes not resolved, @all_libs, lib paths prefixed with the lib dir.
func TestPathResolution(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/ll}]",
			"sources: [src, -src/b.c, src/a.c, +gen/*.c, nosuch, nosuch/*.c]",
			"includes: [include, /abs/inc, \"@all_libs/include\"]",
			"filesystem: [fs, -fs/sub, \"@all_libs/fs/*.txt\"]",
			"binary_libs: [bin]",
		),
		"app/src/a.c":    {},
		"app/src/b.c":    {},
		"app/src/z.cpp":  {},
		"app/src/note.h": {},
		"app/gen/g.c":    {},
		"app/fs/f1":      {},
		"app/fs/sub/f2":  {},
		"app/bin/x.a":    {},
		"app/bin/y.o":    {},
		"libs/ll/mos.yml": yml("manifest_version: 2020-08-02",
			"sources: [src, -src/skip.c]",
			"includes: [include]",
			"filesystem: [fs/l.txt]",
		),
		"libs/ll/src/l.c":    {},
		"libs/ll/src/skip.c": {},
		"libs/ll/fs/l.txt":   {},
	})
	res := resolve(t, req)
	m := res.Manifest
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"sources", rel(req.Cwd, m.Sources), []string{
			"app/src/a.c", "app/src/z.cpp", "app/src/a.c", "app/gen/g.c",
			"libs/ll/src/l.c", "app/build/gen/mgos_deps_init.c"}},
		{"includes", rel(req.Cwd, m.Includes), []string{
			"libs/ll/include", "app/include", "/abs/inc", "libs/core/include", "libs/ll/include"}},
		// "-fs/sub" stands for fs/sub/*: it does not remove the entry
		// fs/sub that "fs" (glob *) yields.
		{"filesystem", rel(req.Cwd, m.Filesystem), []string{"libs/ll/fs/l.txt", "app/fs/f1", "app/fs/sub", "libs/ll/fs/l.txt"}},
		{"binary_libs", rel(req.Cwd, m.BinaryLibs), []string{"app/bin/x.a"}},
		{"lib sources", rel(req.Cwd, lib(m, "ll").Sources), []string{"libs/ll/src/l.c"}},
		// The app's source dirs, then the libs': src and its exclusion's
		// dir cancel out (upstream behaviour).
		{"source dirs", rel(req.Cwd, res.SourceDirs), []string{"app/gen"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %q\nwant %q", tc.what, tc.got, tc.want)
		}
	}
}

func TestSourceGlobs(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml":  yml("manifest_version: 2020-08-02", "no_implicit_init_deps: true", "sources: [src]"),
		"app/src/a.c":  {},
		"app/src/b.cc": {},
	})
	req.SourceGlobs = []string{"*.cc"}
	req.GenDir = "out/gen"
	m := resolve(t, req).Manifest
	if got, want := rel(req.Cwd, m.Sources), []string{"app/src/b.cc", "out/gen/mgos_deps_init.c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sources %q, want %q", got, want)
	}
}

// manifest.md §11.2 (upstream's testset_07/test_04).
func TestFSFilters(t *testing.T) {
	tree := testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "no_implicit_init_deps: true",
			"filesystem: [fs]",
			"fs_filters:", "  - include: \"*_b1\"", "  - exclude: mylib1_*", "  - exclude: \"*.js\""),
		"app/fs/mylib1_file_a1": {},
		"app/fs/mylib1_file_b1": {},
		"app/fs/script.js":      {},
		"app/fs/test.txt":       {},
	}
	req, _ := setup(t, tree)
	m := resolve(t, req).Manifest
	if got, want := rel(req.Cwd, m.Filesystem), []string{"app/fs/mylib1_file_b1", "app/fs/test.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("filesystem %q, want %q", got, want)
	}
	if m.FSFilters != nil {
		t.Errorf("fs_filters kept: %v", m.FSFilters)
	}

	tree["app/mos.yml"] = yml("manifest_version: 2020-08-02", "no_implicit_init_deps: true",
		"filesystem: [fs]", "fs_filters:", "  - exclude: nomatch", "  - {include: a, exclude: b}")
	req, _ = setup(t, tree)
	err := resolveErr(t, req)
	if err.Error() != "fs_filters entry 0: only one of include or exclude is allowed" {
		t.Errorf("error %q", err)
	}
}

func TestPrebuiltBinaries(t *testing.T) {
	tree := testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/closed, variant: special}]"),
		// Sources listed but absent: a closed-source lib.
		"libs/closed/mos.yml":      yml("manifest_version: 2020-08-02", "version: \"1.5\"", "sources: [src]"),
		"bin/libclosed-esp32-b1.a": {Content: "binary"},
	}
	req, p := setup(t, tree)
	req.BuildVars = map[string]string{"BOARD": "b1"}
	p.prebuilt = map[string]string{"closed/esp32-b1": "bin/libclosed-esp32-b1.a"}
	res := resolve(t, req)
	m := res.Manifest

	if want := []string{"closed special 2.20.0", "closed esp32-b1 2.20.0"}; !reflect.DeepEqual(p.binCalls, want) {
		t.Errorf("prebuilt lookups %q, want %q", p.binCalls, want)
	}
	bin := filepath.Join(req.Cwd, "bin/libclosed-esp32-b1.a")
	l := lib(m, "closed")
	if len(l.Sources) != 0 || !reflect.DeepEqual(l.BinaryLibs, []string{bin}) {
		t.Errorf("lib closed: sources %v, binary_libs %v", l.Sources, l.BinaryLibs)
	}
	if !reflect.DeepEqual(m.BinaryLibs, []string{bin}) {
		t.Errorf("binary_libs %v", m.BinaryLibs)
	}
	e := res.DepsManifest.Libs[0]
	const sum = "9a3a45d01531a20e89ac6ae10b0b0beb0492acd7216a368aa062d1a5fecaf9cd" // sha256("binary")
	if e.Name != "closed" || len(e.Blobs) != 1 || e.Blobs[0].Name != "libclosed-esp32-b1.a" ||
		e.Blobs[0].Size != 6 || e.Blobs[0].SHA256 != sum {
		t.Errorf("deps manifest entry %+v, blobs %+v", e, e.Blobs)
	}
	c := string(res.DepsInitC)
	// Stock 2.20.0 formats the hex digest string with %x once more, so the
	// firmware carries the hex of its ASCII (128 digits); written out here
	// by hand.
	const sumAsStock = "39613361343564303135333161323065383961633661653130623062306265623034393261636437323136613336386161303632643161356665636166396364"
	for _, want := range []string{
		"extern bool mgos_closed_init(void);",
		`{.name = "closed", .version = "1.5", .repo_version = NULL, .binary_libs = "libclosed-esp32-b1.a:` + sumAsStock + `", .init = mgos_closed_init},`,
		`{.name = "core", .version = NULL, .repo_version = NULL, .binary_libs = NULL, .init = NULL},`,
	} {
		if !strings.Contains(c, want) {
			t.Errorf("mgos_deps_init.c lacks %q:\n%s", want, c)
		}
	}

	// No binary at all: the lib cannot be built.
	req, p = setup(t, tree)
	err := resolveErr(t, req)
	var pe *manifest.PrebuiltError
	if !errors.As(err, &pe) || pe.Lib != "closed" ||
		!strings.Contains(err.Error(), `neither sources nor prebuilt binary exists for the lib "closed"`) {
		t.Errorf("error %v", err)
	}
	if want := []string{"closed special 2.20.0", "closed esp32 2.20.0"}; !reflect.DeepEqual(p.binCalls, want) {
		t.Errorf("prebuilt lookups %q, want %q (no BOARD variant without BOARD)", p.binCalls, want)
	}
}

func TestPreferPrebuilt(t *testing.T) {
	req, p := setup(t, testenv.Tree{
		"app/mos.yml":               yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/open, version: v9}]"),
		"libs/open/mos.yml":         yml("manifest_version: 2020-08-02", "sources: [src]"),
		"libs/open/src/o.c":         {},
		"bin/libopen-esp32.a":       {Content: "x"},
		"libs/core/src/core.c":      {},
		"libs/core/mos_esp8266.yml": yml("sources: [nothing]"),
	})
	req.PreferPrebuiltLibs = true
	p.prebuilt = map[string]string{"open/esp32": "bin/libopen-esp32.a"}
	res := resolve(t, req)
	m := res.Manifest
	if got := rel(req.Cwd, m.Sources); !reflect.DeepEqual(got, []string{"app/build/gen/mgos_deps_init.c"}) {
		t.Errorf("sources %q: the open lib's sources must give way to its binary", got)
	}
	if want := []string{"core esp32 2.20.0", "open esp32 v9"}; !reflect.DeepEqual(p.binCalls, want) {
		t.Errorf("prebuilt lookups %q, want %q", p.binCalls, want)
	}
	if got := rel(req.Cwd, res.SourceDirs); !reflect.DeepEqual(got, []string{"libs/open/src"}) {
		t.Errorf("source dirs %q", got)
	}
}

func TestDepsVersions(t *testing.T) {
	tree := testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02", "version: \"1.0\"")}
	req, p := setup(t, tree)
	p.repo = map[string]manifest.Fetched{"https://github.com/mongoose-os-libs/core": {RepoVersion: "abc", RepoDirty: true}}
	res := resolve(t, req)
	if e := res.DepsManifest.Libs[0]; e.Name != "core" || e.RepoVersion != "abc" || !e.RepoDirty || e.Version != "2.20.0" {
		t.Errorf("deps manifest lib %+v", e)
	}
	if e := res.DepsManifest.Modules[0]; e.Name != "mongoose-os" || e.Version != "2.20.0" {
		t.Errorf("deps manifest module %+v", e)
	}

	// Checked against --deps-versions: strict fails, lax warns.
	wanted := &protocol.DepsManifest{Libs: []*protocol.DepsManifestEntry{{Name: "core", RepoVersion: "def"}}}
	req, p = setup(t, tree)
	p.repo = map[string]manifest.Fetched{"https://github.com/mongoose-os-libs/core": {RepoVersion: "abc"}}
	req.DepsVersions, req.StrictDepsVersions = wanted, true
	err := resolveErr(t, req)
	var de *manifest.DepsVersionsError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "core: want repo version def, have abc") ||
		!strings.Contains(err.Error(), "mongoose-os: no entry found") {
		t.Errorf("error %v", err)
	}

	req.StrictDepsVersions = false
	var warnings []string
	req.Warn = func(s string) { warnings = append(warnings, s) }
	resolve(t, req)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "deps validation failures: core: want repo version def, have abc") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestModulesAndVariables(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"name: ${build_vars.NAME}",
			"description: \"built for ${mos.platform} by mos ${mos.version}\"",
			"modules:",
			"  - location: https://github.com/o/extra",
			"  - {name: mongoose-os, location: https://example.com/mos.git}",
			"build_vars: {NAME: fancy}",
			"includes: [\"${mos.modules.extra.path}/include\", \"${mongoose_os_path}/fw\"]",
			"cflags: [\"-I${mos.libs.core.path}/inc\"]",
		),
	})
	m := resolve(t, req).Manifest
	if m.Name != "fancy" || m.Description != "built for esp32 by mos 2.20.0" {
		t.Errorf("name %q, description %q", m.Name, m.Description)
	}
	wantMods := []manifest.Dep{
		{Name: "extra", Location: "https://github.com/o/extra"},
		{Name: "mongoose-os", Location: "https://example.com/mos.git", Version: "2.20.0"},
	}
	if !reflect.DeepEqual(m.Modules, wantMods) {
		t.Errorf("modules %+v", m.Modules)
	}
	if got, want := rel(req.Cwd, m.Includes), []string{"modules/extra/include", "mos/fw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("includes %q, want %q", got, want)
	}
	if want := "-I" + filepath.Join(req.Cwd, "libs/core") + "/inc"; len(m.CFlags) != 1 || m.CFlags[0] != want {
		t.Errorf("cflags %q, want %q", m.CFlags, want)
	}
	if want := []string{"esp32", "esp8266"}; !reflect.DeepEqual(m.Platforms, want) {
		t.Errorf("platforms %v, want %v", m.Platforms, want)
	}
}

func TestCLIAdjustments(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"platform: ESP8266",
			"libs: [{location: https://github.com/o/ll}]",
			"cflags: [-Oapp]",
			"cdefs: {A: app, B: app}",
			"build_vars: {V: app}"),
		"libs/ll/mos.yml": yml("manifest_version: 2020-08-02", "cflags: [-Olib]", "cdefs: {A: lib, C: lib}",
			"build_vars: {V: lib}",
			"conds:", "  - when: build_vars.V == \"cli\"", "    apply: {cdefs: {SAW_CLI: \"1\"}}"),
		"libs/extra/mos.yml": yml("manifest_version: 2020-08-02"),
	})
	req.Platform = ""
	req.BuildVars = map[string]string{"BOARD": "", "V": "cli"}
	req.CDefs = map[string]string{"B": "cli"}
	req.CFlagsExtra = []string{"-Ocli"}
	req.ExtraLibs = []manifest.Dep{{Location: "https://github.com/o/extra"}, {Location: "https://github.com/o2/ll"}}
	m := resolve(t, req).Manifest
	if m.Platform != "esp8266" {
		t.Errorf("platform %q", m.Platform)
	}
	if want := []string{"-Olib", "-Oapp", "-Ocli"}; !reflect.DeepEqual(m.CFlags, want) {
		t.Errorf("cflags %v, want %v", m.CFlags, want)
	}
	for k, want := range map[string]string{"A": "app", "B": "cli", "C": "lib", "MGOS": "1", "SAW_CLI": "1"} {
		if m.CDefs[k] != want {
			t.Errorf("cdef %s = %q, want %q", k, m.CDefs[k], want)
		}
	}
	if m.BuildVars["V"] != "cli" {
		t.Errorf("V = %q: the CLI value wins everywhere", m.BuildVars["V"])
	}
	if got, want := libNames(m), []string{"core", "extra", "ll"}; !reflect.DeepEqual(got, want) {
		t.Errorf("libs %v, want %v (the second --lib-extra duplicates l)", got, want)
	}
	if got := lib(m, "ll").Lib.Location; got != "https://github.com/o/ll" {
		t.Errorf("l from %q: the app's own entry wins", got)
	}
}

func TestAppCondAddsLibWithVariant(t *testing.T) {
	req, p := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/aa}]",
			"conds:", "  - when: defined(build_vars.MGOS_HAVE_AA)",
			"    apply: {libs: [{location: https://github.com/o/bb, variant: v2}]}"),
		"libs/aa/mos.yml": yml("manifest_version: 2020-08-02",
			"conds:", "  - when: mos.platform == \"esp32\"",
			"    apply: {libs: [{location: https://github.com/o/bb}]}"),
		"libs/bb/mos.yml": yml("manifest_version: 2020-08-02"),
	})
	m := resolve(t, req).Manifest
	if got, want := libNames(m), []string{"bb", "aa", "core"}; !reflect.DeepEqual(got, want) {
		t.Errorf("libs %v, want %v", got, want)
	}
	if b := lib(m, "bb"); b.Lib.Variant != "v2" {
		t.Errorf("b variant %q", b.Lib.Variant)
	}
	if got := lib(m, "aa").InitDeps; !reflect.DeepEqual(got, []string{"bb", "core"}) {
		t.Errorf("a init_deps %v: a's cond re-adds b", got)
	}
	reads := 0
	for _, c := range p.libCalls {
		if strings.HasPrefix(c, "bb ") {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("lib b fetched %d times, want once: %q", reads, p.libCalls)
	}
}

// A reference from the app (here from a cond) to a lib that is already
// known changes its variant, nothing else.
func TestAppOverridesVariant(t *testing.T) {
	req, p := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"libs: [{location: https://github.com/o/aa}]",
			"conds:", "  - when: mos.platform == \"esp32\"",
			"    apply: {libs: [{location: https://github.com/other/bb, variant: v3}]}"),
		"libs/aa/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/bb, variant: v1}]"),
		"libs/bb/mos.yml": yml("manifest_version: 2020-08-02"),
	})
	var log []string
	req.Log = func(s string) { log = append(log, s) }
	m := resolve(t, req).Manifest
	b := lib(m, "bb")
	if b.Lib.Variant != "v3" || b.Lib.Location != "https://github.com/o/bb" {
		t.Errorf("bb entry %+v, want the first location with the app's variant", b.Lib)
	}
	if !strings.Contains(strings.Join(log, "\n"), `Lib "bb" at "https://github.com/other/bb": overridden by same at "https://github.com/o/bb"...`) {
		t.Errorf("log %q", log)
	}
	if len(p.libCalls) != 3 {
		t.Errorf("lib lookups %q, want aa, bb and core once each", p.libCalls)
	}
}

func TestResolveWritesNothingIntoTheApp(t *testing.T) {
	req, _ := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "sources: [src]"),
		"app/src/a.c": {Content: "int a;"},
	})
	resolve(t, req)
	testenv.CheckTree(t, filepath.Join(req.Cwd, "app"), testenv.Tree{
		"mos.yml": yml("manifest_version: 2020-08-02", "sources: [src]"),
		"src/a.c": {Content: "int a;"},
	})
	mustNotExist(t, filepath.Join(req.Cwd, "app", "build"))
}

func TestContextCancelled(t *testing.T) {
	req, _ := setup(t, testenv.Tree{"app/mos.yml": yml("manifest_version: 2020-08-02")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := manifest.Resolve(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
