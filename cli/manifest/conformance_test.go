package manifest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/genfiles"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// The golden cases of upstream's manifest parser, run the way upstream's
// own test runs them (shared/spec/manifest.md §14.1).

type testDesc struct {
	PreferBinaryLibs bool                 `yaml:"prefer_binary_libs"`
	BuildVars        map[string]string    `yaml:"build_vars"`
	RepoInfo         map[string]*repoInfo `yaml:"repo_info"`
}

type repoInfo struct {
	RepoVersion string `yaml:"repo_version"`
	RepoDirty   bool   `yaml:"repo_dirty"`
}

// goldenProvider maps libs to <T>/libs/<last location component>, the
// mongoose-os module to test_repo_root and other modules to
// <T>/modules/<last component>. Paths it returns are relative to the
// test's working dir, as upstream's are.
type goldenProvider struct {
	desc     *testDesc
	repoRoot string
}

func lastComponent(loc string) string {
	parts := strings.Split(loc, "/")
	return parts[len(parts)-1]
}

func (p *goldenProvider) repo(loc string, dir string) manifest.Fetched {
	f := manifest.Fetched{Dir: dir}
	if ri := p.desc.RepoInfo[loc]; ri != nil {
		f.RepoVersion, f.RepoDirty = ri.RepoVersion, ri.RepoDirty
	}
	return f
}

func (p *goldenProvider) Lib(_ context.Context, ref *manifest.Dep, appDir, _, _ string) (manifest.Fetched, error) {
	return p.repo(ref.Location, filepath.Join(appDir, "..", "libs", lastComponent(ref.Location))), nil
}

func (p *goldenProvider) Module(_ context.Context, ref *manifest.Dep, appDir, _, _ string) (manifest.Fetched, error) {
	if ref.Name == manifest.MosModuleName {
		return p.repo(ref.Location, p.repoRoot), nil
	}
	return p.repo(ref.Location, filepath.Join(appDir, "..", "modules", lastComponent(ref.Location))), nil
}

func (p *goldenProvider) PrebuiltLib(_ context.Context, ref *manifest.Dep, variant, _ string) (string, error) {
	return "", fmt.Errorf("%s: no prebuilt %s binary in the golden data: %w", ref.Name, variant, os.ErrNotExist)
}

// goldenCase is one case dir (relative to the manifest_parser copy) and
// its platforms.
type goldenCase struct {
	dir       string // e.g. test_manifests/testset_09_error/test_01_error_app
	platforms []string
}

// findCases walks the tree as upstream's runner does: test_* dirs are
// cases, testset_* dirs are walked, other dirs hold shared data.
func findCases(t *testing.T, root, rel string) []goldenCase {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, e := range entries {
		switch name := e.Name(); {
		case !e.IsDir():
		case strings.HasPrefix(name, "test_"):
			c := goldenCase{dir: filepath.Join(rel, name)}
			plats, err := os.ReadDir(filepath.Join(root, c.dir, "expected"))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range plats {
				c.platforms = append(c.platforms, p.Name())
			}
			out = append(out, c)
		case strings.HasPrefix(name, "testset_"):
			out = append(out, findCases(t, root, filepath.Join(rel, name))...)
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	src := filepath.Join(testenv.SharedDir(t), "conformance", "manifest_parser")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("golden data %s is absent; skipping", src)
	}
	// Work on a copy: the engine is run with the copy as working dir and
	// gen files are written into it; the reference data stays untouched.
	root := t.TempDir()
	for _, d := range []string{"test_manifests", "test_repo_root"} {
		copyGolden(t, filepath.Join(src, d), filepath.Join(root, d))
	}
	cases := findCases(t, root, "test_manifests")
	pairs := 0
	for _, c := range cases {
		pairs += len(c.platforms)
	}
	// 52 expected/<platform> dirs; 7 cases share another case's expected
	// dir through a symlink, and upstream runs those too.
	if pairs != 59 {
		t.Errorf("found %d case/platform pairs, want 59", pairs)
	}

	for _, c := range cases {
		name := filepath.ToSlash(strings.TrimPrefix(c.dir, "test_manifests"+string(filepath.Separator)))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			desc := &testDesc{}
			if data, err := os.ReadFile(filepath.Join(root, c.dir, "test_desc.yml")); err == nil {
				if err := yaml.Unmarshal(data, desc); err != nil {
					t.Fatalf("test_desc.yml: %v", err)
				}
			}
			for _, platform := range c.platforms {
				t.Run(platform, func(t *testing.T) {
					runGolden(t, root, c.dir, platform, desc)
				})
			}
		})
	}
}

