package server

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// countingBody is a request body that counts what the server reads.
type countingBody struct{ *countingReader }

func (countingBody) Close() error { return nil }

// symlinkZip has mos.yml and a symbolic link entry.
func symlinkZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("mos.yml")
	io.WriteString(w, "name: hello\nplatform: esp32\n")
	fh := &zip.FileHeader{Name: "src/link"}
	fh.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(fh)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "/etc/passwd")
	zw.Close()
	return buf.Bytes()
}

func randomBytes(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// snapshot lists every path under dir with its size and mtime.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out[p] = fi.Mode().String() + " " + fi.ModTime().String()
		if !fi.IsDir() {
			out[p] += " " + strconv.FormatInt(fi.Size(), 10)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHostileUploads(t *testing.T) {
	parent := t.TempDir()
	cfg := testConfig(t)
	cfg.VolumesDir = filepath.Join(parent, "volumes")
	cfg.PayloadSizeLimit = 64 << 10
	cfg.MaxUnpackedSize = 1 << 20
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	// Something beside the volumes dir that a bad upload might hit.
	if err := os.WriteFile(filepath.Join(parent, "victim.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, parent)

	app := func(extra map[string]string) []byte { return stockZip(t, helloApp(extra)) }
	withManifest := func(manifest string) []byte {
		files := helloApp(nil)
		files["mos.yml"] = manifest
		return stockZip(t, files)
	}
	params := field{protocol.FieldBuildParams, stockParams(t)}
	multipartReq := func(zipData []byte, fields ...field) *http.Request {
		ct, b := body(t, zipData, fields...)
		r := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), bytes.NewReader(b))
		r.Header.Set("Content-Type", ct)
		return r
	}
	overLimit := cfg.PayloadSizeLimit + 1<<20 + 1
	farOverLimit := cfg.PayloadSizeLimit + 1<<20 + drainMax + 1

	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		reason string
		read   int // for bodies that must not be read: -1 don't check
	}{
		{"zip-slip", func() *http.Request { return stockRequest(t, app(map[string]string{"../victim.txt": "pwned"})) },
			400, `source.zip: entry "../victim.txt": unsafe name`, -1},
		{"zip-slip deep", func() *http.Request {
			return stockRequest(t, app(map[string]string{"src/../../../victim.txt": "pwned"}))
		},
			400, `source.zip: entry "src/../../../victim.txt": unsafe name`, -1},
		{"zip-slip backslash", func() *http.Request { return stockRequest(t, app(map[string]string{`..\..\victim.txt`: "pwned"})) },
			400, `unsafe name`, -1},
		{"absolute name", func() *http.Request { return stockRequest(t, app(map[string]string{"/tmp/evil.txt": "pwned"})) },
			400, `source.zip: entry "/tmp/evil.txt": unsafe name`, -1},
		{"symlink entry", func() *http.Request { return stockRequest(t, symlinkZip(t)) },
			400, `source.zip: entry "src/link": symbolic link`, -1},
		{"zip bomb", func() *http.Request {
			return stockRequest(t, app(map[string]string{"big.bin": strings.Repeat("\x00", 2<<20)}))
		}, 400, `source.zip: entry "big.bin": too large`, -1},
		{"not a zip", func() *http.Request { return stockRequest(t, []byte("this is not a zip file")) },
			400, "source.zip: not a zip archive", -1},
		{"no file field", func() *http.Request { return multipartReq(nil, params) },
			400, `missing "file" field (the source zip)`, -1},
		{"no build_params", func() *http.Request { return multipartReq(app(nil), field{protocol.FieldPreferPrebuiltLibs, "0"}) },
			400, `missing "build_params" field`, -1},
		{"bad build_params", func() *http.Request { return multipartReq(app(nil), field{protocol.FieldBuildParams, "clean: [\n"}) },
			400, `build_params: yaml:`, -1},
		{"not multipart", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), strings.NewReader("file=x"))
		}, 400, "not a multipart request", -1},
		{"bad context name", func() *http.Request { return stockRequest(t, app(nil), field{protocol.FieldBuildCtx, "../../victim"}) },
			400, `build_ctx: invalid build context name: "../../victim": use letters, digits and _ only`, -1},
		{"context name with dot", func() *http.Request { return stockRequest(t, app(nil), field{protocol.FieldBuildCtx, "ci.main"}) },
			400, `build_ctx: invalid build context name: "ci.main"`, -1},
		{"app name ..", func() *http.Request { return stockRequest(t, withManifest("name: ..\nplatform: esp32\n")) },
			400, `mos.yml: invalid path component: app name ".." is not a plain name`, -1},
		{"app name a/b", func() *http.Request { return stockRequest(t, withManifest("name: a/b\nplatform: esp32\n")) },
			400, `app name "a/b" contains a path separator`, -1},
		{"platform a/b", func() *http.Request { return stockRequest(t, withManifest("name: hello\nplatform: a/b\n")) },
			400, `mos.yml: invalid path component: platform "a/b" contains a path separator`, -1},
		{"platform ..", func() *http.Request { return stockRequest(t, withManifest("name: hello\narch: ..\n")) },
			400, `platform ".." is not a plain name`, -1},
		{"no mos.yml", func() *http.Request { return stockRequest(t, stockZip(t, map[string]string{"src/main.c": "x"})) },
			400, "source.zip: no mos.yml at the top level", -1},
		{"reserved build dir", func() *http.Request { return stockRequest(t, app(map[string]string{"build/fw.zip": "x"})) },
			400, `source.zip: "build" is reserved`, -1},
		{"reserved params file", func() *http.Request { return stockRequest(t, app(map[string]string{"build_params.yml": "x"})) },
			400, `source.zip: "build_params.yml" is reserved`, -1},
		{"source zip over the limit", func() *http.Request {
			return stockRequest(t, app(map[string]string{"blob.bin": randomBytes(int(cfg.PayloadSizeLimit))}))
		}, 413, "source.zip is over the limit of 65536 bytes (--payload-size-limit)", -1},
		{"declared body over the limit", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), nil)
			r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			r.ContentLength = overLimit
			r.Body = countingBody{&countingReader{r: strings.NewReader(strings.Repeat("x", int(overLimit)))}}
			return r
		}, 413, "request body of 1114113 bytes is over the limit of 1114112 bytes", int(overLimit)},
		// The rest of the body is read (and dropped) so that a client that
		// sends all before reading gets the answer, up to a bound.
		{"declared body far over the limit", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), nil)
			r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			r.ContentLength = farOverLimit
			r.Body = countingBody{&countingReader{r: strings.NewReader(strings.Repeat("x", 1000))}}
			return r
		}, 413, "request body of 269549569 bytes is over the limit of 1114112 bytes", 0},
		{"chunked body over the limit", func() *http.Request {
			ct, b := body(t, app(nil), params, field{"padding", strings.Repeat("x", int(overLimit))})
			r := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), io.NopCloser(bytes.NewReader(b)))
			r.ContentLength = -1
			r.Header.Set("Content-Type", ct)
			return r
		}, 413, "request body is over the limit of 1114112 bytes", -1},
		{"field over the limit", func() *http.Request {
			return multipartReq(app(nil), field{protocol.FieldBuildParams, strings.Repeat("x", 1<<20+1)})
		}, 413, `form field "build_params" is over the limit of 1048576 bytes`, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			var counter *countingReader
			if tc.read >= 0 {
				counter = req.Body.(countingBody).countingReader
			}
			rec := do(t, s, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.reason) {
				t.Errorf("got %d %q\nwant %d with %q", rec.Code, rec.Body, tc.status, tc.reason)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if counter != nil && counter.n != tc.read {
				t.Errorf("%d body bytes read, want %d", counter.n, tc.read)
			}
		})
	}

	// Nothing was written outside the volumes dir, no context was created
	// and no build ran; the request temp dirs are gone.
	after := snapshot(t, parent)
	volumes := cfg.VolumesDir + string(os.PathSeparator)
	var changed []string
	for p, v := range after {
		if before[p] != v && !strings.HasPrefix(p+string(os.PathSeparator), volumes) {
			changed = append(changed, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			changed = append(changed, p+" (removed)")
		}
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		t.Errorf("paths outside the volumes dir changed: %v", changed)
	}
	var inVolumes []string
	scratch := strings.TrimPrefix(s.scratch.dir, volumes)
	for p := range after {
		if rel, ok := strings.CutPrefix(p, volumes); ok && rel != scratch && rel != scratch+".lock" {
			inVolumes = append(inVolumes, rel)
		}
	}
	sort.Strings(inVolumes)
	// status-history.json: the answered (refused) requests, for the
	// status page.
	if strings.Join(inVolumes, ",") != "cas,libcache,status-history.json,tmp" {
		t.Errorf("volumes dir holds %v, want only cas, libcache, status-history.json, tmp and the server's temp area", inVolumes)
	}
	if ents, err := os.ReadDir(s.scratch.dir); err != nil || len(ents) != 0 {
		t.Errorf("request temp dirs left: %v %v", ents, err)
	}
	if n := len(fr.snapshot()); n != 0 {
		t.Errorf("%d builds ran for refused requests", n)
	}
}
