package remote

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/gencache"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/common/version"
)

const demoYML = `name: demo
manifest_version: 2017-09-29
platform: esp32
sources:
  - src
libs:
  - location: https://github.com/mongoose-os-libs/boards
`

func writeApp(t *testing.T, dir string) {
	t.Helper()
	testenv.WriteTree(t, dir, testenv.Tree{
		"mos.yml":    {Content: demoYML},
		"src/main.c": {Content: "int main(void) { return 0; }\n"},
		"README.md":  {Content: "not uploaded\n"},
	})
}

func testParams() *protocol.BuildParams {
	return &protocol.BuildParams{
		ManifestAdjustments: protocol.ManifestAdjustments{
			Platform:  "esp32",
			BuildVars: map[string]string{"BOARD": ""},
			CDefs:     map[string]string{},
		},
		BuildTarget:           "all",
		CustomLibLocations:    map[string]string{},
		CustomModuleLocations: map[string]string{},
		LibsUpdateInterval:    time.Hour,
		SaveBuildStat:         true,
	}
}

// env is one test's app dir, mos dir and log.
type env struct {
	t   *testing.T
	app string
	mos string
	log *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, app: filepath.Join(t.TempDir(), "demo"), mos: filepath.Join(t.TempDir(), ".mos"), log: &bytes.Buffer{}}
	writeApp(t, e.app)
	return e
}

func (e *env) req(server string) *Request {
	return &Request{AppDir: e.app, Params: testParams(), Server: server, MosDir: e.mos, Log: e.log}
}

func (e *env) build(r *Request) *Result {
	e.t.Helper()
	res, err := Build(context.Background(), r)
	if err != nil {
		e.t.Fatalf("Build: %v\nlog:\n%s", err, e.log)
	}
	return res
}

func (e *env) buildDir() string { return filepath.Join(e.app, "build") }

// (a) A plain second build sends the context of the first.
func TestSecondBuildReusesContext(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	res1 := e.build(e.req(ts.URL))
	first := srv.last()
	if _, ok := first.fields[protocol.FieldBuildCtx]; ok {
		t.Errorf("first build sent build_ctx %q", first.fields[protocol.FieldBuildCtx])
	}
	if res1.Status != 200 || res1.Context != first.context || res1.SentContext != "" {
		t.Errorf("first result %+v, server context %s", res1, first.context)
	}
	// A stock server refuses the plan action; the client then sends the zip.
	if srv.otherAsked != 1 || res1.Delta {
		t.Errorf("plan requests %d, delta %v: want one refused plan and a full upload", srv.otherAsked, res1.Delta)
	}
	if res1.UploadBytes != first.bodyBytes+srv.otherBytes || first.bodyBytes != first.contentLength {
		t.Errorf("UploadBytes %d, server read %d+%d with Content-Length %d", res1.UploadBytes, first.bodyBytes, srv.otherBytes, first.contentLength)
	}
	if res1.DownloadBytes != first.sentBytes || res1.DownloadBytes == 0 {
		t.Errorf("DownloadBytes %d, server sent %d", res1.DownloadBytes, first.sentBytes)
	}
	if res1.Files != 2 { // mos.yml, src/main.c
		t.Errorf("Files = %d, want 2", res1.Files)
	}
	testenv.CheckTree(t, e.buildDir(), testenv.Tree{
		"gen/build_ctx.txt": {Content: first.context},
		"gen/mgos_config.h": {Content: "#define CONF 1\n"},
		"fw.zip":            {Content: "firmware of " + first.context},
		"build.log":         {Content: "build 1 in " + first.context + "\n"},
		"build.local.log":   {Content: mustRead(t, filepath.Join(e.buildDir(), "build.local.log"))},
	})
	if !strings.Contains(mustRead(t, filepath.Join(e.buildDir(), "build.local.log")), "Connecting to "+ts.URL+", user test") {
		t.Errorf("build.local.log lacks the connect line:\n%s", mustRead(t, filepath.Join(e.buildDir(), "build.local.log")))
	}

	res2 := e.build(e.req(ts.URL))
	second := srv.last()
	if got := second.fields[protocol.FieldBuildCtx]; got != first.context {
		t.Errorf("second build sent build_ctx %q, want %q", got, first.context)
	}
	if second.context != first.context || res2.Context != first.context || res2.SentContext != first.context {
		t.Errorf("second build in %s (result %+v), want %s", second.context, res2, first.context)
	}
	if got := mustRead(t, filepath.Join(e.buildDir(), "build.log")); got != "build 2 in "+first.context+"\n" {
		t.Errorf("build.log = %q", got)
	}
}

