// Package sdkhost_test builds small apps with the host SDK's platform
// makefile the way mos runs it (local-build.md §4.2), with hand-written
// build/gen inputs, and checks the firmware zip, the ELF and incremental
// rebuilds. The SDK is copied into each test's temp dir so a test may change
// it (file modes) without touching the repo.
package sdkhost_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// project is an app and a copy of the SDK in one temp dir.
type project struct {
	root  string // temp dir holding both
	sdk   string // copy of examples/sdk-host
	core  string // copy of the core lib (examples/hello/libs/core)
	app   string // app dir (make -C)
	build string // the app's build dir
	vars  map[string]string
}

func (p *project) gen() string  { return filepath.Join(p.build, "gen") }
func (p *project) objs() string { return filepath.Join(p.build, "objs") }
func (p *project) fw() string   { return filepath.Join(p.build, "fw") }
func (p *project) makefile() string {
	return filepath.Join(p.sdk, "platforms", "host", "Makefile.build")
}

// requireTools skips unless the host can build: make, gcc, g++, python3.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"make", "gcc", "g++", "python3"} {
		testenv.RequireTool(t, tool)
	}
}

// copyTree copies the regular files under src to dst keeping permission
// bits, leaving out Go test files and build output.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "build" && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(d.Name(), "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chmod(target, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

