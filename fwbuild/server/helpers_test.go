package server

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/ccachestats"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// TestMain sends glog to stderr (shown for failing tests) instead of log
// files in the system temp dir.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := flag.Set("logtostderr", "true"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

const testVersion = "2.20.0"

// testConfig is a valid config with its volumes dir in a fresh temp dir.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.VolumesDir = filepath.Join(t.TempDir(), "volumes")
	cfg.BuildRunner = config.RunnerNative
	cfg.MaxConcurrentBuilds = 4
	cfg.VerifyFraction = 0 // no clean rebuild by chance; verify_test.go asks for them
	return cfg
}

func newServer(t *testing.T, cfg config.Config, opts ...Option) *Server {
	t.Helper()
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// --- what a stock client sends ---

// stockZip zips files the way a stock client does: zip.Writer.Create
// (deflate, MS-DOS host, no mode, no time), in lexical order.
func stockZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// modeZip zips files with explicit Unix modes (as our client sends).
func modeZip(t *testing.T, files map[string]string, modes map[string]fs.FileMode) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fh := &zip.FileHeader{Name: n, Method: zip.Deflate}
		m := modes[n]
		if m == 0 {
			m = 0o644
		}
		fh.SetMode(m)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stockParams is build_params as a stock client writes it with yaml.v2.
func stockParams(t *testing.T) string {
	t.Helper()
	bp := &protocol.BuildParams{
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
		Credentials:           map[string]protocol.Credentials{},
	}
	b, err := bp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "manifestadjustments:\n  platform: esp32\n") || !strings.Contains(s, "\nlibsupdateinterval: 1h0m0s\n") {
		t.Fatalf("build params not as stock writes them:\n%s", s)
	}
	return s
}

type field struct{ name, value string }

// body builds a multipart body in the stock client's order: the file
// (if zipData is not nil), then the fields as given.
func body(t *testing.T, zipData []byte, fields ...field) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if zipData != nil {
		w, err := mw.CreateFormFile(protocol.FieldFile, protocol.SourceZipName)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(zipData)
	}
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// stockRequest is a POST as a stock client makes it, with extra fields
// after the stock ones (clean first, as stock writes it).
func stockRequest(t *testing.T, zipData []byte, extra ...field) *http.Request {
	t.Helper()
	var fields []field
	for _, f := range extra {
		if f.name == protocol.FieldClean {
			fields = append(fields, f)
		}
	}
	fields = append(fields, field{protocol.FieldPreferPrebuiltLibs, "0"}, field{protocol.FieldBuildParams, stockParams(t)})
	for _, f := range extra {
		if f.name != protocol.FieldClean {
			fields = append(fields, f)
		}
	}
	ct, b := body(t, zipData, fields...)
	req := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), bytes.NewReader(b))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Basic dGVzdDp0ZXN0")
	req.Header.Set("User-Agent", "mos/2.20.0 20230313-000000/master@b44964e (linux; amd64)")
	return req
}