// (b) With build/ deleted between builds, the gen cache brings the
// context back; without the cache it is lost.
func TestWipedBuildDirRestoresContext(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	e.build(e.req(ts.URL))
	first := srv.last().context
	os.RemoveAll(e.buildDir())

	e.log.Reset()
	res := e.build(e.req(ts.URL))
	if got := srv.last().fields[protocol.FieldBuildCtx]; got != first || res.Context != first {
		t.Errorf("after wiping build/: sent %q, built in %q; want %q", got, res.Context, first)
	}
	if !strings.Contains(e.log.String(), "Using build context "+first+" (from the cache "+filepath.Join(e.mos, gencache.DirName)+")") {
		t.Errorf("log lacks the context line:\n%s", e.log)
	}

	// With build/ but no build/gen, build/gen is restored first.
	os.RemoveAll(filepath.Join(e.buildDir(), "gen"))
	e.log.Reset()
	e.build(e.req(ts.URL))
	if got := srv.last().fields[protocol.FieldBuildCtx]; got != first {
		t.Errorf("after wiping build/gen: sent %q, want %q", got, first)
	}
	if !strings.Contains(e.log.String(), "Restored 2 files of "+filepath.Join(e.buildDir(), "gen")) {
		t.Errorf("log lacks the restore line:\n%s", e.log)
	}

	// build/ deleted and the server gone: nothing appears in the app.
	os.RemoveAll(e.buildDir())
	url := ts.URL
	srvGone := httptest.NewServer(http.NotFoundHandler())
	url = srvGone.URL
	srvGone.Close()
	r0 := e.req(url)
	if _, err := Build(context.Background(), r0); err == nil {
		t.Fatal("a build against a closed server succeeded")
	}
	if exists(e.buildDir()) {
		t.Error("a build that reached no server created build/")
	}

	// The cache is what did it: without it the context is lost.
	os.RemoveAll(e.buildDir())
	r := e.req(ts.URL)
	r.MosDir = ""
	r.TempDir = t.TempDir()
	e.build(r)
	if got, ok := srv.last().fields[protocol.FieldBuildCtx]; ok || srv.last().context == first {
		t.Errorf("without the cache: sent %q, built in %s", got, srv.last().context)
	}
}

// (c) --build-context NAME from two checkouts of one app reaches the same
// stock server context through the map.
func TestNamedContextMap(t *testing.T) {
	srv, ts := newStockServer(t)
	mos := filepath.Join(t.TempDir(), ".mos")
	e1, e2 := newEnv(t), newEnv(t)
	e1.mos, e2.mos = mos, mos

	r := e1.req(ts.URL)
	r.BuildContext = "ci_main"
	res1 := e1.build(r)
	got1 := srv.last()
	if got1.fields[protocol.FieldBuildCtx] != "ci_main" {
		t.Errorf("first named build sent %q, want ci_main", got1.fields[protocol.FieldBuildCtx])
	}
	if got1.context == "ci_main" || res1.Context != got1.context {
		t.Fatalf("stock server named the context %s (result %s)", got1.context, res1.Context)
	}
	mapped, ok, err := gencache.New(mos).LookupContext(gencache.NameKey{Server: ts.URL, App: "demo", Platform: "esp32", Name: "ci_main"})
	if err != nil || !ok || mapped != got1.context {
		t.Errorf("map: %q %v %v; want %s", mapped, ok, err, got1.context)
	}

	r = e2.req(ts.URL)
	r.BuildContext = "ci_main"
	res2 := e2.build(r)
	got2 := srv.last()
	if got2.fields[protocol.FieldBuildCtx] != got1.context || got2.context != got1.context || res2.SentContext != got1.context {
		t.Errorf("second checkout sent %q and built in %s; want %s", got2.fields[protocol.FieldBuildCtx], got2.context, got1.context)
	}
	if !strings.Contains(e2.log.String(), "Using build context "+got1.context+" (from --build-context ci_main)") {
		t.Errorf("log:\n%s", e2.log)
	}

	// An unnamed build of the same app does not use ci_main's context.
	e1.build(e1.req(ts.URL)) // reads build/gen of the named build: that context
	os.RemoveAll(e2.buildDir())
	e2.build(e2.req(ts.URL))
	if srv.last().context == got1.context {
		t.Errorf("unnamed build from a wiped checkout reused ci_main's context")
	}
}