// backdate sets the mtime of every file under dir an hour back, so that a
// later touch with the current time is surely newer than any build output.
func backdate(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeVarsFile writes vars as mos writes gen/vars.mk: NAME=value lines
// sorted by name, no final newline, CR/LF as spaces, '#' as '\#'.
func writeVarsFile(t *testing.T, path string, vars map[string]string) {
	t.Helper()
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	esc := strings.NewReplacer("\r", " ", "\n", " ", "#", `\#`)
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = n + "=" + esc.Replace(vars[n])
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// depsInitC is a gen/mgos_deps_init.c of the shape mos writes (same
// includes, one init per lib in init order, LOG on failure).
func depsInitC(libs ...string) string {
	var b strings.Builder
	b.WriteString("/* Written by the test, shaped like mos's mgos_deps_init.c. */\n\n")
	b.WriteString("#include <stdbool.h>\n#include <stdio.h>\n\n#include \"common/cs_dbg.h\"\n\n#include \"mgos_app.h\"\n\n")
	for _, l := range libs {
		fmt.Fprintf(&b, "extern bool mgos_%s_init(void);\n", l)
	}
	b.WriteString("\nbool mgos_deps_init(void) {\n")
	for _, l := range libs {
		fmt.Fprintf(&b, "  LOG(LL_DEBUG, (\"Init %s...\"));\n", l)
		fmt.Fprintf(&b, "  if (!mgos_%s_init()) {\n    LOG(LL_ERROR, (\"%s init failed\"));\n    return false;\n  }\n", l, l)
	}
	b.WriteString("  return true;\n}\n")
	return b.String()
}

// tinySchema is a config schema as yaml.v2 writes mos_conf_schema.yml,
// with a quoted default holding ':' and '#' and a folded long title.
const tinySchema = `- - tiny
  - o
  - title: Tiny app settings
- - tiny.count
  - i
  - 3
  - title: How many things there are, a title long enough for yaml.v2 to fold
      it onto a second line
- - tiny.label
  - s
  - 'label: #1'
  - title: A label
- - debug.level
  - 1
`

// newTinyApp writes a small app (C and C++ sources, two fs files, a schema)
// and the gen files mos would write, next to a copy of the SDK.
func newTinyApp(t *testing.T) *project {
	t.Helper()
	requireTools(t)
	root := t.TempDir()
	p := &project{root: root, sdk: filepath.Join(root, "sdk-host"), core: filepath.Join(root, "core"), app: filepath.Join(root, "tiny")}
	p.build = filepath.Join(p.app, "build")
	copyTree(t, testenv.HostSDK(t), p.sdk)
	copyTree(t, filepath.Join(testenv.RepoRoot(t), "examples", "hello", "libs", "core"), p.core)
	testenv.WriteTree(t, p.app, testenv.Tree{
		"include/tiny.h": {Content: "#pragma once\n#define TINY_WORD \"hello from tiny\"\nconst char *tiny_word(void);\n#ifdef __cplusplus\nextern \"C\"\n#endif\nint tiny_twice(int x);\n"},
		"src/main.c": {Content: `#include "mgos.h"
#include "mgos_core.h"
#include "tiny.h"

enum mgos_app_init_result mgos_app_init(void) {
  if (!mgos_core_is_up()) return MGOS_APP_INIT_ERROR;
  printf("tiny: %s, count=%d, label=%s, mark=%s, twice=%d\n", tiny_word(),
         mgos_sys_config_get_tiny_count(), mgos_sys_config_get_tiny_label(),
         TINY_MARK, tiny_twice(21));
  return MGOS_APP_INIT_SUCCESS;
}
`},
		"src/util.c":                    {Content: "#include \"tiny.h\"\n\nconst char *tiny_word(void) { return TINY_WORD; }\n"},
		"src/twice.cpp":                 {Content: "#include \"tiny.h\"\n\nint tiny_twice(int x) { return 2 * x; }\n"},
		"fs/a.txt":                      {Content: "file a\n"},
		"fs/b.json":                     {Content: "{\"b\": 2}\n"},
		"build/gen/mos_conf_schema.yml": {Content: tinySchema},
		"build/gen/mgos_deps_init.c":    {Content: depsInitC("core")},
	})
	backdate(t, root)
	a := p.app
	p.vars = map[string]string{
		"APP":             "tiny",
		"APP_VERSION":     "1.2.3",
		"APP_SOURCES":     strings.Join([]string{a + "/src/main.c", a + "/src/util.c", a + "/src/twice.cpp", p.core + "/src/mgos_core.c", p.gen() + "/mgos_deps_init.c"}, " "),
		"APP_INCLUDES":    strings.Join([]string{a + "/include", p.core + "/include"}, " "),
		"APP_FS_FILES":    a + "/fs/a.txt " + a + "/fs/b.json",
		"APP_BIN_LIBS":    "",
		"APP_CFLAGS":      `-DMGOS=1 -DMGOS_HAVE_CORE=1 -DTINY_MARK='"#1"'`,
		"APP_CXXFLAGS":    `-DMGOS=1 -DMGOS_HAVE_CORE=1`,
		"APP_CONF_SCHEMA": p.gen() + "/mos_conf_schema.yml",
		"FFI_SYMBOLS":     "",
		"BOARD":           "",
		"MGOS":            "1",
		"MGOS_HAVE_CORE":  "1",
		"PLATFORM":        "host",
		"BUILD_DIR":       p.objs(),
		"GEN_DIR":         p.gen(),
		"FW_DIR":          p.fw(),
		"FS_STAGING_DIR":  filepath.Join(p.build, "fs"),
		"MANIFEST_FINAL":  p.gen() + "/mos_final.yml",
		"MGOS_PATH":       p.sdk,
	}
	return p
}

const tinyOutput = "tiny: hello from tiny, count=3, label=label: #1, mark=#1, twice=42\nmgos: tiny init done\n"

// tinySources are the files compiled for the tiny app.
func (p *project) tinySources() []string {
	return []string{
		p.app + "/src/main.c", p.app + "/src/util.c", p.app + "/src/twice.cpp",
		p.core + "/src/mgos_core.c", p.gen() + "/mgos_deps_init.c",
		p.sdk + "/src/cs_dbg.c", p.sdk + "/src/mgos_main.c", p.gen() + "/mgos_config.c",
	}
}

// makeWithVarsFile runs make as mos does when the makefile mentions
// MGOS_VARS_FILE: a single variable argument naming gen/vars.mk.
func (p *project) makeWithVarsFile(t *testing.T, target string) (string, error) {
	t.Helper()
	vf := filepath.Join(p.gen(), "vars.mk")
	writeVarsFile(t, vf, p.vars)
	return runCmd(t, "make", "-j", "2", "-C", p.app, "-f", p.makefile(), target, "MGOS_VARS_FILE="+vf)
}

// makeWithArgs passes every variable as its own NAME=value argument.
func (p *project) makeWithArgs(t *testing.T, target string) (string, error) {
	t.Helper()
	args := []string{"-j", "2", "-C", p.app, "-f", p.makefile(), target}
	for n, v := range p.vars {
		args = append(args, n+"="+v)
	}
	return runCmd(t, "make", args...)
}

// runCmd runs a command and returns its stdout and stderr together.
func runCmd(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

func mustSucceed(t *testing.T, out string, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("make failed: %v\n%s", err, out)
	}
	return out
}

func (p *project) mustMakeWithVarsFile(t *testing.T, target string) string {
	t.Helper()
	out, err := p.makeWithVarsFile(t, target)
	return mustSucceed(t, out, err)
}

func (p *project) mustMakeWithArgs(t *testing.T, target string) string {
	t.Helper()
	out, err := p.makeWithArgs(t, target)
	return mustSucceed(t, out, err)
}

// compiled returns the sources named by "CC <path>" lines, sorted.
func compiled(out string) []string {
	var srcs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "CC ") {
			srcs = append(srcs, strings.TrimPrefix(line, "CC "))
		}
	}
	sort.Strings(srcs)
	return srcs
}

