package manifest_test

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// fakeProvider serves libs from <root>/libs/<last location component>
// and the mongoose-os module from <root>/mos.
type fakeProvider struct {
	root string
	// libErr fails Lib for these locations.
	libErr map[string]error
	// prebuilt maps "<lib>/<variant>" to a binary (relative to root).
	prebuilt map[string]string
	// repo gives repo versions by location.
	repo map[string]manifest.Fetched

	mu       sync.Mutex
	libCalls []string // "<name> <default version> <platform>"
	binCalls []string // "<name> <variant> <version>"
}

func (p *fakeProvider) Lib(_ context.Context, ref *manifest.Dep, appDir, defVersion, platform string) (manifest.Fetched, error) {
	p.mu.Lock()
	p.libCalls = append(p.libCalls, fmt.Sprintf("%s %s %s", ref.Name, defVersion, platform))
	p.mu.Unlock()
	if err := p.libErr[ref.Location]; err != nil {
		return manifest.Fetched{}, err
	}
	f := p.repo[ref.Location]
	f.Dir = filepath.Join(p.root, "libs", path.Base(ref.Location))
	return f, nil
}

func (p *fakeProvider) Module(_ context.Context, ref *manifest.Dep, _, _, _ string) (manifest.Fetched, error) {
	f := p.repo[ref.Location]
	if ref.Name == manifest.MosModuleName {
		f.Dir = filepath.Join(p.root, "mos")
	} else {
		f.Dir = filepath.Join("modules", path.Base(ref.Location)) // relative: resolved against Cwd
	}
	return f, nil
}

func (p *fakeProvider) PrebuiltLib(_ context.Context, ref *manifest.Dep, variant, version string) (string, error) {
	p.mu.Lock()
	p.binCalls = append(p.binCalls, fmt.Sprintf("%s %s %s", ref.Name, variant, version))
	p.mu.Unlock()
	if b, ok := p.prebuilt[ref.Name+"/"+variant]; ok {
		return b, nil
	}
	return "", nil
}

// mosTree is a minimal mongoose-os module: the platforms it supports.
var mosTree = testenv.Tree{
	"mos/platforms/esp32/sdk.version":   {Content: "x"},
	"mos/platforms/esp8266/sdk.version": {Content: "x"},
	"mos/platforms/nosdk/readme":        {Content: "no sdk.version: not a platform"},
}

// withMos adds the mos module and an empty core lib to tree.
func withMos(tree testenv.Tree) testenv.Tree {
	out := testenv.Tree{"libs/core/mos.yml": {Content: "manifest_version: 2020-08-02\n"}}
	for k, v := range mosTree {
		out[k] = v
	}
	for k, v := range tree {
		out[k] = v
	}
	return out
}

// setup writes tree into a temp dir and returns a request for its "app"
// dir (relative to the temp dir, which is Cwd) and the provider.
func setup(t *testing.T, tree testenv.Tree) (*manifest.Request, *fakeProvider) {
	t.Helper()
	root := t.TempDir()
	testenv.WriteTree(t, root, withMos(tree))
	p := &fakeProvider{root: root}
	return &manifest.Request{
		AppDir:     "app",
		Cwd:        root,
		Platform:   "esp32",
		BuildVars:  map[string]string{"BOARD": ""},
		MosVersion: "2.20.0",
		Provider:   p,
	}, p
}

func resolve(t *testing.T, req *manifest.Request) *manifest.Result {
	t.Helper()
	res, err := manifest.Resolve(context.Background(), req)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return res
}

func resolveErr(t *testing.T, req *manifest.Request) error {
	t.Helper()
	res, err := manifest.Resolve(context.Background(), req)
	if err == nil {
		t.Fatalf("Resolve succeeded (name %q), want an error", res.Manifest.Name)
	}
	return err
}

// libNames lists the names in libs_handled.
func libNames(m *manifest.Manifest) []string {
	var out []string
	for _, lh := range m.LibsHandled {
		out = append(out, lh.Lib.Name)
	}
	return out
}

func lib(m *manifest.Manifest, name string) *manifest.LibHandled {
	for i := range m.LibsHandled {
		if m.LibsHandled[i].Lib.Name == name {
			return &m.LibsHandled[i]
		}
	}
	return nil
}

// rel strips the temp root from paths, for readable comparisons.
func rel(root string, paths []string) []string {
	out := []string{}
	for _, p := range paths {
		out = append(out, strings.TrimPrefix(filepath.ToSlash(p), filepath.ToSlash(root)+"/"))
	}
	return out
}

func yml(lines ...string) testenv.File {
	return testenv.File{Content: strings.Join(lines, "\n") + "\n"}
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); err == nil {
		t.Errorf("%s exists", p)
	}
}