// Our server uses the name as is; the map then maps NAME to itself.
func TestNamedContextOurServer(t *testing.T) {
	srv, ts := newStockServer(t)
	srv.asIs = true
	e := newEnv(t)
	r := e.req(ts.URL)
	r.BuildContext = "ci_main"
	e.build(r)
	e.build(r)
	if srv.last().context != "ci_main" || srv.contexts["ci_main"] != 2 {
		t.Errorf("contexts %v", srv.contexts)
	}
}

// (d) --clean sends clean=1 with the old name (so the server drops that
// context) and forgets the cached gen and the map entry.
func TestCleanForgets(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	r := e.req(ts.URL)
	r.BuildContext = "ci_main"
	e.build(r)
	old := srv.last().context
	cache := gencache.New(e.mos)
	nk := gencache.NameKey{Server: ts.URL, App: "demo", Platform: "esp32", Name: "ci_main"}
	key := gencache.Key{Server: ts.URL, AppDir: e.app, Platform: "esp32", Context: "ci_main"}
	if _, err := cache.ReadFile(key, protocol.BuildCtxFile); err != nil {
		t.Fatalf("no cache entry after a build: %v", err)
	}

	// A clean build: the old name goes with clean=1, the server drops that
	// context, and the new one is recorded.
	r.Params.Clean = true
	res := e.build(r)
	got := srv.last()
	if got.fields[protocol.FieldClean] != "1" || got.fields[protocol.FieldBuildCtx] != old {
		t.Errorf("clean request fields %v", got.fields)
	}
	if !strings.Contains(got.fields[protocol.FieldBuildParams], "\nclean: true\n") {
		t.Errorf("build_params without clean: true:\n%s", got.fields[protocol.FieldBuildParams])
	}
	if res.Context == old || srv.contexts[old] != 0 {
		t.Errorf("clean build in %s, contexts %v; want %s dropped", res.Context, srv.contexts, old)
	}
	if m, ok, _ := cache.LookupContext(nk); !ok || m != res.Context {
		t.Errorf("map after clean build: %q %v, want %s", m, ok, res.Context)
	}
	if b, err := cache.ReadFile(key, protocol.BuildCtxFile); err != nil || string(b) != res.Context {
		t.Errorf("gen cache after clean build: %q %v", b, err)
	}

	// A clean build the server refuses: the entries are gone anyway.
	srv.status, srv.errBody = http.StatusBadRequest, "no"
	if _, err := Build(context.Background(), r); err == nil {
		t.Fatal("want the 400")
	}
	if got := srv.last().fields[protocol.FieldBuildCtx]; got != res.Context {
		t.Errorf("second clean sent %q, want %s", got, res.Context)
	}
	if _, ok, _ := cache.LookupContext(nk); ok {
		t.Error("map entry survived --clean")
	}
	if _, err := cache.ReadFile(key, protocol.BuildCtxFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gen cache entry survived --clean: %v", err)
	}
	srv.status = 0

	// A plain build never sends clean.
	r.Params.Clean = false
	e.build(r)
	if _, ok := srv.last().fields[protocol.FieldClean]; ok {
		t.Error("clean sent without --clean")
	}
}

