package manifest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// confined is setup with the build confined to the temp root (app, libs
// and mos are all in it), plus a dir outside holding secret.txt.
func confined(t *testing.T, tree testenv.Tree) (req *manifest.Request, p *fakeProvider, outside string) {
	t.Helper()
	req, p = setup(t, tree)
	outside = t.TempDir()
	testenv.WriteTree(t, outside, testenv.Tree{"secret.txt": {Content: "secret"}, "repo/mos.yml": yml("manifest_version: 2020-08-02")})
	c, err := manifest.NewConfinement(req.Cwd)
	if err != nil {
		t.Fatal(err)
	}
	req.Confine = c
	return req, p, outside
}

func wantConfineError(t *testing.T, err error, want ...string) {
	t.Helper()
	var ce *manifest.ConfineError
	if !errors.As(err, &ce) || !errors.Is(err, manifest.ErrOutside) {
		t.Fatalf("error %v (%T), want a ConfineError", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestConfineRefusesManifestPaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"absolute filesystem", []string{"filesystem: [/etc/passwd]"},
			[]string{"app/mos.yml: filesystem[0]: /etc/passwd is outside the build context"}},
		{"dotdot filesystem", []string{"filesystem: [fs, ../../../../../../etc/passwd]"},
			[]string{"app/mos.yml: filesystem[1]: ../../../../../../etc/passwd is outside the build context"}},
		{"absolute sources", []string{"sources: [/usr/src]"}, []string{"sources[0]: /usr/src"}},
		{"includes", []string{"includes: [/usr/include]"}, []string{"includes[0]: /usr/include"}},
		{"binary_libs glob", []string{"binary_libs: [/usr/lib/*.a]"}, []string{"binary_libs[0]: /usr/lib/*.a"}},
		{"plus prefix", []string{"filesystem: [+/etc/passwd]"}, []string{"filesystem[0]: +/etc/passwd"}},
		{"cond apply", []string{"conds:", "  - when: mos.platform == \"esp32\"", "    apply:", "      filesystem: [/etc/passwd]"},
			[]string{"app/mos.yml: conds[0].apply.filesystem[0]: /etc/passwd"}},
		{"expanded include", []string{"build_vars: {INC: /usr/include}", "includes: [\"${build_vars.INC}\"]"},
			[]string{"includes: /usr/include is outside the build context"}},
		{"lib location absolute", []string{"libs: [{location: /srv/some/lib}]"},
			[]string{"app/mos.yml: libs[0].location: /srv/some/lib is outside the build context"}},
		{"lib location dotdot", []string{"libs: [{location: ../../../srv/lib}]"}, []string{"libs[0].location: ../../../srv/lib"}},
		{"lib file url", []string{"libs: [{location: \"file:///srv/some/repo\", version: v1}]"},
			[]string{"libs[0].location: file:///srv/some/repo is outside"}},
		{"lib ext transport", []string{"libs: [{location: \"ext::sh -c touch% /tmp/x\", type: git}]"}, []string{"libs[0].location: ext::sh"}},
		{"module location", []string{"modules: [{name: m1, location: /srv/module}]"},
			[]string{"app/mos.yml: modules[0].location: /srv/module"}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			tree := testenv.Tree{
				"app/mos.yml":      yml(append([]string{"manifest_version: 2020-08-02"}, tc.lines...)...),
				"app/fs/a.txt":     {Content: "a"},
				"libs/lib/mos.yml": yml("manifest_version: 2020-08-02"),
			}
			// Unconfined, the same manifest is accepted (or fails for
			// another reason): the refusal is the confinement's.
			req, _ := setup(t, tree)
			if _, err := manifestResolve(req); errors.Is(err, manifest.ErrOutside) {
				t.Fatalf("unconfined build refused: %v", err)
			}
			req, _, _ = confined(t, tree)
			wantConfineError(t, resolveErr(t, req), tc.want...)
		})
	}
}

