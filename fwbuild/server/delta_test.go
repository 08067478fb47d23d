package server

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// listFiles is the plan listing of files (modes 0644, or 0755 for names
// ending in .py).
func listFiles(files map[string]string) []filetree.Entry {
	var out []filetree.Entry
	for p, c := range files {
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".py") {
			mode = 0o755
		}
		out = append(out, filetree.Entry{Path: p, Size: int64(len(c)), Mode: mode, SHA256: sha(c)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func planRequest(t *testing.T, files []filetree.Entry, gz bool) *http.Request {
	t.Helper()
	b, _ := json.Marshal(protocol.PlanRequest{Files: files})
	req := httptest.NewRequest(http.MethodPost, protocol.PlanPath(testVersion), nil)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Body = httptestBody(b)
	req.ContentLength = int64(len(b))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func doPlan(t *testing.T, s *Server, files map[string]string) protocol.PlanResponse {
	t.Helper()
	rec := do(t, s, planRequest(t, listFiles(files), true))
	if rec.Code != http.StatusOK {
		t.Fatalf("plan: %d %s", rec.Code, rec.Body.String())
	}
	var pr protocol.PlanResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

// blobsZip holds the contents of files with the given hashes.
func blobsZip(t *testing.T, files map[string]string, hashes []string) []byte {
	t.Helper()
	byHash := map[string]string{}
	for _, c := range files {
		byHash[sha(c)] = c
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, h := range hashes {
		w, _ := zw.Create(h)
		w.Write([]byte(byHash[h]))
	}
	zw.Close()
	return buf.Bytes()
}

// deltaRequest is a build request for a plan, with blobs and have.
func deltaRequest(t *testing.T, planID string, blobs []byte, have []protocol.HaveEntry, extra ...field) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := append([]field{{protocol.FieldPreferPrebuiltLibs, "0"}, {protocol.FieldBuildParams, stockParams(t)}, {protocol.FieldPlan, planID}}, extra...)
	if have != nil {
		b, _ := json.Marshal(have)
		fields = append(fields, field{protocol.FieldHave, string(b)})
	}
	for _, f := range fields {
		mw.WriteField(f.name, f.value)
	}
	if blobs != nil {
		w, _ := mw.CreateFormFile(protocol.FieldBlobs, protocol.BlobsZipName)
		w.Write(blobs)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func conflict(t *testing.T, rec *httptest.ResponseRecorder) protocol.ConflictResponse {
	t.Helper()
	if rec.Code != protocol.StatusConflict {
		t.Fatalf("status %d, want 409: %s", rec.Code, rec.Body.String())
	}
	var cr protocol.ConflictResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &cr); err != nil {
		t.Fatalf("409 body %q: %v", rec.Body.String(), err)
	}
	return cr
}

func TestDeltaUpload(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	app := helloApp(map[string]string{"tools/meta.py": "#!/usr/bin/env python3\n", "src/copy.c": "int util;\n"})

	pr := doPlan(t, s, app)
	if len(pr.Missing) != 4 { // src/util.c and src/copy.c share content
		t.Fatalf("missing %d contents, want 4 distinct ones: %v", len(pr.Missing), pr.Missing)
	}
	rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, "ci_main"}))
	files := resultFiles(t, rec)
	if rec.Code != http.StatusOK || buildCtx(t, files) != "ci_main" {
		t.Fatalf("status %d, ctx %q", rec.Code, buildCtx(t, files))
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	want := testenv.Tree{}
	for p, c := range app {
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".py") {
			mode = 0o755
		}
		want[p] = testenv.File{Content: c, Mode: mode}
	}
	got := testenv.ReadTree(t, dir)
	for p, w := range want {
		if g := got[p]; g.Content != w.Content || g.Mode != w.Mode {
			t.Errorf("%s in the context: %+v, want %+v", p, g, w)
		}
	}

	// The same tree again: nothing missing, nothing sent, nothing changed.
	old := filepath.Join(dir, "src", "main.c")
	st0, _ := os.Stat(old)
	pr = doPlan(t, s, app)
	if len(pr.Missing) != 0 {
		t.Errorf("second plan misses %v", pr.Missing)
	}
	rec = do(t, s, deltaRequest(t, pr.Plan, nil, nil, field{protocol.FieldBuildCtx, "ci_main"}))
	if rec.Code != http.StatusOK {
		t.Fatalf("second build: %d %s", rec.Code, rec.Body.String())
	}
	if st1, _ := os.Stat(old); !st1.ModTime().Equal(st0.ModTime()) {
		t.Error("an unchanged file was rewritten")
	}

	// One file changed: one content missing, the context gets it.
	app["src/main.c"] = "int main(void) { return 1; }\n"
	pr = doPlan(t, s, app)
	if len(pr.Missing) != 1 || pr.Missing[0] != sha(app["src/main.c"]) {
		t.Fatalf("missing %v, want only the new main.c", pr.Missing)
	}
	rec = do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, "ci_main"}))
	if rec.Code != http.StatusOK {
		t.Fatalf("third build: %d %s", rec.Code, rec.Body.String())
	}
	if b, _ := os.ReadFile(old); string(b) != app["src/main.c"] {
		t.Errorf("main.c in the context = %q", b)
	}
	if n := len(fr.snapshot()); n != 3 {
		t.Errorf("%d builds ran, want 3", n)
	}
}