// (e) A 400, a connection error, or an answer that is not a good zip leave
// build/ byte for byte as it was.
func TestFailuresLeaveBuildDir(t *testing.T) {
	before := testenv.Tree{
		"gen/build_ctx.txt":   {Content: "build_ctx_42"},
		"gen/build_stat.json": {Content: `{"app_name":"demo"}`},
		"fw.zip":              {Content: "old firmware"},
		"objs/main.o":         {Content: "obj"},
		"empty/":              {},
	}
	hostile := func() []byte {
		var buf bytes.Buffer
		zw := newRawZip(&buf)
		zw.add("build/fw.zip", "new")
		zw.add("build/../../escaped", "x")
		zw.close()
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name  string
		setup func(s *stockServer)
		check func(t *testing.T, err error)
	}{
		{"400", func(s *stockServer) { s.status, s.errBody = 400, "max size 5242880 exceeded (upload size is 6000000)" }, func(t *testing.T, err error) {
			var se *ServerError
			if !errors.As(err, &se) || se.Status != 400 || err.Error() != "error response: 400: max size 5242880 exceeded (upload size is 6000000)" {
				t.Errorf("err = %v", err)
			}
		}},
		{"500", func(s *stockServer) { s.status, s.errBody = 500, "boom" }, func(t *testing.T, err error) {
			var se *ServerError
			if !errors.As(err, &se) || se.Status != 500 {
				t.Errorf("err = %v", err)
			}
		}},
		{"not a zip", func(s *stockServer) { s.rawReply = []byte("surprise") }, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "unpacking the build result") {
				t.Errorf("err = %v", err)
			}
		}},
		{"zip slip", func(s *stockServer) { s.rawReply = hostile }, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "unsafe name") {
				t.Errorf("err = %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ts := newStockServer(t)
			tc.setup(srv)
			e := newEnv(t)
			testenv.WriteTree(t, e.buildDir(), before)
			_, err := Build(context.Background(), e.req(ts.URL))
			tc.check(t, err)
			testenv.CheckTree(t, e.buildDir(), before)
			if srv.last().fields[protocol.FieldBuildCtx] != "build_ctx_42" {
				t.Errorf("build_ctx not sent from the old build dir")
			}
			if exists(filepath.Join(e.app, "escaped")) || exists(filepath.Join(filepath.Dir(e.app), "escaped")) {
				t.Error("a zip entry escaped the build dir")
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		_, ts := newStockServer(t)
		url := ts.URL
		ts.Close()
		e := newEnv(t)
		testenv.WriteTree(t, e.buildDir(), before)
		_, err := Build(context.Background(), e.req(url))
		if err == nil || !strings.Contains(err.Error(), "build server "+url) {
			t.Errorf("err = %v", err)
		}
		testenv.CheckTree(t, e.buildDir(), before)
	})
}

// (f) --keep-build-dir keeps what the result lacks; the default empties
// build/ first.
func TestKeepBuildDir(t *testing.T) {
	_, ts := newStockServer(t)
	for _, keep := range []bool{true, false} {
		e := newEnv(t)
		testenv.WriteTree(t, e.buildDir(), testenv.Tree{
			"objs/main.o":       {Content: "object"},
			"fw.zip":            {Content: "old"},
			"gen/old_header.h":  {Content: "old"},
			"gen/build_ctx.txt": {Content: "build_ctx_1"},
		})
		r := e.req(ts.URL)
		r.KeepBuildDir = keep
		res := e.build(r)
		for _, p := range []string{"objs/main.o", "gen/old_header.h"} {
			if got := exists(filepath.Join(e.buildDir(), filepath.FromSlash(p))); got != keep {
				t.Errorf("keep=%v: %s exists=%v", keep, p, got)
			}
		}
		if got := mustRead(t, filepath.Join(e.buildDir(), "fw.zip")); got != "firmware of "+res.Context {
			t.Errorf("keep=%v: fw.zip = %q", keep, got)
		}
		if ents, _ := filepath.Glob(filepath.Join(e.buildDir(), ".mos-result-*")); len(ents) != 0 {
			t.Errorf("keep=%v: staging dir left: %v", keep, ents)
		}
	}
}