func TestConfineRefusesSymlinksLeadingOut(t *testing.T) {
	req, _, outside := confined(t, testenv.Tree{
		"app/mos.yml":  yml("manifest_version: 2020-08-02", "filesystem: [fs]"),
		"app/fs/a.txt": {Content: "a"},
	})
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(req.Cwd, "app", "fs", "evil.txt")); err != nil {
		t.Fatal(err)
	}
	wantConfineError(t, resolveErr(t, req), "filesystem: app/fs/evil.txt is outside the build context (it leads to "+outside)

	// A symlinked source dir is refused as well, even though the entry
	// itself is inside.
	req2, _, outside2 := confined(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "sources: [src]"),
	})
	if err := os.Symlink(outside2, filepath.Join(req2.Cwd, "app", "src")); err != nil {
		t.Fatal(err)
	}
	wantConfineError(t, resolveErr(t, req2), "sources[0]: src is outside the build context (it leads to "+outside2)
}

func TestConfineRefusesLibDirOutside(t *testing.T) {
	// The provider answers with a dir outside (a --lib dir, or a symlink
	// in deps/): refused even though the location looked fine.
	req, p, outside := confined(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/lib1}]"),
	})
	if err := os.MkdirAll(filepath.Join(p.root, "libs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "repo"), filepath.Join(p.root, "libs", "lib1")); err != nil {
		t.Fatal(err)
	}
	wantConfineError(t, resolveErr(t, req), "app/mos.yml: libs[0] lib1 (location https://github.com/o/lib1): libs/lib1 is outside the build context")
}

func TestConfineAcceptsWhatIsInside(t *testing.T) {
	req, _, _ := confined(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02",
			"sources: [src, /SRC/extra.c]",
			"filesystem: [fs, ../app/fs/a.txt]",
			"includes: [include]",
			"libs:",
			"  - location: https://github.com/o/lib1",
			"  - location: libs/local",
		),
		"app/src/main.c":        {Content: "int main(void) { return 0; }\n"},
		"app/src/extra.c":       {Content: "\n"},
		"app/fs/a.txt":          {Content: "a"},
		"app/include/x.h":       {Content: "\n"},
		"libs/lib1/mos.yml":     yml("manifest_version: 2020-08-02", "sources: [src]"),
		"libs/lib1/src/l.c":     {Content: "\n"},
		"libs/local/mos.yml":    yml("manifest_version: 2020-08-02"),
		"app/fs/sub/inside.txt": {Content: "in"},
	})
	// An absolute path inside the context is fine, and so is a symlink
	// that stays inside.
	mf := filepath.Join(req.Cwd, "app", "mos.yml")
	data, _ := os.ReadFile(mf)
	if err := os.WriteFile(mf, []byte(strings.ReplaceAll(string(data), "/SRC", filepath.Join(req.Cwd, "app", "src"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/inside.txt", filepath.Join(req.Cwd, "app", "fs", "link.txt")); err != nil {
		t.Fatal(err)
	}
	res := resolve(t, req)
	fs := rel(req.Cwd, res.Manifest.Filesystem)
	if strings.Join(fs, ",") != "app/fs/a.txt,app/fs/link.txt,app/fs/sub,app/fs/a.txt" {
		t.Errorf("filesystem %v", fs)
	}
	if lib(res.Manifest, "lib1") == nil || lib(res.Manifest, "local") == nil {
		t.Errorf("libs %v, want lib1 and local among them", libNames(res.Manifest))
	}
}

func manifestResolve(req *manifest.Request) (*manifest.Result, error) {
	return manifest.Resolve(context.Background(), req)
}

func TestConfinementCheckLocation(t *testing.T) {
	ctx := t.TempDir()
	c, err := manifest.NewConfinement(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for loc, ok := range map[string]bool{
		"https://github.com/mongoose-os-libs/core": true,
		"git@github.com:o/r.git":                   true,
		"ssh://git@host/r.git":                     true,
		"deps/mylib":                               true,
		"file://" + filepath.ToSlash(ctx) + "/r":   true,
		"file:///srv/r":                            false,
		"/srv/r":                                   false,
		"../r":                                     false,
		"ext::sh -c touch% /tmp/x":                 false,
		"fd::17":                                   false,
	} {
		err := c.CheckLocation("", loc, ctx, "mos.yml", "libs[0].location")
		if ok && err != nil {
			t.Errorf("%s: %v, want accepted", loc, err)
		}
		if !ok && !errors.Is(err, manifest.ErrOutside) {
			t.Errorf("%s: %v, want refused", loc, err)
		}
	}
}
