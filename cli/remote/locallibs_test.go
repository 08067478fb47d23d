package remote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// TestLocalLibsUploaded: what a local build would resolve to a dir on this
// machine goes into the upload where the server's lookup finds it: libs
// of --libs-dir (and the libs they pull in) as deps/<repo name>, a local
// --module as deps/modules/<repo name of its location>. A lib that is not
// here is left to the server, and nothing is written into the app.
func TestLocalLibsUploaded(t *testing.T) {
	root := t.TempDir()
	app := filepath.Join(root, "app")
	testenv.WriteTree(t, app, testenv.Tree{
		"mos.yml": {Content: strings.Join([]string{
			"name: app", "manifest_version: 2017-09-29", "platform: esp32", "sources: [src]",
			"libs:",
			"  - origin: https://github.com/mongoose-os-libs/rpc-common",
			"  - origin: https://github.com/mongoose-os-libs/not-here",
			"",
		}, "\n")},
		"src/main.c": {Content: "int main;"},
	})
	testenv.WriteTree(t, root, testenv.Tree{
		// A lib pulls in a lib with a module of another repo name.
		"libs/core/mos.yml":       {Content: "name: core\nmanifest_version: 2017-09-29\n"},
		"libs/core/src/core.c":    {Content: "core"},
		"libs/rpc-common/mos.yml": {Content: "name: rpc-common\nmanifest_version: 2017-09-29\nlibs:\n  - origin: https://github.com/mongoose-os-libs/tls\n"},
		"libs/rpc-common/src/r.c": {Content: "r"},
		"libs/tls/mos.yml": {Content: "name: tls\nmanifest_version: 2017-09-29\n" +
			"modules:\n  - name: tls_module\n    location: https://github.com/mongoose-os/tlsimpl\n"},
		"mods/tls/library/aes.c": {Content: "aes"},
	})
	before := testenv.ReadTree(t, app)

	srv, ts := newStockServer(t)
	var log strings.Builder
	req := &Request{AppDir: app, Params: testParams(), Server: ts.URL, MosDir: filepath.Join(root, ".mos"), Log: &log,
		LibsDirs: []string{filepath.Join(root, "libs")}}
	req.Params.CustomModuleLocations["tls_module"] = filepath.Join(root, "mods", "tls")
	if _, err := Build(context.Background(), req); err != nil {
		t.Fatalf("Build: %v\n%s", err, log.String())
	}
	got := srv.last().upload
	for _, name := range []string{
		"deps/core/src/core.c", "deps/core/mos.yml",
		"deps/rpc-common/src/r.c", "deps/tls/mos.yml",
		"deps/modules/tlsimpl/library/aes.c",
		"src/main.c",
	} {
		if _, ok := got[name]; !ok {
			t.Errorf("upload lacks %s; it has %v", name, srv.last().zipNames)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "deps/not-here") || strings.HasPrefix(name, "deps/modules/tls_module") {
			t.Errorf("upload has %s", name)
		}
	}
	// Only the result was added to the app dir: no deps/, no locks.
	if err := os.RemoveAll(filepath.Join(app, "build")); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, app, before)
}