// (g) A 418 installs the result and returns ErrBuildFailed; verbose copies
// the server's build.log to the log.
func TestBuildFailed(t *testing.T) {
	srv, ts := newStockServer(t)
	srv.fail = true
	e := newEnv(t)
	r := e.req(ts.URL)
	r.BuildContext = "ci_main"
	r.Verbose = true
	res, err := Build(context.Background(), r)
	if !errors.Is(err, ErrBuildFailed) {
		t.Fatalf("err = %v, want ErrBuildFailed", err)
	}
	if res == nil || res.Status != 418 || res.BuildLog != filepath.Join(e.buildDir(), "build.log") {
		t.Fatalf("result %+v", res)
	}
	want := "build 1 in " + res.Context + "\n"
	if got := mustRead(t, res.BuildLog); got != want {
		t.Errorf("build.log = %q, want %q", got, want)
	}
	if !strings.HasSuffix(e.log.String(), want) {
		t.Errorf("verbose log does not end with the build log:\n%s", e.log)
	}
	if !exists(filepath.Join(e.buildDir(), "build.local.log")) {
		t.Error("no build.local.log")
	}
	// The context exists on the server: the map has it; build/gen is not
	// cached from a failed build.
	c := gencache.New(e.mos)
	if m, ok, _ := c.LookupContext(gencache.NameKey{Server: ts.URL, App: "demo", Platform: "esp32", Name: "ci_main"}); !ok || m != res.Context {
		t.Errorf("map after 418: %q %v", m, ok)
	}
	if _, err := c.ReadFile(gencache.Key{Server: ts.URL, AppDir: e.app, Platform: "esp32", Context: "ci_main"}, protocol.BuildCtxFile); err == nil {
		t.Error("build/gen of a failed build was cached")
	}
}

