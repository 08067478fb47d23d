//go:build unix

package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// What an upload's manifest or build params name outside the context is
// refused with a 400 naming the file, key and value; values never run in
// make; custom lib locations in build params are dropped.
func TestHostileBuildsWithRealMos(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	s := realServer(t, config.RunnerNative)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.MkdirAll(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(secret, "mos.yml"), []byte("manifest_version: 2020-08-02\nsources: [src]\n"), 0o644)

	post := func(files map[string]string, params string) (int, string) {
		t.Helper()
		ct, b := body(t, stockZip(t, files), field{protocol.FieldBuildParams, params})
		rec := do(t, s, httptestPost(ct, b))
		return rec.Code, rec.Body.String()
	}
	withManifest := func(extra string) map[string]string {
		files := helloUpload(t)
		files["mos.yml"] += "\n" + extra + "\n"
		return files
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"filesystem absolute", "filesystem: [fs, /etc/passwd]", "mos.yml: filesystem[1]: /etc/passwd is outside the build context"},
		{"filesystem dotdot", "filesystem: [../../../../../../../etc/passwd]", "mos.yml: filesystem[0]: ../../../../../../../etc/passwd is outside the build context"},
		{"lib file url", "libs: [{location: \"file://" + secret + "\"}]", "libs[0].location: file://" + secret + " is outside the build context"},
		{"lib absolute", "libs: [{location: \"" + secret + "\"}]", "libs[0].location: " + secret + " is outside the build context"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			code, body := post(withManifest(tc.extra), hostParams(t))
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %q; want 400 with %q", code, body, tc.want)
			}
		})
	}

	t.Run("values_do_not_run", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "ran")
		params := strings.Replace(hostParams(t), "  cdefs: {}\n",
			"  cdefs:\n    EVIL: '1 $(shell touch "+marker+") `touch "+marker+"`'\n  cflags: ['-DEVIL2=$(shell touch "+marker+")']\n", 1)
		if !strings.Contains(params, "EVIL2") {
			t.Fatalf("params not patched:\n%s", params)
		}
		if code, body := post(helloUpload(t), params); code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Error("a build param ran a command on the server")
		}
	})

	t.Run("custom_lib_locations_dropped", func(t *testing.T) {
		params := strings.Replace(hostParams(t), "customliblocations: {}\n", "customliblocations:\n  core: "+secret+"\n", 1)
		params = strings.Replace(params, "custommodulelocations: {}\n", "custommodulelocations:\n  mongoose-os: /srv/other\n", 1)
		if !strings.Contains(params, secret) {
			t.Fatalf("params not patched:\n%s", params)
		}
		code, body := post(helloUpload(t), params)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
	})
}
