package incremental

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// kind is one sort of edit.
type kind string

const (
	editC        kind = "edit_c"         // a constant in one .c
	editHeader   kind = "edit_header"    // include/app.h, which every app source includes
	addSource    kind = "add_source"     // a new src/extra_N.c
	deleteSource kind = "delete_source"  // one of the extras removed
	renameSource kind = "rename_source"  // one of the extras renamed (os.Rename: its mtime kept)
	editCdefs    kind = "edit_cdefs"     // mos.yml cdefs: APP_CDEF
	editCflags   kind = "edit_cflags"    // mos.yml cflags: -DAPP_CFLAG=N
	editBuildVar kind = "edit_build_var" // mos.yml build_vars.APP_FEATURE: conds add a source dir and a cdef
	addLib       kind = "add_lib"        // a real lib added to libs
	dropLib      kind = "drop_lib"       // a real lib dropped from libs
	editSchema   kind = "edit_schema"    // config_schema: a default changed, an entry added or removed
	editFS       kind = "edit_fs"        // fs/app.txt changed
	editLib      kind = "edit_lib"       // the app's lib (libs/mylib): its header edited in place
	switchLib    kind = "switch_lib"     // the app's lib switched to its other version (other files, other version, old mtimes)
)

// kinds are all the edit kinds; a short run makes each once.
var kinds = []kind{editC, editHeader, addSource, deleteSource, renameSource, editCdefs, editCflags,
	editBuildVar, addLib, dropLib, editSchema, editFS, editLib, switchLib}

// optionalLibs are the real libs add_lib and drop_lib choose from (all in
// ../shared/real/libs, small, and needing only rpc-common besides the core).
var optionalLibs = []string{"sntp", "rpc-service-fs", "rpc-uart"}

// baseSources are the app's .c files besides main.c; each returns a value
// from APP_HDR_VALUE and a constant of its own.
var baseSources = []string{"a", "b", "c"}

// app is the state of the test app; render turns it into files.
type app struct {
	header      int            // APP_HDR_VALUE in include/app.h
	consts      map[string]int // the constant of each base source
	extras      []extra        // added sources, in the order added
	nextExtra   int
	cdef        int // cdefs APP_CDEF
	cflag       int // cflags -DAPP_CFLAG=N
	feature     bool
	libs        []string // optional real libs present, in the order added
	level       int      // config_schema app.level default
	tuning      bool     // config_schema app.tuning present
	fsText      int      // the number in fs/app.txt
	libVersion  int      // 1 or 2
	libTweak    int      // MYLIB_TWEAK in libs/mylib/include/mylib.h
	libSwitches int      // how many times the lib was switched
}

type extra struct {
	id   int
	path string // slash path in the app
}

func newApp() *app {
	a := &app{header: 1, consts: map[string]int{}, cdef: 1, cflag: 1, level: 3, fsText: 1, libVersion: 1,
		libs: []string{"sntp"}}
	for i, s := range baseSources {
		a.consts[s] = 10 + i
	}
	// Two extras to start with, so that deleting and renaming one have
	// something to work on whatever the order.
	for range 2 {
		a.extras = append(a.extras, extra{id: a.nextExtra, path: fmt.Sprintf("src/extra_%d.c", a.nextExtra)})
		a.nextExtra++
	}
	return a
}

// edit is what apply did, beyond the new state.
type edit struct {
	kind kind
	what string
	// rename moves a file (old, new) before the files are written, so it
	// keeps its mtime as a user's mv does.
	rename [2]string
	// oldMtimes: the files this edit writes get this mtime, in the past,
	// as a lib release unpacked from an archive has (zero: now).
	oldMtimes int
	// firmware: the edit must change the firmware (ELF, fw.zip parts,
	// generated config or build/fs), so a build that missed it differs
	// from one that saw it. A rename need not.
	firmware bool
	// incremental: the edit leaves the final manifest alone, so the
	// incremental build must compile fewer files than the clean one
	// (otherwise the run compares two clean builds and proves nothing).
	// A changed final manifest forces a clean rebuild (cli/localbuild).
	incremental bool
}

// applicable says whether k can be applied to a now.
func (a *app) applicable(k kind) bool {
	switch k {
	case deleteSource, renameSource:
		return len(a.extras) > 0
	case addLib:
		return len(a.libs) < len(optionalLibs)
	case dropLib:
		return len(a.libs) > 0
	}
	return true
}