func runGolden(t *testing.T, root, caseDir, platform string, desc *testDesc) {
	appDir := filepath.Join(caseDir, "app")
	genDir := filepath.Join(appDir, "build", "gen")
	expDir := filepath.Join(root, caseDir, "expected", platform)
	var warnings []string
	res, err := manifest.Resolve(context.Background(), &manifest.Request{
		AppDir:             appDir,
		Cwd:                root,
		Platform:           platform,
		BuildVars:          desc.BuildVars,
		MosVersion:         "0.01",
		Provider:           &goldenProvider{desc: desc, repoRoot: filepath.Join(root, "test_repo_root")},
		GenDir:             genDir,
		PreferPrebuiltLibs: desc.PreferBinaryLibs,
		Warn:               func(msg string) { warnings = append(warnings, msg) },
	})

	if want, rerr := os.ReadFile(filepath.Join(expDir, "error.txt")); rerr == nil {
		wantText := strings.TrimSpace(string(want))
		if err == nil {
			t.Fatalf("resolved without error, want an error containing %q", wantText)
		}
		if !strings.Contains(err.Error(), wantText) {
			t.Fatalf("error %q\ndoes not contain %q", err, wantText)
		}
		return
	}
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}

	absGen := filepath.Join(root, genDir)
	if _, err := genfiles.WriteFinal(absGen, res.Manifest); err != nil {
		t.Fatal(err)
	}
	if err := genfiles.WriteDepsManifest(absGen, res.DepsManifest); err != nil {
		t.Fatal(err)
	}
	if err := genfiles.WriteDepsInit(absGen, res.DepsInitC, res.MTime); err != nil {
		t.Fatal(err)
	}

	final := readFile(t, filepath.Join(absGen, genfiles.FinalManifestFile))
	final = addPlaceholders(final, root, caseDir)
	wantFinal := readFile(t, filepath.Join(expDir, "mos_final.yml"))
	compareYAML(t, "mos_final.yml", final, wantFinal)
	if !bytes.Equal(final, wantFinal) {
		t.Errorf("mos_final.yml is equal as YAML but not byte for byte:\n%s", final)
	}

	deps := readFile(t, filepath.Join(absGen, genfiles.DepsManifestFile))
	wantDeps := readFile(t, filepath.Join(expDir, "mgos_deps_manifest.yml"))
	compareYAML(t, "mgos_deps_manifest.yml", deps, wantDeps)
	if !bytes.Equal(deps, wantDeps) {
		t.Errorf("mgos_deps_manifest.yml is equal as YAML but not byte for byte:\n%s", deps)
	}

	if wantInit, err := os.ReadFile(filepath.Join(expDir, "mgos_deps_init.c")); err == nil {
		gotInit := readFile(t, filepath.Join(absGen, genfiles.DepsInitFile))
		if collapse(gotInit) != collapse(wantInit) {
			t.Errorf("mgos_deps_init.c differs:\n%s\nwant:\n%s", gotInit, wantInit)
		} else if !bytes.Equal(gotInit, wantInit) {
			t.Errorf("mgos_deps_init.c differs in white space only:\n%q\nwant:\n%q", gotInit, wantInit)
		}
	}
}