func sameList(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func wantCompiled(t *testing.T, step, out string, want ...string) {
	t.Helper()
	if got := compiled(out); !sameList(got, want) {
		t.Fatalf("%s: compiled %q, want %q\nmake output:\n%s", step, got, want, out)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		t.Fatal(err)
	}
}

func runELF(t *testing.T, elf string) string {
	t.Helper()
	cmd := exec.Command(elf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running %s: %v\nstderr:\n%s", elf, err, stderr.String())
	}
	return stdout.String()
}

func digests(b []byte) (sha1hex, sha256hex string) {
	s1 := sha1.Sum(b)
	s256 := sha256.Sum256(b)
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

// fwZip is a read firmware zip: entry names in order and their bytes.
type fwZip struct {
	names []string
	data  map[string][]byte
}

func readZip(t *testing.T, path string) fwZip {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("opening firmware: %v", err)
	}
	defer zr.Close()
	z := fwZip{data: map[string][]byte{}}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s: %s is compressed (method %d), want stored", path, f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		z.names = append(z.names, f.Name)
		z.data[f.Name] = b
	}
	return z
}

// checkTinyFirmware checks the §8.1 layout and manifest of the tiny app's
// firmware and returns the manifest.
func checkTinyFirmware(t *testing.T, p *project) map[string]any {
	t.Helper()
	last := filepath.Join(p.fw(), "tiny-host-last.zip")
	z := readZip(t, last)
	wantNames := []string{"tiny-1.2.3/manifest.json", "tiny-1.2.3/fs.img", "tiny-1.2.3/tiny.elf"}
	if strings.Join(z.names, " ") != strings.Join(wantNames, " ") {
		t.Fatalf("zip entries %q, want %q", z.names, wantNames)
	}
	versioned, err := os.ReadFile(filepath.Join(p.fw(), "tiny-host-1.2.3.zip"))
	if err != nil {
		t.Fatalf("versioned firmware copy: %v", err)
	}
	lastBytes, _ := os.ReadFile(last)
	if !bytes.Equal(versioned, lastBytes) {
		t.Errorf("tiny-host-1.2.3.zip differs from tiny-host-last.zip")
	}

	raw := z.data["tiny-1.2.3/manifest.json"]
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.json: %v\n%s", err, raw)
	}
	// 2-space indent, sorted keys: exactly what Go writes for the same map.
	canon, _ := json.MarshalIndent(m, "", "  ")
	if !bytes.Equal(raw, canon) {
		t.Errorf("manifest.json is not 2-space indented with sorted keys:\n%s\nwant:\n%s", raw, canon)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if got := strings.Join(keys, " "); got != "build_id build_timestamp name parts platform version" {
		t.Errorf("manifest keys %q", got)
	}
	if m["name"] != "tiny" || m["platform"] != "host" || m["version"] != "1.2.3" {
		t.Errorf("manifest name/platform/version = %v/%v/%v, want tiny/host/1.2.3", m["name"], m["platform"], m["version"])
	}
	if ts, _ := m["build_timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(ts) {
		t.Errorf("build_timestamp %q is not YYYY-MM-DDTHH:MM:SSZ", ts)
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("build_timestamp %q: %v", ts, err)
	}
	if id, _ := m["build_id"].(string); !regexp.MustCompile(`^\d{8}-\d{6}(/\S+)?$`).MatchString(id) {
		t.Errorf("build_id %q is not YYYYmmdd-HHMMSS[/git info]", id)
	}

	parts, _ := m["parts"].(map[string]any)
	if len(parts) != 2 {
		t.Fatalf("parts %v, want app and fs", parts)
	}
	app, _ := parts["app"].(map[string]any)
	elf := z.data["tiny-1.2.3/tiny.elf"]
	onDisk, err := os.ReadFile(filepath.Join(p.objs(), "tiny.elf"))
	if err != nil || !bytes.Equal(elf, onDisk) {
		t.Errorf("zipped tiny.elf differs from build/objs/tiny.elf (%v)", err)
	}
	s1, s256 := digests(elf)
	wantApp := map[string]any{"type": "app", "src": "tiny.elf", "size": float64(len(elf)), "cs_sha1": s1, "cs_sha256": s256}
	if fmt.Sprint(app) != fmt.Sprint(wantApp) {
		t.Errorf("parts.app = %v, want %v", app, wantApp)
	}
	// The fs part is one image file (a tar of the fs files), as a real
	// platform's fs part is one file.
	img := z.data["tiny-1.2.3/fs.img"]
	s1, s256 = digests(img)
	wantFS := map[string]any{"type": "fs", "src": "fs.img", "size": float64(len(img)), "cs_sha1": s1, "cs_sha256": s256}
	if fmt.Sprint(parts["fs"]) != fmt.Sprint(wantFS) {
		t.Errorf("parts.fs = %v, want %v", parts["fs"], wantFS)
	}
	tr := tar.NewReader(bytes.NewReader(img))
	var inImage []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("fs.img: %v", err)
		}
		b, _ := io.ReadAll(tr)
		src, _ := os.ReadFile(filepath.Join(p.app, "fs", h.Name))
		if !bytes.Equal(b, src) {
			t.Errorf("fs.img: %s = %q, want %q", h.Name, b, src)
		}
		inImage = append(inImage, h.Name)
	}
	if got := strings.Join(inImage, " "); got != "a.txt b.json" {
		t.Errorf("fs.img holds %q, want a.txt b.json", got)
	}
	checkStockReadable(t, raw)
	return m
}

