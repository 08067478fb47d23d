package remote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

const stagingYML = `name: demo
manifest_version: 2017-09-29
platform: esp32
sources:
  - src
  - ../shared/src
  - ../shared/glob/*.c
includes:
  - include
filesystem:
  - fs
libs:
  - location: libs/greeting
  - location: ../outside_lib
  - name: named
    location: ../other/lib2
  - location: https://github.com/mongoose-os-libs/boards
conds:
  - when: mos.platform == "esp32"
    apply:
      cdefs:
        FROM_COND: 1
`

// flat is the stock "_"-joined name of an absolute dir, computed here
// independently of flatName.
func flat(dir string) string {
	return strings.NewReplacer("/", "_", `\`, "_", ":", "_").Replace(dir)
}

// TestStagingTree uploads a tree exercising every staging rule and checks
// what the server unpacked, name by name and mode by mode, the rewritten
// mos.yml, and that the app dir was not touched.
func TestStagingTree(t *testing.T) {
	testenv.RequireTool(t, "git")
	root := t.TempDir()
	app := filepath.Join(root, "app")
	testenv.GitRepo(t, app, testenv.Tree{
		"mos.yml":                          {Content: stagingYML},
		"mos_esp32.yml":                    {Content: "cdefs:\n  FROM_SUB: 1\n"},
		"README.md":                        {Content: "readme"},
		"src/main.c":                       {Content: "main"},
		"src/run.sh":                       {Content: "echo\n", Mode: 0o755},
		"src/build/gen.c":                  {Content: "nested build dir"},
		"include/app.h":                    {Content: "h"},
		"fs/index.html":                    {Content: "html"},
		"libs/greeting/mos.yml":            {Content: "name: greeting\n"},
		"libs/greeting/src/greet.c":        {Content: "greet"},
		"libs/unused/x.c":                  {Content: "unused"},
		"deps/other/y.c":                   {Content: "y"},
		"deps/modules/mongoose-os/old.txt": {Content: "replaced by --repo"},
		"deps/mylib/stale.c":               {Content: "replaced by --lib"},
		"local_libs/outside_lib/stale.c":   {Content: "replaced by the local lib"},
	})
	// Not tracked: a script whose mode comes from the disk, a name that
	// cannot be a zip entry, a nested .git, the build dir.
	untracked := testenv.Tree{
		"src/tool.py":             {Content: "print()\n", Mode: 0o750},
		"src/.git/HEAD":           {Content: "ref"},
		"build/old.o":             {Content: "o"},
		"build/gen/build_ctx.txt": {Content: "build_ctx_5"},
	}
	// A backslash is a name character on Unix only.
	backslash := os.PathSeparator == '/'
	if backslash {
		untracked[`src/back\slash.c`] = testenv.File{Content: "b"}
	}
	testenv.WriteTree(t, app, untracked)
	testenv.WriteTree(t, root, testenv.Tree{
		"shared/src/util.c":      {Content: "util"},
		"shared/src/build/b.c":   {Content: "b"},
		"shared/src/.git/config": {Content: "git"},
		"shared/glob/a.c":        {Content: "a"},
		"shared/glob/b.h":        {Content: "bh"},
		"outside_lib/mos.yml":    {Content: "name: outside_lib\n"},
		"outside_lib/src/o.c":    {Content: "o"},
		"other/lib2/mos.yml":     {Content: "name: named\n"},
		"mylib/mos.yml":          {Content: "name: mylib\n"},
		"repo/tools/x.py":        {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
	})
	before := testenv.ReadTree(t, app)

	srv, ts := newStockServer(t)
	var log strings.Builder
	req := &Request{AppDir: app, Params: testParams(), Server: ts.URL, MosDir: filepath.Join(root, ".mos"), Log: &log, KeepBuildDir: true}
	req.Params.CustomLibLocations["mylib"] = filepath.Join(root, "mylib")
	req.Params.CustomModuleLocations["mongoose-os"] = filepath.Join(root, "repo")
	res, err := Build(context.Background(), req)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, log.String())
	}

	got := srv.last()
	sharedSrc := flat(filepath.Join(root, "shared", "src"))
	sharedGlob := flat(filepath.Join(root, "shared", "glob")) + "_"
	uploadedYML := got.upload["mos.yml"]
	// An untracked file without #!: its disk mode counts where disks keep
	// modes.
	toolMode := os.FileMode(0o755)
	if !diskHasExecBits {
		toolMode = 0o644
	}
	want := testenv.Tree{
		"mos.yml":                             {Content: uploadedYML.Content, Mode: 0o644},
		"src/main.c":                          {Content: "main", Mode: 0o644},
		"src/run.sh":                          {Content: "echo\n", Mode: 0o755},
		"src/tool.py":                         {Content: "print()\n", Mode: toolMode},
		"src/build/gen.c":                     {Content: "nested build dir", Mode: 0o644},
		"include/app.h":                       {Content: "h", Mode: 0o644},
		"fs/index.html":                       {Content: "html", Mode: 0o644},
		"libs/greeting/mos.yml":               {Content: "name: greeting\n", Mode: 0o644},
		"libs/greeting/src/greet.c":           {Content: "greet", Mode: 0o644},
		"deps/other/y.c":                      {Content: "y", Mode: 0o644},
		"deps/mylib/mos.yml":                  {Content: "name: mylib\n", Mode: 0o644},
		"deps/modules/mongoose-os/tools/x.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		sharedSrc + "/util.c":                 {Content: "util", Mode: 0o644},
		sharedSrc + "/build/b.c":              {Content: "b", Mode: 0o644},
		sharedGlob + "/a.c":                   {Content: "a", Mode: 0o644},
		sharedGlob + "/b.h":                   {Content: "bh", Mode: 0o644},
		"local_libs/outside_lib/mos.yml":      {Content: "name: outside_lib\n", Mode: 0o644},
		"local_libs/outside_lib/src/o.c":      {Content: "o", Mode: 0o644},
		"local_libs/named/mos.yml":            {Content: "name: named\n", Mode: 0o644},
	}
	checkTree(t, got.upload, want)
	for _, n := range got.zipNames {
		if strings.ContainsRune(n, '\\') {
			t.Errorf("zip entry %q has a backslash", n)
		}
	}
	if res.Files != len(want) || len(got.zipNames) != len(want) {
		t.Errorf("Files = %d, zip has %d entries; want %d", res.Files, len(got.zipNames), len(want))
	}
	if backslash && !strings.Contains(log.String(), `Skipping `+filepath.Join(app, "src", `back\slash.c`)) {
		t.Errorf("no log line for the backslash name:\n%s", log.String())
	}

	var m manifest.Manifest
	if err := yaml.Unmarshal([]byte(uploadedYML.Content), &m); err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Sources, ",") != "src,"+sharedSrc+","+sharedGlob+"/*.c" {
		t.Errorf("sources %q", m.Sources)
	}
	var locs []string
	for _, l := range m.Libs {
		locs = append(locs, l.Location)
	}
	if strings.Join(locs, ",") != "libs/greeting,local_libs/outside_lib,local_libs/named,https://github.com/mongoose-os-libs/boards" {
		t.Errorf("lib locations %q", locs)
	}
	if m.CDefs["FROM_SUB"] != "1" || m.CDefs["FROM_COND"] != "1" || len(m.Conds) != 0 || m.Platform != "esp32" {
		t.Errorf("manifest not merged as for upload: cdefs %v conds %v platform %q", m.CDefs, m.Conds, m.Platform)
	}

	// The sources are untouched; only build/ changed.
	after := testenv.ReadTree(t, app)
	for p := range after {
		if strings.HasPrefix(p, "build/") {
			delete(after, p)
		}
	}
	for p := range before {
		if strings.HasPrefix(p, "build/") {
			delete(before, p)
		}
	}
	checkTree(t, after, before)
}

// checkTree compares two trees read with ReadTree.
func checkTree(t *testing.T, got, want testenv.Tree) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: missing", p)
		case g.Content != w.Content:
			t.Errorf("%s: content %q, want %q", p, g.Content, w.Content)
		case w.Mode != 0 && g.Mode != w.Mode:
			t.Errorf("%s: mode %v, want %v", p, g.Mode, w.Mode)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected", p)
		}
	}
}

// TestExecBitsThroughServer: the mongoose-os module in deps/ is a clone
// made without exec bits (core.fileMode=false, 0644 on disk); its
// tools/mgos_fw_meta.py still arrives 0755.
func TestExecBitsThroughServer(t *testing.T) {
	testenv.RequireTool(t, "git")
	e := newEnv(t)
	mod := filepath.Join(e.app, "deps", "modules", "mongoose-os")
	testenv.GitRepo(t, mod, testenv.Tree{
		"tools/mgos_fw_meta.py":    {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		"tools/mk/mgos_fw_meta.mk": {Content: "x\n"},
		"platforms/esp32/bin":      {Content: "\x7fELF", Mode: 0o755},
	})
	testenv.Git(t, mod, "config", "core.fileMode", "false")
	for _, p := range []string{"tools/mgos_fw_meta.py", "platforms/esp32/bin"} {
		if err := os.Chmod(filepath.Join(mod, filepath.FromSlash(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if st := testenv.Git(t, mod, "status", "--porcelain"); st != "" {
		t.Fatalf("the clone looks modified: %s", st)
	}
	srv, ts := newStockServer(t)
	e.build(e.req(ts.URL))
	up := srv.last().upload
	for p, want := range map[string]os.FileMode{
		"deps/modules/mongoose-os/tools/mgos_fw_meta.py":    0o755,
		"deps/modules/mongoose-os/platforms/esp32/bin":      0o755,
		"deps/modules/mongoose-os/tools/mk/mgos_fw_meta.mk": 0o644,
		"src/main.c": 0o644,
	} {
		if f, ok := up[p]; !ok || f.Mode != want {
			t.Errorf("%s: uploaded %v (present %v), want %v", p, f.Mode, ok, want)
		}
	}
	if _, ok := up["deps/modules/mongoose-os/.git/HEAD"]; ok {
		t.Error(".git uploaded")
	}
}

func TestSymlinksSkipped(t *testing.T) {
	e := newEnv(t)
	if err := os.Symlink("main.c", filepath.Join(e.app, "src", "link.c")); err != nil {
		t.Skipf("cannot make symlinks here: %v", err)
	}
	srv, ts := newStockServer(t)
	e.build(e.req(ts.URL))
	if _, ok := srv.last().upload["src/link.c"]; ok {
		t.Error("symlink uploaded")
	}
	if !strings.Contains(e.log.String(), "Skipping symbolic link "+filepath.Join(e.app, "src", "link.c")) {
		t.Errorf("log:\n%s", e.log)
	}
}

// The injected manifest reader is used, with the request's platform and
// build vars.
func TestReadAppInjected(t *testing.T) {
	e := newEnv(t)
	srv, ts := newStockServer(t)
	r := e.req(ts.URL)
	r.Params.BuildVars["FOO"] = "bar"
	var gotPlatform string
	r.ReadApp = func(appDir, platform string, buildVars map[string]string) (*manifest.Manifest, error) {
		gotPlatform = platform
		return &manifest.Manifest{Type: "lib", Platform: "cc3220", Sources: []string{"src"}, BuildVars: buildVars}, nil
	}
	res := e.build(r)
	if gotPlatform != "esp32" || !res.IsLib {
		t.Errorf("platform %q, IsLib %v", gotPlatform, res.IsLib)
	}
	got := srv.last()
	if !strings.Contains(got.upload["mos.yml"].Content, "FOO: bar") || !strings.Contains(got.upload["mos.yml"].Content, "name: demo") {
		t.Errorf("uploaded mos.yml:\n%s", got.upload["mos.yml"].Content)
	}
	if !strings.Contains(got.fields["build_params"], "buildtarget: build/objs/lib.a\n") {
		t.Errorf("lib target not set:\n%s", got.fields["build_params"])
	}
}

// TestCRLFScriptsUploadedWithLF: an executable whose #! line ends in CRLF
// (a core.autocrlf=true checkout) goes up with LF line ends, so the server
// can run it; other files, CRLF or not, go up byte for byte.
func TestCRLFScriptsUploadedWithLF(t *testing.T) {
	root := t.TempDir()
	app := filepath.Join(root, "app")
	testenv.WriteTree(t, app, testenv.Tree{
		"mos.yml":         {Content: "name: app\nmanifest_version: 2017-09-29\nplatform: esp32\nsources: [src]\n"},
		"src/main.c":      {Content: "int a;\r\nint b;\r\n"},
		"src/tool.py":     {Content: "#!/usr/bin/env python3\r\nprint(1)\r\n", Mode: 0o755},
		"src/notes.txt":   {Content: "not\r\na script\r\n", Mode: 0o755},
		"src/unix.py":     {Content: "#!/usr/bin/env python3\nprint(3)\r\n", Mode: 0o755},
		"src/shebang.txt": {Content: "#!", Mode: 0o755},
	})
	srv, ts := newStockServer(t)
	var log strings.Builder
	req := &Request{AppDir: app, Params: testParams(), Server: ts.URL, MosDir: filepath.Join(root, ".mos"), Log: &log}
	if _, err := Build(context.Background(), req); err != nil {
		t.Fatalf("Build: %v\n%s", err, log.String())
	}
	got := srv.last().upload
	want := map[string]string{
		"src/main.c":      "int a;\r\nint b;\r\n",
		"src/tool.py":     "#!/usr/bin/env python3\nprint(1)\n",
		"src/notes.txt":   "not\r\na script\r\n",
		"src/unix.py":     "#!/usr/bin/env python3\nprint(3)\r\n",
		"src/shebang.txt": "#!",
	}
	if !diskHasExecBits {
		t.Skip("this file system keeps no exec bits: no file here is a script by its mode")
	}
	for name, content := range want {
		if got[name].Content != content {
			t.Errorf("%s uploaded as %q, want %q", name, got[name].Content, content)
		}
	}
	if !strings.Contains(log.String(), "tool.py with LF line ends") {
		t.Errorf("log does not say tool.py was converted:\n%s", log.String())
	}
}