// symlinkText is the content git leaves in place of a symlink when it
// checks out without symlink support: a relative path and nothing else.
var symlinkText = regexp.MustCompile(`^(\.\./)+[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// copyGolden copies the golden tree from src to dst, turning files that
// stand for symlinks (upstream's data shares libs between cases that way)
// back into symlinks.
func copyGolden(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if link := string(data); symlinkText.MatchString(link) {
			if _, err := os.Lstat(filepath.Join(filepath.Dir(p), link)); err == nil {
				return os.Symlink(link, target)
			}
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying golden data: %v", err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// addPlaceholders replaces the paths of this run by the names the
// expected files use.
func addPlaceholders(data []byte, root, caseDir string) []byte {
	s := string(data)
	s = strings.ReplaceAll(s, filepath.Join(root, caseDir), "__APP_ROOT__")
	s = strings.ReplaceAll(s, root, "__MANIFEST_PARSER_ROOT__")
	s = strings.ReplaceAll(s, "- cc3200\n- esp32\n- esp8266\n- ubuntu", "__ALL_PLATFORMS__")
	return []byte(s)
}

var blankRun = regexp.MustCompile(`\s+`)

func collapse(b []byte) string {
	return blankRun.ReplaceAllString(strings.TrimSpace(string(b)), " ")
}

// compareYAML compares two YAML documents as ordered trees (keys, values
// and the order of keys and list items).
func compareYAML(t *testing.T, what string, got, want []byte) {
	t.Helper()
	// The platforms placeholder stands for list items: make it one.
	item := []byte("- __ALL_PLATFORMS__")
	got = bytes.ReplaceAll(got, []byte("__ALL_PLATFORMS__"), item)
	want = bytes.ReplaceAll(want, []byte("__ALL_PLATFORMS__"), item)
	var g, w yaml.MapSlice
	if err := yaml.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: parsing result: %v\n%s", what, err, got)
	}
	if err := yaml.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: parsing expected: %v", what, err)
	}
	if d := yamlDiff("", g, w); d != "" {
		t.Errorf("%s differs at %s\ngot:\n%s\nwant:\n%s", what, d, got, want)
	}
}

// yamlDiff returns the path of the first difference between two decoded
// YAML values, or "".
func yamlDiff(at string, got, want any) string {
	switch w := want.(type) {
	case yaml.MapSlice:
		g, ok := got.(yaml.MapSlice)
		if !ok {
			return fmt.Sprintf("%s (got %T, want a map)", at, got)
		}
		for i := 0; i < len(g) || i < len(w); i++ {
			switch {
			case i >= len(g):
				return fmt.Sprintf("%s: missing key %v", at, w[i].Key)
			case i >= len(w):
				return fmt.Sprintf("%s: extra key %v", at, g[i].Key)
			case !reflect.DeepEqual(g[i].Key, w[i].Key):
				return fmt.Sprintf("%s: key #%d is %v, want %v", at, i, g[i].Key, w[i].Key)
			}
			if d := yamlDiff(fmt.Sprintf("%s.%v", at, w[i].Key), g[i].Value, w[i].Value); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s (got %T, want a list)", at, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d items, want %d", at, len(g), len(w))
		}
		for i := range w {
			if d := yamlDiff(fmt.Sprintf("%s[%d]", at, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%s: %#v, want %#v", at, got, want)
	}
	return ""
}

func TestYAMLDiffDetectsDifferences(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"a: 1\nb: 2\n", "b: 2\na: 1\n"},
		{"l: [x, y]\n", "l: [y, x]\n"},
		{"m: {k: \"1\"}\n", "m: {k: 1}\n"},
		{"a: 1\n", "a: 1\nb: 2\n"},
	} {
		var a, b yaml.MapSlice
		if err := yaml.Unmarshal([]byte(tc.a), &a); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(tc.b), &b); err != nil {
			t.Fatal(err)
		}
		if yamlDiff("", a, b) == "" {
			t.Errorf("%q vs %q: no difference found", tc.a, tc.b)
		}
		if d := yamlDiff("", a, a); d != "" {
			t.Errorf("%q vs itself: %s", tc.a, d)
		}
	}
}
