package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// A failed build's answer carries neither the firmware nor the objects the
// context still holds from its last good build (fw.zip, fw/, objs/), and a
// delta answer does not delete the client's: the client keeps its last
// good firmware.
func TestFailedAnswerLeavesLastGood(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	app := helloApp(nil)
	ci := field{protocol.FieldBuildCtx, "ci_main"}
	rec := do(t, s, stockRequest(t, stockZip(t, app), ci))
	good := resultFiles(t, rec)
	if rec.Code != http.StatusOK || good["build/fw.zip"] == "" {
		t.Fatalf("good build: %d %v", rec.Code, names(good))
	}
	fr.fail = func(builderRequest) string { return "build failed: mos exited with status 2" }
	lastGood := func(p string) bool {
		return p == "build/fw.zip" || strings.HasPrefix(p, "build/fw/") || strings.HasPrefix(p, "build/objs/")
	}

	rec = do(t, s, stockRequest(t, stockZip(t, app), ci))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("failed build: %d %s", rec.Code, rec.Body)
	}
	for p := range resultFiles(t, rec) {
		if lastGood(p) {
			t.Errorf("full 418 answer carries %s of the last good build", p)
		}
	}

	// Delta: the client has the good build's files.
	var have []protocol.HaveEntry
	for p, c := range good {
		have = append(have, protocol.HaveEntry{Path: strings.TrimPrefix(p, "build/"), SHA256: sha(c)})
	}
	pr := doPlan(t, s, app)
	rec = do(t, s, deltaRequest(t, pr.Plan, blobsZip(t, app, pr.Missing), have, ci))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("failed delta build: %d %s", rec.Code, rec.Body)
	}
	files := resultFiles(t, rec)
	var dl protocol.DeltaList
	if err := json.Unmarshal([]byte(files[protocol.DeltaListName]), &dl); err != nil {
		t.Fatalf("%s: %v (%v)", protocol.DeltaListName, err, names(files))
	}
	for _, p := range dl.Deleted {
		if lastGood("build/" + p) {
			t.Errorf("delta 418 answer deletes the client's %s", p)
		}
	}
	for p := range files {
		if lastGood(p) {
			t.Errorf("delta 418 answer carries %s", p)
		}
	}
}
