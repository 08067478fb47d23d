package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// encodedRequest is a delta build request whose text fields go as parts
// with the given Content-Encoding ("" for none), the value given already
// encoded.
func encodedRequest(t *testing.T, planID string, encoding string, fields ...field) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range []field{{protocol.FieldPreferPrebuiltLibs, "0"}, {protocol.FieldBuildParams, stockParams(t)}, {protocol.FieldPlan, planID}} {
		mw.WriteField(f.name, f.value)
	}
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.name+`"`)
		if encoding != "" {
			h.Set("Content-Encoding", encoding)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.value))
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, protocol.BuildPath(testVersion), bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The have listing and an inline plan may come gzip-compressed (a part
// with Content-Encoding: gzip) to a server that says so in its plan
// answer: the same result as plain; another encoding, or more than a
// field's allowance once decompressed, is refused naming the field.
func TestCompressedFields(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	pr := doPlan(t, s, app)
	if !pr.GzipFields {
		t.Fatalf("plan answer %+v: want GzipFields", pr)
	}
	if rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, "gz1"})); rec.Code != http.StatusOK {
		t.Fatalf("first build: %d %s", rec.Code, rec.Body)
	}
	have := []protocol.HaveEntry{{Path: "fw.zip", SHA256: sha("old fw")}, {Path: "build.log", SHA256: sha("log")}}
	haveJSON, _ := json.Marshal(have)

	pr = doPlan(t, s, app)
	rec := do(t, s, encodedRequest(t, pr.Plan, "gzip", field{protocol.FieldBuildCtx, gzipped(t, "gz1")}, field{protocol.FieldHave, gzipped(t, string(haveJSON))}))
	if rec.Code != http.StatusOK {
		t.Fatalf("build with gzip fields: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get(protocol.HeaderDelta) != "1" || rec.Header().Get(protocol.HeaderHaveKept) != protocol.HaveDigest(have) {
		t.Errorf("gzip have: delta %q, kept %q (want %q)", rec.Header().Get(protocol.HeaderDelta), rec.Header().Get(protocol.HeaderHaveKept), protocol.HaveDigest(have))
	}
	if files := resultFiles(t, rec); buildCtx(t, files) != "gz1" {
		t.Errorf("built in %q, want gz1", buildCtx(t, files))
	}

	// An inline plan, compressed.
	edited := helloApp(map[string]string{"src/main.c": "int main(void) { return 3; }\n"})
	set, removed := protocol.DiffListing(listFiles(app), listFiles(edited), protocol.EntryPath)
	inline, _ := json.Marshal(protocol.PlanRequest{Base: pr.Listing, Files: set, Removed: removed})
	cr := conflict(t, do(t, s, encodedRequest(t, "", "gzip", field{protocol.FieldBuildCtx, gzipped(t, "gz1")}, field{protocol.FieldPlanInline, gzipped(t, string(inline))})))
	if cr.Plan == "" || len(cr.Missing) != 1 || cr.Missing[0] != sha(edited["src/main.c"]) {
		t.Errorf("gzip inline plan: 409 %+v, want the plan made and the edited file's content", cr)
	}

	if rec := do(t, s, encodedRequest(t, pr.Plan, "br", field{protocol.FieldHave, string(haveJSON)})); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `"have"`) || !strings.Contains(rec.Body.String(), "br") {
		t.Errorf("Content-Encoding br: %d %s, want 400 naming the field and the encoding", rec.Code, rec.Body)
	}
	bomb := gzipped(t, strings.Repeat(" ", config.FormAllowance+10))
	if rec := do(t, s, encodedRequest(t, pr.Plan, "gzip", field{protocol.FieldHave, bomb})); rec.Code != http.StatusRequestEntityTooLarge ||
		!strings.Contains(rec.Body.String(), `"have"`) {
		t.Errorf("a field over its allowance once decompressed: %d %s, want 413 naming it", rec.Code, rec.Body)
	}
	if rec := do(t, s, encodedRequest(t, pr.Plan, "gzip", field{protocol.FieldHave, "not gzip"})); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `"have"`) {
		t.Errorf("a field that is not gzip: %d %s, want 400 naming it", rec.Code, rec.Body)
	}
}
