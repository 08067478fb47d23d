package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

func planWith(t *testing.T, s *Server, req protocol.PlanRequest) protocol.PlanResponse {
	t.Helper()
	b, _ := json.Marshal(req)
	hr := httptest.NewRequest(http.MethodPost, protocol.PlanPath(testVersion), nil)
	hr.Body = httptestBody(b)
	hr.ContentLength = int64(len(b))
	hr.Header.Set("Content-Type", "application/json")
	rec := do(t, s, hr)
	if rec.Code != http.StatusOK {
		t.Fatalf("plan: %d %s", rec.Code, rec.Body.String())
	}
	var pr protocol.PlanResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

// A plan sent as changes against a listing the server kept is the same
// plan as the whole listing; an unknown base is answered NeedFull, never
// planned from what was sent.
func TestPlanAgainstKeptListing(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	full := listFiles(app)
	pr := planWith(t, s, protocol.PlanRequest{Files: full})
	if pr.Listing == "" || pr.Listing != protocol.ListingDigest(full) {
		t.Fatalf("listing digest %q, want %q", pr.Listing, protocol.ListingDigest(full))
	}

	app["src/main.c"] = "int main(void) { return 2; }\n"
	app["src/new.c"] = "int n;\n"
	changed := listFiles(app)
	set, removed := protocol.DiffListing(full, changed, protocol.EntryPath)
	pr2 := planWith(t, s, protocol.PlanRequest{Base: pr.Listing, Files: set, Removed: removed})
	if pr2.NeedFull || pr2.Listing != protocol.ListingDigest(changed) {
		t.Fatalf("plan against the base: %+v, want the listing of the changed tree", pr2)
	}
	if want := doPlan(t, s, app).Missing; !sameSet(pr2.Missing, want) {
		t.Errorf("missing %v, want what the whole listing misses: %v", pr2.Missing, want)
	}
	if p := s.keptPlanOf("", pr2.Plan); p == nil || protocol.ListingDigest(p.files) != protocol.ListingDigest(changed) {
		t.Errorf("the plan made from the changes is not the changed tree")
	}

	pr3 := planWith(t, s, protocol.PlanRequest{Base: "0000", Files: set})
	if !pr3.NeedFull || pr3.Plan != "" {
		t.Errorf("unknown base: %+v, want NeedFull and no plan", pr3)
	}
}

// A have listing sent as changes against one kept gives the same delta
// result as the whole listing; an unknown base gives the whole result.
func TestHaveAgainstKeptListing(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := helloApp(nil)
	pr := doPlan(t, s, app)
	rec := do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), []protocol.HaveEntry{}, field{protocol.FieldBuildCtx, "ci_main"}))
	if rec.Code != http.StatusOK {
		t.Fatalf("first build: %d %s", rec.Code, rec.Body.String())
	}
	have := []protocol.HaveEntry{{Path: "fw.zip", SHA256: sha("old fw")}, {Path: "build.log", SHA256: sha("log")}}
	send := func(haveField string) *httptest.ResponseRecorder {
		t.Helper()
		pr := doPlan(t, s, app)
		rec := do(t, s, deltaRequest(t, pr.Plan, nil, nil, field{protocol.FieldBuildCtx, "ci_main"}, field{protocol.FieldHave, haveField}))
		if rec.Code != http.StatusOK {
			t.Fatalf("build: %d %s", rec.Code, rec.Body.String())
		}
		return rec
	}
	whole, _ := json.Marshal(have)
	rec = send(string(whole))
	kept := rec.Header().Get(protocol.HeaderHaveKept)
	if kept != protocol.HaveDigest(have) || rec.Header().Get(protocol.HeaderDelta) != "1" {
		t.Fatalf("kept %q (want %q), delta %q", kept, protocol.HaveDigest(have), rec.Header().Get(protocol.HeaderDelta))
	}
	wantFiles := resultNames(t, rec)

	now := []protocol.HaveEntry{{Path: "fw.zip", SHA256: sha("old fw")}, {Path: "build.log", SHA256: sha("log")}, {Path: "build.local.log", SHA256: sha("l")}}
	set, removed := protocol.DiffListing(have, now, protocol.HavePath)
	hd, _ := json.Marshal(protocol.HaveDelta{Base: kept, Set: set, Removed: removed})
	rec = send(string(hd))
	if rec.Header().Get(protocol.HeaderDelta) != "1" || rec.Header().Get(protocol.HeaderHaveKept) != protocol.HaveDigest(now) {
		t.Errorf("against the base: delta %q, kept %q", rec.Header().Get(protocol.HeaderDelta), rec.Header().Get(protocol.HeaderHaveKept))
	}
	if got := resultNames(t, rec); len(got) != len(wantFiles) {
		t.Errorf("result against the base has %v, the whole listing gave %v", got, wantFiles)
	}

	bad, _ := json.Marshal(protocol.HaveDelta{Base: "unknown", Set: set})
	rec = send(string(bad))
	if rec.Header().Get(protocol.HeaderDelta) != "" {
		t.Errorf("an unknown have base gave a delta result")
	}
}

func resultNames(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var names []string
	for n := range resultFiles(t, rec) {
		names = append(names, n)
	}
	return names
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
