package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// contextDir is where the test's server keeps context name of the hello
// app.
func (e *env) contextDir(name string) string {
	return filepath.Join(e.work, "volumes", "2.20.0", "apps", "hello", "host", "build_contexts", name)
}

// hijack makes the SDK of the checkout app end its build by replacing its
// context's dir rel (under /mos/ctx, where the sandbox shows it) with a
// link to target, as a hostile build's Makefile can.
func hijack(t *testing.T, app, rel, target string) {
	t.Helper()
	mk := filepath.Join(app, "..", "sdk-host", "platforms", "host", "Makefile.build")
	b, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("all: $(FW_ZIP)\n"), []byte(fmt.Sprintf("all: hijack\nhijack: $(FW_ZIP)\n\trm -rf /mos/ctx/%s && ln -s %s /mos/ctx/%s\n", rel, target, rel)), 1)
	if err := os.WriteFile(mk, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot reads every file of dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// TestBuildCannotLinkOutOfItsContext: a build that replaces its build/fw,
// or its whole build/, with a link to another context's never gets that
// context's firmware, and never changes or deletes a file there (issue 20,
// rows 6 and 7: the link was followed by mos's hard link of fw.zip, by the
// server's packing and build.log writes, and by a clean).
func TestBuildCannotLinkOutOfItsContext(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		for _, rel := range []string{"build/fw", "build"} {
			t.Run(runner+"/"+filepath.Base(rel), func(t *testing.T) { buildCannotLinkOut(t, runner, rel) })
		}
	}
}

func buildCannotLinkOut(t *testing.T, runner, rel string) {
	e := newEnvWith(t, runner)
	alice := e.checkout("alice")
	e.build(alice, "--repo", "../sdk-host", "--build-context", "alice_ctx")
	victim := filepath.Join(e.contextDir("alice_ctx"), filepath.FromSlash(rel))
	before := snapshot(t, filepath.Join(e.contextDir("alice_ctx"), "build"))
	aliceFw, err := os.ReadFile(filepath.Join(alice, "build", "fw.zip"))
	if err != nil {
		t.Fatal(err)
	}

	mallory := e.checkout("mallory")
	appendTo(t, filepath.Join(mallory, "src", "main.c"), "\nint mallory_was_here;\n")
	hijack(t, mallory, rel, victim)
	for _, args := range [][]string{
		{"--repo", "../sdk-host", "--build-context", "mallory_ctx"},
		{"--repo", "../sdk-host", "--build-context", "mallory_ctx"}, // the link in place
		{"--repo", "../sdk-host", "--build-context", "mallory_ctx", "--clean"},
	} {
		r, err := buildErr(e, mallory, args...)
		if err == nil {
			if got, _ := os.ReadFile(filepath.Join(mallory, "build", "fw.zip")); bytes.Equal(got, aliceFw) {
				t.Errorf("%v: mallory's build returned alice's firmware\n%s", args, r)
			}
		}
		after := snapshot(t, filepath.Join(e.contextDir("alice_ctx"), "build"))
		for f, c := range before {
			if after[f] != c {
				t.Errorf("%v: alice's build/%s changed or went", args, f)
			}
		}
	}
	if fi, err := os.Lstat(filepath.Join(e.contextDir("mallory_ctx"), filepath.FromSlash(rel))); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("mallory's %s is still a link after her builds", rel)
	}
	// Alice builds on, unharmed.
	testenv.RequireTool(t, "gcc")
	e.build(alice, "--repo", "../sdk-host", "--build-context", "alice_ctx")
}

// buildErr is build without failing the test.
func buildErr(e *env, app string, args ...string) (string, error) {
	args = append([]string{"build", "--server", e.srv.URL()}, args...)
	r, err := harnessBuild(e, app, args)
	return r, err
}

func harnessBuild(e *env, app string, args []string) (string, error) {
	r, err := harness.Build(context.Background(), bins.Mos, app, e.mosEnv, args, e.srv)
	return r.Output, err
}