func TestDeltaConflicts(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdoptContexts = false // a new context below needs every file, not a copy
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)

	// Unknown plan: plan again.
	if cr := conflict(t, do(t, s, deltaRequest(t, "nosuchplan", nil, nil))); !cr.Replan {
		t.Errorf("unknown plan: %+v, want Replan", cr)
	}
	// Blobs not sent: the server names what it still lacks.
	pr := doPlan(t, s, app)
	cr := conflict(t, do(t, s, deltaRequest(t, pr.Plan, nil, nil)))
	if cr.Replan || len(cr.Missing) == 0 {
		t.Fatalf("no blobs: %+v", cr)
	}
	// Sending them with the same plan succeeds.
	rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, cr.Missing), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("with the blobs: %d %s", rec.Code, rec.Body.String())
	}
	// A blob lost from the store between plan and build (evicted or
	// corrupt) is asked for again; never built from wrong bytes.
	app["src/util.c"] = "int util = 2;\n"
	pr = doPlan(t, s, app)
	rec = do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, buildCtx(t, resultFiles(t, rec))}))
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	h := sha(app["src/util.c"])
	blob := filepath.Join(cfg.VolumesDir, "cas", h[:2], h)
	os.WriteFile(blob, []byte("corrupted"), 0o644)
	app["src/main.c"] = "int main(void) { return 3; }\n"
	pr = doPlan(t, s, app)
	// A new context needs every file, util.c's corrupt blob included.
	cr = conflict(t, do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, "fresh_ctx"})))
	if len(cr.Missing) != 1 || cr.Missing[0] != h {
		t.Fatalf("corrupt blob: %+v, want it missing", cr)
	}
	rec = do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, cr.Missing), nil, field{protocol.FieldBuildCtx, "fresh_ctx"}))
	if rec.Code != http.StatusOK {
		t.Fatalf("after resending: %d %s", rec.Code, rec.Body.String())
	}
	if b, _ := os.ReadFile(filepath.Join(ctxDir(cfg, "esp32", "fresh_ctx"), "src", "util.c")); string(b) != app["src/util.c"] {
		t.Errorf("util.c = %q", b)
	}
}