func do(t *testing.T, s *Server, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// helloApp is a small app upload; extra files are added to it.
func helloApp(extra map[string]string) map[string]string {
	files := map[string]string{
		"mos.yml":    "name: hello\nplatform: esp32\nsources:\n  - src\n",
		"src/main.c": "int main(void) { return 0; }\n",
		"src/util.c": "int util;\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

// resultFiles reads the zip of a 200/418 answer, checking the headers.
func resultFiles(t *testing.T, rec *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("status %d, Content-Type %q, body %q", rec.Code, ct, rec.Body.String())
	}
	if cl := rec.Header().Get("Content-Length"); cl != fmt.Sprint(rec.Body.Len()) {
		t.Errorf("Content-Length %q, body has %d bytes", cl, rec.Body.Len())
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatalf("result is not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			t.Errorf("result has a directory entry %q", f.Name)
			continue
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
		out[f.Name] = string(b)
	}
	return out
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ctxDir is where the server keeps context name of the hello app.
func ctxDir(cfg config.Config, platform, name string) string {
	return filepath.Join(cfg.VolumesDir, testVersion, "apps", "hello", platform, "build_contexts", name)
}

// --- the test runner ---

// fakeRunner stands in for mos: it writes what a build leaves in build/
// and records each call. With block set, each build waits for a token on
// release (or for its request to go away) before finishing.
type fakeRunner struct {
	block   bool
	release chan struct{}
	started chan builder.Request // each start is sent here if not nil
	fail    func(req builder.Request) string
	ccache  func(req builder.Request) ccachestats.Stats // the Result's Ccache

	mu         sync.Mutex
	calls      []call
	running    int
	maxRunning int
	perDir     map[string]int
	overlap    bool // two builds of one context ran at once
}

type call struct {
	req         builder.Request
	sawObjects  bool   // build/objs/main.o existed when the build started
	sawParams   string // build_params.yml content at start
	runningThen int    // builds running when this one started, itself included
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{release: make(chan struct{}), perDir: map[string]int{}}
}

func (f *fakeRunner) Run(ctx context.Context, req builder.Request) (builder.Result, error) {
	_, err := os.Stat(filepath.Join(req.Dir, "build", "objs", "main.o"))
	params, _ := os.ReadFile(req.ParamsFile)
	f.mu.Lock()
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	f.perDir[req.Dir]++
	if f.perDir[req.Dir] > 1 {
		f.overlap = true
	}
	f.calls = append(f.calls, call{req: req, sawObjects: err == nil, sawParams: string(params), runningThen: f.running})
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.perDir[req.Dir]--
		f.mu.Unlock()
	}()
	if f.started != nil {
		f.started <- req
	}
	if f.block {
		select {
		case <-f.release:
		case <-ctx.Done():
			return builder.Result{Failed: true, Reason: "stopped"}, nil
		}
	}
	reason := ""
	if f.fail != nil {
		reason = f.fail(req)
	}
	files := map[string]string{
		"build/build.log":               "CC src/main.c\nCC src/util.c\n",
		"build/gen/mos_final.yml":       "name: hello\n",
		"build/fw.zip":                  "PK fake firmware",
		"build/fw/hello-esp32-last.zip": "PK fake firmware",
		"build/objs/hello.elf":          "ELF",
		"build/objs/main.o":             "obj",
		"build/objs/sub/deep.elf":       "deep ELF",
		"build/objs/sub/util.o":         "obj",
		"build/fs/conf0.json":           "{}",
	}
	if reason != "" {
		files = map[string]string{"build/build.log": "src/main.c:1: error\n" + reason + "\n"}
	}
	for p, content := range files {
		full := filepath.Join(req.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return builder.Result{}, err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return builder.Result{}, err
		}
	}
	res := builder.Result{Failed: reason != "", Reason: reason}
	if f.ccache != nil {
		res.Ccache = f.ccache(req)
	}
	return res, nil
}

func (f *fakeRunner) snapshot() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// buildCtx returns build/gen/build_ctx.txt of a result.
func buildCtx(t *testing.T, files map[string]string) string {
	t.Helper()
	name, ok := files["build/gen/"+protocol.BuildCtxFile]
	if !ok {
		t.Fatalf("result lacks build/gen/%s: %v", protocol.BuildCtxFile, names(files))
	}
	if err := buildctx.CheckName(name); err != nil {
		t.Fatalf("build_ctx.txt: %v", err)
	}
	return name
}

type (
	builderRequest = builder.Request
	builderResult  = builder.Result
)

// runnerFunc is a Runner from a function (it gets no context).
type runnerFunc func(req builder.Request) (builder.Result, error)

func (f runnerFunc) Run(_ context.Context, req builder.Request) (builder.Result, error) {
	return f(req)
}

func httptestRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}

func httptestPost(contentType string, b []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), bytes.NewReader(b))
	req.Header.Set("Content-Type", contentType)
	return req
}