// stockManifest has the shape stock mos 2.20.0 decodes manifest.json into
// (its firmware manifest type): parts is a map of objects whose src is a
// string, so any other src fails to decode there.
type stockManifest struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	Version  string `json:"version"`
	BuildID  string `json:"build_id"`
	Parts    map[string]*struct {
		Type     string `json:"type"`
		Src      string `json:"src"`
		Size     int64  `json:"size"`
		CSSHA1   string `json:"cs_sha1"`
		CSSHA256 string `json:"cs_sha256"`
	} `json:"parts"`
}

// checkStockReadable decodes manifest.json as stock mos does and checks
// every part's src names a file of the zip's top dir.
func checkStockReadable(t *testing.T, raw []byte) {
	t.Helper()
	var sm stockManifest
	if err := json.Unmarshal(raw, &sm); err != nil {
		t.Fatalf("stock mos could not read manifest.json: %v", err)
	}
	for name, part := range sm.Parts {
		if part == nil || part.Src == "" || strings.ContainsAny(part.Src, "/\\") {
			t.Errorf("parts.%s.src = %+v, want a plain file name", name, part)
		}
	}
}

func TestBuildWithVarsFile(t *testing.T) {
	t.Parallel()
	p := newTinyApp(t)

	out := p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "first build", out, p.tinySources()...)
	for _, line := range []string{"LD " + p.objs() + "/tiny.elf", "ZIP " + p.fw() + "/tiny-host-last.zip"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("first build output lacks %q:\n%s", line, out)
		}
	}
	m := checkTinyFirmware(t, p)
	if got := runELF(t, filepath.Join(p.objs(), "tiny.elf")); got != tinyOutput {
		t.Errorf("tiny.elf printed %q, want %q", got, tinyOutput)
	}

	out = p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "unchanged rebuild", out)
	if strings.Contains(out, "LD ") || strings.Contains(out, "ZIP ") {
		t.Errorf("unchanged rebuild relinked or repacked:\n%s", out)
	}
	if m2 := checkTinyFirmware(t, p); m2["build_id"] != m["build_id"] {
		t.Errorf("unchanged rebuild changed build_id %v -> %v", m["build_id"], m2["build_id"])
	}

	touch(t, filepath.Join(p.app, "src", "util.c"))
	out = p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "after touching util.c", out, p.app+"/src/util.c")
	if !strings.Contains(out, "ZIP ") {
		t.Errorf("a recompiled source did not repack the firmware:\n%s", out)
	}
	wantCompiled(t, "after rebuilding util.c", p.mustMakeWithVarsFile(t, "all"))

	// A header change rebuilds exactly its dependents (found via -MMD).
	hdr := filepath.Join(p.app, "include", "tiny.h")
	b, _ := os.ReadFile(hdr)
	if err := os.WriteFile(hdr, bytes.Replace(b, []byte("hello from tiny"), []byte("changed header"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, hdr)
	out = p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "after changing tiny.h", out, p.app+"/src/main.c", p.app+"/src/util.c", p.app+"/src/twice.cpp")
	if got, want := runELF(t, filepath.Join(p.objs(), "tiny.elf")), strings.Replace(tinyOutput, "hello from tiny", "changed header", 1); got != want {
		t.Errorf("after the header change tiny.elf printed %q, want %q", got, want)
	}

	// mos re-touches the schema; unchanged text must not recompile anything.
	touch(t, filepath.Join(p.gen(), "mos_conf_schema.yml"))
	wantCompiled(t, "after touching the schema", p.mustMakeWithVarsFile(t, "all"))

	// A changed default regenerates the config and compiles only its .c.
	schema := strings.Replace(tinySchema, "  - 3\n", "  - 4\n", 1)
	if err := os.WriteFile(filepath.Join(p.gen(), "mos_conf_schema.yml"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(p.gen(), "mos_conf_schema.yml"))
	out = p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "after changing a default", out, p.gen()+"/mgos_config.c")
	if got := runELF(t, filepath.Join(p.objs(), "tiny.elf")); !strings.Contains(got, "count=4,") {
		t.Errorf("after the schema change tiny.elf printed %q, want count=4", got)
	}
}