// (h) Basic auth: the URL's user info, else stock's test:test; the URL
// keeps no user info anywhere else.
func TestBasicAuth(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	e.build(e.req(ts.URL))
	if got := srv.last(); !got.hasAuth || got.user != "test" || got.pass != "test" {
		t.Errorf("default auth %q:%q (%v)", got.user, got.pass, got.hasAuth)
	}
	withUser := strings.Replace(ts.URL, "http://", "http://alice:s3cr%40t@", 1) + "/"
	e.log.Reset()
	e.build(e.req(withUser))
	got := srv.last()
	if got.user != "alice" || got.pass != "s3cr@t" {
		t.Errorf("auth %q:%q, want alice:s3cr@t", got.user, got.pass)
	}
	if got.path != "/api/fwbuild/"+version.Presented()+"/build" {
		t.Errorf("path %q", got.path)
	}
	if !strings.Contains(e.log.String(), "Connecting to "+ts.URL+", user alice\n") || strings.Contains(e.log.String(), "s3cr") {
		t.Errorf("log:\n%s", e.log)
	}
	// The cache key has no user info either: the context is the same.
	if got.fields[protocol.FieldBuildCtx] == "" {
		t.Error("build with credentials did not reuse the context")
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]serverURL{
		"buildsrv:8000":                 {base: "http://buildsrv:8000", user: "test", pass: "test", defaultUser: true},
		"http://buildsrv:8000/":         {base: "http://buildsrv:8000", user: "test", pass: "test", defaultUser: true},
		"https://u:p@build.example/fw/": {base: "https://build.example/fw", user: "u", pass: "p"},
		"u@buildsrv":                    {base: "http://buildsrv", user: "u", pass: ""},
	} {
		got, err := parseServer(in)
		if err != nil || got != want {
			t.Errorf("parseServer(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://"} {
		if _, err := parseServer(bad); err == nil {
			t.Errorf("parseServer(%q): want an error", bad)
		}
	}
}

// The form as stock writes it: names and order, source.zip, build_params
// as yaml.v2 marshals the params with the custom location maps emptied.
func TestFormAsStock(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	lib := filepath.Join(t.TempDir(), "mylib")
	testenv.WriteTree(t, lib, testenv.Tree{"mos.yml": {Content: "name: mylib\n"}})
	testenv.WriteTree(t, e.buildDir(), testenv.Tree{
		"gen/build_ctx.txt":   {Content: "build_ctx_7"},
		"gen/build_stat.json": {Content: "{\n  \"app_name\": \"demo\"\n}"},
	})
	r := e.req(ts.URL)
	r.Params.CustomLibLocations = map[string]string{"mylib": lib, "remote": "https://github.com/mongoose-os-libs/rpc-common"}
	r.Params.PreferPrebuiltLibs = true
	r.Params.Clean = true
	e.build(r)
	got := srv.last()
	wantOrder := []string{"file", "clean", "prefer_prebuilt_libs", "build_params", "build_ctx", "build_stat"}
	if strings.Join(got.order, ",") != strings.Join(wantOrder, ",") {
		t.Errorf("field order %v, want %v", got.order, wantOrder)
	}
	if got.fileName != "source.zip" || got.fileType != "application/octet-stream" {
		t.Errorf("file part %q %q", got.fileName, got.fileType)
	}
	want := testParams()
	want.Clean, want.PreferPrebuiltLibs = true, true
	want.CustomLibLocations = map[string]string{"remote": "https://github.com/mongoose-os-libs/rpc-common"}
	wantYAML, _ := want.Marshal()
	if got.fields[protocol.FieldBuildParams] != string(wantYAML) {
		t.Errorf("build_params:\n%s\nwant:\n%s", got.fields[protocol.FieldBuildParams], wantYAML)
	}
	if got.fields[protocol.FieldPreferPrebuiltLibs] != "1" || got.fields[protocol.FieldClean] != "1" ||
		got.fields[protocol.FieldBuildCtx] != "build_ctx_7" || got.fields[protocol.FieldBuildStat] != "{\n  \"app_name\": \"demo\"\n}" {
		t.Errorf("fields %v", got.fields)
	}
	if got.userAgent != version.UserAgent() {
		t.Errorf("User-Agent %q", got.userAgent)
	}
	if got.upload["deps/mylib/mos.yml"].Content != "name: mylib\n" {
		t.Errorf("--lib dir not uploaded as deps/mylib: %v", got.upload)
	}
	// The caller's params are not changed.
	if len(r.Params.CustomLibLocations) != 2 {
		t.Errorf("caller's params changed: %v", r.Params.CustomLibLocations)
	}

	// Without clean, stat or context: file, prefer_prebuilt_libs, build_params.
	e2 := newEnv(t)
	e2.build(e2.req(ts.URL))
	if got := strings.Join(srv.last().order, ","); got != "file,prefer_prebuilt_libs,build_params" {
		t.Errorf("minimal field order %s", got)
	}
	if srv.last().fields[protocol.FieldPreferPrebuiltLibs] != "0" {
		t.Errorf("prefer_prebuilt_libs %q", srv.last().fields[protocol.FieldPreferPrebuiltLibs])
	}
}

// An invalid name in build_ctx.txt is not sent.
func TestInvalidContextFileNotSent(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	testenv.WriteTree(t, e.buildDir(), testenv.Tree{"gen/build_ctx.txt": {Content: "build_ctx_1\n"}})
	e.build(e.req(ts.URL))
	if _, ok := srv.last().fields[protocol.FieldBuildCtx]; ok {
		t.Error("sent a name with a newline")
	}
	if !strings.Contains(e.log.String(), `Ignoring build context name "build_ctx_1\n"`) {
		t.Errorf("log:\n%s", e.log)
	}
}

func TestCancel(t *testing.T) {
	srv, ts := newStockServer(t)
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, e.req(ts.URL))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if srv.count() != 0 {
		t.Error("a cancelled build reached the server")
	}
}

func TestBuildDirHoldingApp(t *testing.T) {
	e := newEnv(t)
	r := e.req("http://127.0.0.1:1")
	r.BuildDir = filepath.Dir(e.app)
	if _, err := Build(context.Background(), r); err == nil || !strings.Contains(err.Error(), "holds the app dir") {
		t.Errorf("err = %v", err)
	}
}