// apply makes one edit of kind k, its choices drawn from rng.
func (a *app) apply(k kind, rng *rand.Rand) edit {
	e := edit{kind: k, firmware: true}
	switch k {
	case editC, editHeader, editFS, editLib:
		e.incremental = true
	}
	switch k {
	case editC:
		s := baseSources[rng.IntN(len(baseSources))]
		a.consts[s]++
		e.what = fmt.Sprintf("src/%s.c: constant %d", s, a.consts[s])
	case editHeader:
		a.header++
		e.what = fmt.Sprintf("include/app.h: APP_HDR_VALUE %d", a.header)
	case addSource:
		x := extra{id: a.nextExtra, path: fmt.Sprintf("src/extra_%d.c", a.nextExtra)}
		a.nextExtra++
		a.extras = append(a.extras, x)
		e.what = "added " + x.path
	case deleteSource:
		i := rng.IntN(len(a.extras))
		e.what = "deleted " + a.extras[i].path
		a.extras = slices.Delete(a.extras, i, i+1)
	case renameSource:
		i := rng.IntN(len(a.extras))
		old := a.extras[i].path
		// A new name in src: sources: [src] takes src/*.c only.
		a.extras[i].path = fmt.Sprintf("src/extra_%d_r%d.c", a.extras[i].id, a.nextExtra)
		a.nextExtra++
		e.rename = [2]string{old, a.extras[i].path}
		e.what = "renamed " + old + " to " + a.extras[i].path
		e.firmware = false
	case editCdefs:
		a.cdef++
		e.what = fmt.Sprintf("mos.yml cdefs APP_CDEF: %d", a.cdef)
	case editCflags:
		a.cflag++
		e.what = fmt.Sprintf("mos.yml cflags -DAPP_CFLAG=%d", a.cflag)
	case editBuildVar:
		a.feature = !a.feature
		e.what = fmt.Sprintf("mos.yml build_vars APP_FEATURE: %q", boolVar(a.feature))
	case addLib:
		var absent []string
		for _, l := range optionalLibs {
			if !slices.Contains(a.libs, l) {
				absent = append(absent, l)
			}
		}
		l := absent[rng.IntN(len(absent))]
		a.libs = append(a.libs, l)
		e.what = "added lib " + l
	case dropLib:
		i := rng.IntN(len(a.libs))
		e.what = "dropped lib " + a.libs[i]
		a.libs = slices.Delete(a.libs, i, i+1)
	case editSchema:
		if rng.IntN(2) == 0 {
			a.level++
			e.what = fmt.Sprintf("config_schema app.level default %d", a.level)
		} else {
			a.tuning = !a.tuning
			e.what = fmt.Sprintf("config_schema app.tuning present: %v", a.tuning)
		}
	case editFS:
		a.fsText++
		e.what = fmt.Sprintf("fs/app.txt: %d", a.fsText)
	case editLib:
		a.libTweak++
		e.what = fmt.Sprintf("libs/mylib/include/mylib.h: MYLIB_TWEAK %d", a.libTweak)
	case switchLib:
		a.libVersion = 3 - a.libVersion
		a.libSwitches++
		e.oldMtimes = a.libSwitches
		e.what = fmt.Sprintf("libs/mylib switched to version %d.0", a.libVersion)
	default:
		panic("unknown edit kind " + k)
	}
	return e
}