func TestBuildWithMakeArguments(t *testing.T) {
	t.Parallel()
	p := newTinyApp(t)
	out := p.mustMakeWithArgs(t, "all")
	wantCompiled(t, "first build", out, p.tinySources()...)
	checkTinyFirmware(t, p)
	if got := runELF(t, filepath.Join(p.objs(), "tiny.elf")); got != tinyOutput {
		t.Errorf("tiny.elf printed %q, want %q", got, tinyOutput)
	}
	wantCompiled(t, "unchanged rebuild", p.mustMakeWithArgs(t, "all"))
}

// TestBuildWithoutSchemaOrFS: with no app schema the core's config still
// exists, and with no fs files the firmware has only the app part.
func TestBuildWithoutSchemaOrFS(t *testing.T) {
	t.Parallel()
	p := newTinyApp(t)
	testenv.WriteTree(t, p.app, testenv.Tree{
		"src/main.c": {Content: `#include "mgos.h"
#include "tiny.h"

enum mgos_app_init_result mgos_app_init(void) {
  printf("tiny: level=%d, twice=%d\n", mgos_sys_config_get_debug_level(), tiny_twice(2));
  return MGOS_APP_INIT_SUCCESS;
}
`},
	})
	delete(p.vars, "APP_CONF_SCHEMA")
	delete(p.vars, "APP_FS_FILES")
	p.mustMakeWithVarsFile(t, "all")
	if got, want := runELF(t, filepath.Join(p.objs(), "tiny.elf")), "tiny: level=2, twice=4\nmgos: tiny init done\n"; got != want {
		t.Errorf("tiny.elf printed %q, want %q", got, want)
	}
	z := readZip(t, filepath.Join(p.fw(), "tiny-host-last.zip"))
	if got, want := strings.Join(z.names, " "), "tiny-1.2.3/manifest.json tiny-1.2.3/tiny.elf"; got != want {
		t.Errorf("zip entries %q, want %q", got, want)
	}
	var m struct{ Parts map[string]any }
	if err := json.Unmarshal(z.data["tiny-1.2.3/manifest.json"], &m); err != nil || len(m.Parts) != 1 || m.Parts["app"] == nil {
		t.Errorf("manifest parts %v (%v), want only app", m.Parts, err)
	}

	p.vars["PLATFORM"] = "esp32"
	out, err := p.makeWithVarsFile(t, "all")
	if err == nil || !strings.Contains(out, `this is the host platform makefile, but PLATFORM is "esp32"`) {
		t.Errorf("PLATFORM=esp32: err %v, output:\n%s", err, out)
	}
}

