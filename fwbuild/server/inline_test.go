package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// A plan inside the build request: the server makes it as the plan
// action would and builds; missing contents are a 409 naming the plan
// made, an unknown base a 409 asking for a plan.
func TestInlinePlan(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	pr := doPlan(t, s, app)
	if !pr.Inline || pr.Listing == "" {
		t.Fatalf("plan answer %+v: want Inline and a kept listing", pr)
	}
	if rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), nil, field{protocol.FieldBuildCtx, "in1"})); rec.Code != http.StatusOK {
		t.Fatalf("first build: %d %s", rec.Code, rec.Body)
	}

	edited := helloApp(map[string]string{"src/main.c": "int main(void) { return 2; }\n"})
	inline := func(base string, blobs []byte) *http.Request {
		set, removed := protocol.DiffListing(listFiles(app), listFiles(edited), protocol.EntryPath)
		b, _ := json.Marshal(protocol.PlanRequest{Base: base, Files: set, Removed: removed})
		return deltaRequest(t, "", blobs, nil, field{protocol.FieldBuildCtx, "in1"}, field{protocol.FieldPlanInline, string(b)})
	}
	// Without the changed content: 409 with the plan made, then the
	// content with that plan.
	cr := conflict(t, do(t, s, inline(pr.Listing, nil)))
	if cr.Plan == "" || len(cr.Missing) != 1 || cr.Missing[0] != sha(edited["src/main.c"]) {
		t.Fatalf("409 %+v: want the plan's id and the edited file's content", cr)
	}
	rec := do(t, s, deltaRequest(t, cr.Plan, blobsZip(t, edited, cr.Missing), nil, field{protocol.FieldBuildCtx, "in1"}))
	if rec.Code != http.StatusOK || rec.Header().Get(protocol.HeaderPlanKept) != protocol.ListingDigest(listFiles(edited)) {
		t.Fatalf("build with the inline plan's id: %d, kept %q", rec.Code, rec.Header().Get(protocol.HeaderPlanKept))
	}
	// With it: one request.
	rec = do(t, s, inline(pr.Listing, blobsZip(t, edited, []string{sha(edited["src/main.c"])})))
	if rec.Code != http.StatusOK || rec.Header().Get(protocol.HeaderPlanKept) != protocol.ListingDigest(listFiles(edited)) {
		t.Fatalf("inline build: %d %s, kept %q", rec.Code, rec.Body, rec.Header().Get(protocol.HeaderPlanKept))
	}
	if files := resultFiles(t, rec); buildCtx(t, files) != "in1" {
		t.Errorf("built in %q", buildCtx(t, files))
	}
	// An unknown base: plan again.
	if cr := conflict(t, do(t, s, inline(sha("no such listing"), nil))); !cr.Replan || cr.Plan != "" {
		t.Errorf("unknown base: 409 %+v, want Replan", cr)
	}
	// A whole listing inside the build request is refused: it goes as a
	// plan request.
	if rec := do(t, s, inline("", nil)); rec.Code != http.StatusBadRequest {
		t.Errorf("inline plan without a base: %d, want 400", rec.Code)
	}
}
