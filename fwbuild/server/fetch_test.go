//go:build unix

package server

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// TestLibLocationsOnTheAllowList is issue 20 row 12: a lib location at a
// 127.0.0.1 port not in --fetch-allow is refused before the server (the
// mos it runs, outside the sandbox) connects, and the answer for an open
// port is the one for a closed port.
func TestLibLocationsOnTheAllowList(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	testenv.RequireTool(t, "git")
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	closedL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closedL.Addr().String()
	closedL.Close()
	openAddr := open.Addr().String()

	s := realServer(t, config.RunnerNative)
	post := func(addr string) (int, string) {
		t.Helper()
		files := helloUpload(t)
		files["mos.yml"] += "\nlibs: [{location: \"http://" + addr + "/probe.git\", name: probe}]\n"
		ct, b := body(t, stockZip(t, files), field{protocol.FieldBuildParams, hostParams(t)})
		rec := do(t, s, httptestPost(ct, b))
		out := rec.Body.String()
		if rec.Code == protocol.StatusBuildFailed {
			out = resultFiles(t, rec)["build/build.log"]
		}
		_, port, _ := net.SplitHostPort(addr)
		out = strings.ReplaceAll(out, port, "PORT")
		return rec.Code, regexp.MustCompile(`build_ctx_[0-9]+`).ReplaceAllString(out, "build_ctx_N")
	}
	openCode, openBody := post(openAddr)
	closedCode, closedBody := post(closedAddr)
	if n := conns.Load(); n != 0 {
		t.Errorf("the server connected to the open port %d times", n)
	}
	if openCode != http.StatusBadRequest || !strings.Contains(openBody, "not allowed by --fetch-allow") {
		t.Errorf("open port: status %d, body:\n%s\nwant 400 naming --fetch-allow", openCode, openBody)
	}
	if openCode != closedCode || openBody != closedBody {
		t.Errorf("open and closed ports answered differently:\nopen %d:\n%s\nclosed %d:\n%s", openCode, openBody, closedCode, closedBody)
	}
}

// The lib cache holds mirrors other accounts' credentials filled (issue 20
// row 8): a build's make, which runs code from the upload, cannot read it.
func TestSandboxedBuildCannotReadTheLibCache(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	for _, tool := range []string{"make", "gcc", "python3"} {
		testenv.RequireTool(t, tool)
	}
	s := realServer(t, config.RunnerNative)
	secret := filepath.Join(s.libCache, "0123456789abcdef0123-private.git", "HEAD.private")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("alice_private_string"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := helloUpload(t)
	mk := "deps/modules/mongoose-os/platforms/host/Makefile.build"
	if _, ok := files[mk]; !ok {
		t.Fatalf("no %s in the upload; update this test", mk)
	}
	files[mk] += "\n$(error LIBCACHE_PROBE:$(shell cat " + secret + " 2>&1):END)\n"
	ct, b := body(t, stockZip(t, files), field{protocol.FieldBuildParams, hostParams(t)})
	rec := do(t, s, httptestPost(ct, b))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("status %d, want %d (the probe fails make):\n%s", rec.Code, protocol.StatusBuildFailed, rec.Body.String())
	}
	log := resultFiles(t, rec)["build/build.log"]
	if !strings.Contains(log, "LIBCACHE_PROBE:") {
		t.Fatalf("the probe did not run:\n%s", log)
	}
	if strings.Contains(log, "alice_private_string") {
		t.Errorf("make read the lib cache:\n%s", log)
	}
}

// A private lib through the server (issue 20 rows 8 and 12): a git server
// on a 127.0.0.1 port listed in --fetch-allow, demanding basic auth. A
// build with the credentials gets the lib; a build in another context
// without them is refused by the lib cache, with nothing of the lib in its
// answer.
func TestPrivateLibThroughTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	for _, tool := range []string{"make", "gcc", "python3"} {
		testenv.RequireTool(t, tool)
	}
	gitBin := testenv.RequireTool(t, "git")
	root := t.TempDir()
	testenv.GitRepo(t, filepath.Join(root, "private"), testenv.Tree{
		"mos.yml": {Content: "author: alice\ndescription: private\ntype: lib\nmanifest_version: 2020-08-02\nno_implicit_init_deps: true\nsources: [src]\n" +
			"config_schema:\n  - [\"private\", \"s\", \"alice_private_string\", {title: \"private\"}]\n"},
		"src/private.c":     {Content: "#include <stdbool.h>\nconst char *alice_private = \"alice_private_string\";\nbool mgos_private_init(void) { return true; }\n"},
		"include/private.h": {Content: "extern const char *alice_private;\n"},
	})
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"}, Env: []string{
		"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	}}
	gitSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	defer gitSrv.Close()
	host := strings.TrimPrefix(gitSrv.URL, "http://")

	cfg := realConfig(t, config.RunnerNative)
	cfg.FetchAllow = host
	cfg.AdoptContexts = false // each build starts from an empty context
	s := newServer(t, cfg)
	post := func(creds string) (int, string) {
		t.Helper()
		files := helloUpload(t)
		files["mos.yml"] = strings.Replace(files["mos.yml"], "\nlibs:\n", "\nlibs:\n  - {location: \""+gitSrv.URL+"/private\", name: private}\n", 1)
		if !strings.Contains(files["mos.yml"], "/private\"") {
			t.Fatal("examples/hello/mos.yml has no libs: list; update this test")
		}
		params := strings.Replace(hostParams(t), "credentials: {}\n", creds, 1)
		ct, b := body(t, stockZip(t, files), field{protocol.FieldBuildParams, params})
		rec := do(t, s, httptestPost(ct, b))
		if rec.Code != http.StatusOK && rec.Code != protocol.StatusBuildFailed {
			return rec.Code, rec.Body.String()
		}
		var all strings.Builder
		for name, data := range resultFiles(t, rec) {
			all.WriteString(name + "\n" + data + "\n")
		}
		return rec.Code, all.String()
	}
	code, out := post("credentials:\n  " + host + ":\n    user: alice\n    pass: s3cret\n")
	if code != http.StatusOK || !strings.Contains(out, "alice_private_string") {
		t.Fatalf("alice: status %d, want 200 with her lib in the firmware:\n%s", code, out[max(0, strings.Index(out, "build/build.log\n")):])
	}
	code, out = post("credentials: {}\n")
	want := "lib cache: " + gitSrv.URL + "/private refused a request without credentials"
	if code != protocol.StatusBuildFailed || !strings.Contains(out, want) {
		t.Errorf("mallory: status %d, want %d with %q:\n%.3000s", code, protocol.StatusBuildFailed, want, out)
	}
	if strings.Contains(out, "alice_private_string") {
		t.Errorf("mallory's answer holds alice's private string")
	}
}