func TestLibTargetArchivesAppObjectsOnly(t *testing.T) {
	t.Parallel()
	p := newTinyApp(t)
	lib := filepath.Join(p.objs(), "lib.a")
	out := p.mustMakeWithVarsFile(t, lib)
	if !strings.Contains(out, "AR "+lib+"\n") {
		t.Errorf("no AR line for %s:\n%s", lib, out)
	}
	members, err := runCmd(t, "ar", "t", lib)
	if err != nil {
		t.Fatalf("ar t: %v\n%s", err, members)
	}
	want := []string{"main.c.o", "util.c.o", "twice.cpp.o", "mgos_core.c.o", "mgos_deps_init.c.o"}
	if got := strings.Fields(members); !sameList(got, want) {
		t.Errorf("lib.a holds %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(p.fw(), "tiny-host-last.zip")); err == nil {
		t.Errorf("the lib target also made the firmware")
	}
}

func TestFwMetaWithoutExecBitFails(t *testing.T) {
	t.Parallel()
	p := newTinyApp(t)
	tool := filepath.Join(p.sdk, "tools", "mgos_fw_meta.py")
	if err := os.Chmod(tool, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := p.makeWithVarsFile(t, "all")
	if err == nil {
		t.Fatalf("make succeeded with a non-executable mgos_fw_meta.py:\n%s", out)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Errorf("output lacks %q:\n%s", "Permission denied", out)
	}
	if _, err := os.Stat(filepath.Join(p.fw(), "tiny-host-last.zip")); err == nil {
		t.Errorf("firmware zip exists after the failed build")
	}

	// With the bit back only the packaging runs again.
	if err := os.Chmod(tool, 0o755); err != nil {
		t.Fatal(err)
	}
	out = p.mustMakeWithVarsFile(t, "all")
	wantCompiled(t, "rebuild after chmod +x", out)
	checkTinyFirmware(t, p)
}

// TestGenConfigFlowAndBlockYAML: the schema as mos.yml writes it (flow) and
// as mos writes mos_conf_schema.yml (yaml.v2 block) give the same code.
func TestGenConfigFlowAndBlockYAML(t *testing.T) {
	t.Parallel()
	testenv.RequireTool(t, "python3")
	dir := t.TempDir()
	tool := filepath.Join(testenv.HostSDK(t), "tools", "mgos_gen_config.py")
	testenv.WriteTree(t, dir, testenv.Tree{
		"flow.yml": {Content: `# as written in mos.yml
- ["app", "o", {title: "App settings"}]
- ["app.name", "s", "it's \"quoted\" # not a comment", {title: "Name"}]
- ["app.ratio", "d", 0.25, {title: "Ratio"}]
- ["app.on", "b", true, {title: "On"}]
- ["app.sub.mask", "ui", 0x1F, {title: "Mask"}]  # parent objects appear as needed
- ["app.on", false]
`},
		"block.yml": {Content: `- - app
  - o
  - title: App settings
- - app.name
  - s
  - 'it''s "quoted" # not a comment'
  - title: Name
- - app.ratio
  - d
  - 0.25
  - title: Ratio
- - app.on
  - b
  - true
  - title: "On"
- - app.sub.mask
  - ui
  - 31
  - title: Mask
- - app.on
  - false
`},
		"bad.yml": {Content: "- [\"app.x\", \"q\", 1]\n"},
	})
	gen := func(schema, out string) map[string]string {
		o, err := runCmd(t, "python3", tool, "--dest_dir="+filepath.Join(dir, out), filepath.Join(dir, schema))
		if err != nil {
			t.Fatalf("%s: %v\n%s", schema, err, o)
		}
		files := map[string]string{}
		for _, f := range []string{"mgos_config.h", "mgos_config.c"} {
			b, err := os.ReadFile(filepath.Join(dir, out, f))
			if err != nil {
				t.Fatal(err)
			}
			// The first line names the schema file.
			files[f] = string(b[bytes.IndexByte(b, '\n'):])
		}
		return files
	}
	flow, block := gen("flow.yml", "flow"), gen("block.yml", "block")
	for f := range flow {
		if flow[f] != block[f] {
			t.Errorf("%s differs between flow and block schema:\n%s\n---\n%s", f, flow[f], block[f])
		}
	}
	for _, want := range []string{
		`.name = "it's \"quoted\" # not a comment",`, ".ratio = 0.25,", ".on = 0,", ".mask = 31U,",
	} {
		if !strings.Contains(flow["mgos_config.c"], want) {
			t.Errorf("mgos_config.c lacks %q:\n%s", want, flow["mgos_config.c"])
		}
	}
	if !strings.Contains(flow["mgos_config.h"], "static inline unsigned int mgos_sys_config_get_app_sub_mask(void)") {
		t.Errorf("mgos_config.h lacks the getter of app.sub.mask:\n%s", flow["mgos_config.h"])
	}

	out, err := runCmd(t, "python3", tool, "--dest_dir="+filepath.Join(dir, "bad"), filepath.Join(dir, "bad.yml"))
	if err == nil || !strings.Contains(out, "bad.yml: entry 0: app.x: unknown type 'q'") {
		t.Errorf("bad schema: err %v, output %q; want a failure naming the file, entry and type", err, out)
	}
}

// TestHelloExample builds examples/hello with the inputs mos would give it
// (libs greeting and counter, the core lib, the merged config schema).
func TestHelloExample(t *testing.T) {
	t.Parallel()
	requireTools(t)
	root := t.TempDir()
	examples := filepath.Join(testenv.RepoRoot(t), "examples")
	p := &project{root: root, sdk: filepath.Join(root, "sdk-host"), app: filepath.Join(root, "hello")}
	p.build = filepath.Join(p.app, "build")
	copyTree(t, filepath.Join(examples, "sdk-host"), p.sdk)
	copyTree(t, filepath.Join(examples, "hello"), p.app)
	a := p.app
	// Lib schemas first, in libs order, then the app's (manifest.md §6).
	testenv.WriteTree(t, p.gen(), testenv.Tree{
		"mos_conf_schema.yml": {Content: `- - greeting
  - o
  - title: Greeting lib settings
- - greeting.word
  - s
  - Hi
  - title: Word to greet with
- - hello
  - o
  - title: Hello app settings
- - hello.name
  - s
  - world
  - title: Who to greet
- - hello.times
  - i
  - 2
  - title: How many greetings to print
- - hello.shout
  - b
  - false
  - title: Print the greetings in upper case
- - greeting.word
  - Hello
`},
		"mgos_deps_init.c": {Content: depsInitC("core", "greeting", "counter")},
	})
	p.vars = map[string]string{
		"APP":         "hello",
		"APP_VERSION": "1.0",
		"APP_SOURCES": strings.Join([]string{
			a + "/libs/core/src/mgos_core.c", a + "/libs/greeting/src/greeting.c",
			a + "/libs/counter/src/counter.c", a + "/src/hello.c", a + "/src/main.c",
			a + "/src/upcase.c", p.gen() + "/mgos_deps_init.c"}, " "),
		"APP_INCLUDES": strings.Join([]string{
			a + "/libs/core/include", a + "/libs/greeting/include",
			a + "/libs/counter/include", a + "/include"}, " "),
		"APP_FS_FILES":    a + "/fs/hello.txt " + a + "/fs/index.html",
		"APP_CFLAGS":      "-DHELLO_ON_HOST=1 -DMGOS=1 -DMGOS_HAVE_CORE=1 -DMGOS_HAVE_COUNTER=1 -DMGOS_HAVE_GREETING=1",
		"APP_CONF_SCHEMA": p.gen() + "/mos_conf_schema.yml",
		"PLATFORM":        "host",
		"BUILD_DIR":       p.objs(),
		"GEN_DIR":         p.gen(),
		"FW_DIR":          p.fw(),
		"FS_STAGING_DIR":  filepath.Join(p.build, "fs"),
		"MGOS_PATH":       p.sdk,
	}
	out := p.mustMakeWithVarsFile(t, "all")
	if n := len(compiled(out)); n != 10 {
		t.Errorf("compiled %d files, want 10 (7 app and lib sources, 2 core, config):\n%s", n, out)
	}
	want := "Hello, world! (1/2)\nHello, world! (2/2)\nhello: built for the host\nmgos: hello init done\n"
	if got := runELF(t, filepath.Join(p.objs(), "hello.elf")); got != want {
		t.Errorf("hello.elf printed %q, want %q", got, want)
	}
	z := readZip(t, filepath.Join(p.fw(), "hello-host-last.zip"))
	wantNames := "hello-1.0/manifest.json hello-1.0/fs.img hello-1.0/hello.elf"
	if got := strings.Join(z.names, " "); got != wantNames {
		t.Errorf("zip entries %q, want %q", got, wantNames)
	}
}

// TestBuildInSDKImage runs the tiny app's make inside the SDK Docker image
// the way mos does: app at /app, SDK at /mongoose-os (MGOS_PATH) and at its
// own path (for -f), the rest at their own paths, no network.
func TestBuildInSDKImage(t *testing.T) {
	testenv.RequireDocker(t)
	p := newTinyApp(t)
	image := strings.TrimSpace(readFile(t, filepath.Join(p.sdk, "platforms", "host", "sdk.version")))
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "sdk-image.sh")
	if out, err := runCmd(t, script, image); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	p.vars["MGOS_PATH"] = "/mongoose-os"
	vf := filepath.Join(p.gen(), "vars.mk")
	docker := func() string {
		writeVarsFile(t, vf, p.vars)
		out, err := runCmd(t, "docker", "run", "--rm", "--network", "none",
			"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getuid()),
			"-v", p.app+":/app", "-v", p.sdk+":/mongoose-os", "-v", p.root+":"+p.root,
			image, "/bin/bash", "-c",
			"nice make -j 2 -C /app -f '"+p.makefile()+"' all 'MGOS_VARS_FILE="+vf+"'")
		return mustSucceed(t, out, err)
	}
	out := docker()
	// The core's own sources are found through MGOS_PATH; everything else
	// comes by host path in APP_SOURCES or GEN_DIR.
	var want []string
	for _, s := range p.tinySources() {
		want = append(want, strings.Replace(s, p.sdk+"/src/", "/mongoose-os/src/", 1))
	}
	wantCompiled(t, "build in the SDK image", out, want...)
	checkTinyFirmware(t, p)
	got, err := runCmd(t, "docker", "run", "--rm", "--network", "none", "-v", p.root+":"+p.root,
		image, filepath.Join(p.objs(), "tiny.elf"))
	if err != nil || !strings.HasSuffix(got, tinyOutput) {
		t.Errorf("tiny.elf in the image: %v, printed %q, want %q", err, got, tinyOutput)
	}
	wantCompiled(t, "unchanged rebuild in the SDK image", docker())
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