func TestDeltaRefusesBadBlobs(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	pr := doPlan(t, s, app)
	// Content that does not hash to its name.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(pr.Missing[0])
	w.Write([]byte("not the content"))
	zw.Close()
	rec := do(t, s, deltaRequest(t, pr.Plan, buf.Bytes(), nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), pr.Missing[0]) {
		t.Errorf("wrong content: %d %s", rec.Code, rec.Body.String())
	}
	// A blob the plan does not list.
	other := map[string]string{"x": "something else"}
	rec = do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, other, []string{sha("something else")}), nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not a content of the plan") {
		t.Errorf("foreign blob: %d %s", rec.Code, rec.Body.String())
	}
	var stored []string
	filepath.WalkDir(filepath.Join(cfg.VolumesDir, "cas"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			stored = append(stored, p)
		}
		return nil
	})
	if len(stored) != 0 {
		t.Errorf("refused blobs were stored: %v", stored)
	}
}

func TestPlanValidation(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxUploadFiles = 10
	cfg.MaxUnpackedSize = 1000
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	ok := listFiles(helloApp(nil))
	with := func(e ...filetree.Entry) []filetree.Entry { return append(append([]filetree.Entry{}, ok...), e...) }
	e := func(p string) filetree.Entry { return filetree.Entry{Path: p, Size: 1, Mode: 0o644, SHA256: sha("x")} }
	many := ok
	for i := 0; i < 10; i++ {
		many = append(many, e("f"+strings.Repeat("x", i)))
	}
	big := e("big")
	big.Size = 2000
	badHash := e("h")
	badHash.SHA256 = "abc"
	for name, tc := range map[string]struct {
		files []filetree.Entry
		want  string
	}{
		"zip-slip":     {with(e("../x")), `".." component`},
		"absolute":     {with(e("/etc/passwd")), "absolute"},
		"backslash":    {with(e(`a\b`)), "backslash"},
		"duplicate":    {with(e("src/main.c")), "listed twice"},
		"file and dir": {with(e("src/main.c/x")), "as a file and as a directory"},
		"reserved":     {with(e("build/x")), `"build" is reserved`},
		"too many":     {many, "--max-upload-files"},
		"too big":      {with(big), "--max-unpacked-size"},
		"bad hash":     {with(badHash), "64 lower-case hex"},
		"no mos.yml":   {[]filetree.Entry{e("src/a.c")}, "no mos.yml"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(t, s, planRequest(t, tc.files, false))
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%d %q, want 400 with %q", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
	if rec := do(t, s, httptestPost("application/json", []byte("{not json"))); rec.Code != http.StatusBadRequest {
		t.Errorf("the build action with a non-multipart body: %d", rec.Code)
	}
	req := planRequest(t, ok, false)
	req.Body = httptestBody([]byte("{not json"))
	req.ContentLength = -1
	if rec := do(t, s, req); rec.Code != http.StatusBadRequest {
		t.Errorf("bad JSON plan: %d %s", rec.Code, rec.Body.String())
	}
}

// A delta result applied to the client's build dir gives what a full
// result gives, whatever the client had.
func TestDeltaResultEqualsFull(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	rec := do(t, s, stockRequest(t, stockZip(t, app), field{protocol.FieldBuildCtx, "c1"}))
	full := resultFiles(t, rec)
	for name, have := range map[string]map[string]string{
		"nothing":  {},
		"the same": stripBuild(full),
		"older":    {"fw.zip": "old firmware", "gen/mos_final.yml": "name: hello\n", "build.log": "old log"},
		"extra":    {"gen/stale.h": "x", "objs/hello.elf": "ELF", "notes.txt": "mine"},
	} {
		t.Run(name, func(t *testing.T) {
			var hs []protocol.HaveEntry
			for p, c := range have {
				hs = append(hs, protocol.HaveEntry{Path: p, SHA256: sha(c)})
			}
			rec := do(t, s, stockRequest(t, stockZip(t, app), field{protocol.FieldBuildCtx, "c1"}, field{protocol.FieldHave, mustJSON(t, hs)}))
			if rec.Header().Get(protocol.HeaderDelta) != "1" {
				t.Fatalf("no %s header", protocol.HeaderDelta)
			}
			delta := resultFiles(t, rec)
			var dl protocol.DeltaList
			if err := json.Unmarshal([]byte(delta[protocol.DeltaListName]), &dl); err != nil {
				t.Fatalf("%s: %v", protocol.DeltaListName, err)
			}
			// Apply: start from have, write the delta's files, delete the list.
			got := map[string]string{}
			for p, c := range have {
				got[p] = c
			}
			for name, c := range delta {
				if name != protocol.DeltaListName {
					got[strings.TrimPrefix(name, "build/")] = c
				}
			}
			for _, c := range dl.Copies {
				from, ok := got[c.From]
				if !ok {
					t.Fatalf("copy %s of %s: the client has no %s", c.Path, c.From, c.From)
				}
				if sha(from) != c.SHA256 {
					t.Errorf("copy %s of %s: sha256 %s, the content has %s", c.Path, c.From, c.SHA256, sha(from))
				}
				got[c.Path] = from
			}
			for _, p := range dl.Deleted {
				delete(got, p)
			}
			want := stripBuild(resultFiles(t, do(t, s, stockRequest(t, stockZip(t, app), field{protocol.FieldBuildCtx, "c1"}))))
			if strings.Join(names(got), ",") != strings.Join(names(want), ",") {
				t.Fatalf("after applying the delta: %v, want %v", names(got), names(want))
			}
			for p := range want {
				if got[p] != want[p] {
					t.Errorf("%s = %q, want %q", p, got[p], want[p])
				}
			}
			if name == "the same" && (len(delta) != 1 || len(dl.Copies) != 0) {
				t.Errorf("the client had it all, yet the delta holds %v and copies %v", names(delta), dl.Copies)
			}
			// The fake build writes the firmware zip twice, identical: it is
			// sent once, the other is a copy.
			if name == "nothing" {
				// The first in path order is sent: "fw.zip" < "fw/...".
				_, zipSent := delta["build/fw.zip"]
				want := []protocol.DeltaCopy{{Path: "fw/hello-esp32-last.zip", From: "fw.zip", Mode: 0o644, SHA256: sha("PK fake firmware")}}
				if !zipSent || !reflect.DeepEqual(dl.Copies, want) {
					t.Errorf("firmware zip sent: %v; copies %+v, want %+v", zipSent, dl.Copies, want)
				}
				if _, ok := delta["build/fw/hello-esp32-last.zip"]; ok {
					t.Error("build/fw/hello-esp32-last.zip was sent although it is a copy")
				}
			}
		})
	}
}

func stripBuild(files map[string]string) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		out[strings.TrimPrefix(p, "build/")] = c
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httptestBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func TestDeltaResultChoice(t *testing.T) {
	e := func(p, content string) filetree.Entry {
		return filetree.Entry{Path: p, Size: int64(len(content)), Mode: 0o644, SHA256: sha(content)}
	}
	listed := []filetree.Entry{e("a.zip", "fw"), e("fw/last.zip", "fw"), e("kept.h", "k"), e("new.h", "n"), e("z/kept-copy.h", "k")}
	have := map[string]string{"a.zip": sha("old fw"), "kept.h": sha("k"), "stale.h": sha("s")}
	send, dl := deltaResult(listed, have)
	if !reflect.DeepEqual(send, map[string]bool{"a.zip": true, "new.h": true}) {
		t.Errorf("send %v, want a.zip and new.h", send)
	}
	wantCopies := []protocol.DeltaCopy{
		{Path: "fw/last.zip", From: "a.zip", Mode: 0o644, SHA256: sha("fw")},
		{Path: "z/kept-copy.h", From: "kept.h", Mode: 0o644, SHA256: sha("k")}, // from what the client kept
	}
	if !reflect.DeepEqual(dl.Copies, wantCopies) {
		t.Errorf("copies %+v, want %+v", dl.Copies, wantCopies)
	}
	if !reflect.DeepEqual(dl.Deleted, []string{"stale.h"}) {
		t.Errorf("deleted %v, want [stale.h]", dl.Deleted)
	}
}