func boolVar(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// plan is the sequence of edit kinds of a run: for a short run each kind
// once, in an order drawn from rng; else n kinds drawn from rng among
// those applicable at each step (apply is run on a scratch app to know),
// drawn again until every kind is in.
func plan(rng *rand.Rand, long bool, n int) []kind {
	if !long {
		p := slices.Clone(kinds)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		return p
	}
	for {
		scratch := newApp()
		seen := map[kind]bool{}
		var p []kind
		for len(p) < n {
			k := kinds[rng.IntN(len(kinds))]
			if !scratch.applicable(k) {
				continue
			}
			scratch.apply(k, rng)
			p = append(p, k)
			seen[k] = true
		}
		if len(seen) == len(kinds) {
			return p
		}
	}
}

// render returns the app's files (slash path -> content).
func (a *app) render() map[string]string {
	f := map[string]string{}
	f["mos.yml"] = a.mosYML()
	f["include/app.h"] = fmt.Sprintf(`#pragma once

#define APP_HDR_VALUE %d

extern int app_extra_total;
int app_a(void);
int app_b(void);
int app_c(void);
int app_feature(void);
`, a.header)
	f["src/main.c"] = `#include "mgos.h"
#include "mgos_sys_config.h"

#include "app.h"
#include "mylib.h"

int app_extra_total;

enum mgos_app_init_result mgos_app_init(void) {
  int v = app_a() + app_b() + app_c() + APP_CDEF * 1000 + APP_CFLAG * 10000 +
          mylib_value() + mgos_sys_config_get_app_level();
#ifdef APP_FEATURE_ON
  v += app_feature();
#endif
  LOG(LL_INFO, ("app value %d, extras %d, header %d, lib %d", v,
                app_extra_total, APP_HDR_VALUE, MYLIB_VERSION));
  return MGOS_APP_INIT_SUCCESS;
}
`
	for _, s := range baseSources {
		f["src/"+s+".c"] = fmt.Sprintf("#include \"app.h\"\n\nint app_%s(void) {\n  return APP_HDR_VALUE * %d + %d;\n}\n",
			s, len(s)+int(s[0]-'a')+2, a.consts[s])
	}
	for _, x := range a.extras {
		f[x.path] = fmt.Sprintf(`#include "app.h"

static void __attribute__((constructor)) app_extra_%d_init(void) {
  app_extra_total += APP_HDR_VALUE * %d + 1;
}
`, x.id, x.id+3)
	}
	f["src_feature/feature.c"] = "#include \"app.h\"\n\nint app_feature(void) {\n  return APP_HDR_VALUE * 100000 + APP_FEATURE_ON;\n}\n"
	f["fs/app.txt"] = fmt.Sprintf("app data %d\n", a.fsText)
	for p, c := range a.renderLib() {
		f["libs/mylib/"+p] = c
	}
	return f
}

func (a *app) mosYML() string {
	var b strings.Builder
	b.WriteString(`author: mos tests
description: incremental equals clean
version: 1.0
platform: ubuntu
sources:
  - src
includes:
  - include
filesystem:
  - fs
config_schema:
  - ["app", "o", {title: "App settings"}]
`)
	fmt.Fprintf(&b, "  - [\"app.level\", \"i\", %d, {title: \"Level\"}]\n", a.level)
	if a.tuning {
		b.WriteString("  - [\"app.tuning\", \"b\", true, {title: \"Tuning\"}]\n")
	}
	fmt.Fprintf(&b, "cdefs:\n  APP_CDEF: %d\n", a.cdef)
	fmt.Fprintf(&b, "cflags:\n  - \"-DAPP_CFLAG=%d\"\n", a.cflag)
	fmt.Fprintf(&b, "build_vars:\n  APP_FEATURE: %q\n", boolVar(a.feature))
	b.WriteString(`conds:
  - when: build_vars.APP_FEATURE == "1"
    apply:
      sources:
        - src_feature
      cdefs:
        APP_FEATURE_ON: 7
libs:
  - origin: https://github.com/mongoose-os-libs/rpc-common
`)
	for _, l := range a.libs {
		fmt.Fprintf(&b, "  - origin: https://github.com/mongoose-os-libs/%s\n", l)
	}
	b.WriteString("  - location: libs/mylib\nmanifest_version: 2017-09-29\n")
	return b.String()
}

// renderLib returns libs/mylib's files at its version: 2.0 has one more
// source, which 1.0's mylib.c does not call.
func (a *app) renderLib() map[string]string {
	f := map[string]string{}
	f["mos.yml"] = fmt.Sprintf(`author: mos tests
type: lib
description: the app's own lib
version: %d.0
sources:
  - src
includes:
  - include
manifest_version: 2017-09-29
`, a.libVersion)
	f["include/mylib.h"] = fmt.Sprintf(`#pragma once

#include <stdbool.h>

#define MYLIB_VERSION %d
#define MYLIB_TWEAK %d

int mylib_value(void);
`, a.libVersion, a.libTweak)
	if a.libVersion == 1 {
		f["src/mylib.c"] = `#include "mylib.h"

int mylib_value(void) {
  return MYLIB_VERSION * 100 + MYLIB_TWEAK;
}

bool mgos_mylib_init(void) {
  return true;
}
`
		return f
	}
	f["src/mylib.c"] = `#include "mylib.h"

int mylib_v2_part(void);

int mylib_value(void) {
  return MYLIB_VERSION * 100 + MYLIB_TWEAK + mylib_v2_part();
}

bool mgos_mylib_init(void) {
  return true;
}
`
	f["src/mylib_v2.c"] = "#include \"mylib.h\"\n\nint mylib_v2_part(void) {\n  return MYLIB_TWEAK * 3 + 5;\n}\n"
	return f
}

// sortedPaths returns the keys of files, sorted.
func sortedPaths(files map[string]string) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
