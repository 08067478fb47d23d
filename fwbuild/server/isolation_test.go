package server

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/builder"
)

// The hostile-tenant rows of issue 20 that are server policy: one account
// cannot read, poison or wipe another's.

// doPlanAs is doPlan with an account's credentials.
func doPlanAs(t *testing.T, s *Server, files map[string]string, user string) protocol.PlanResponse {
	t.Helper()
	rec := do(t, s, as(planRequest(t, listFiles(files), true), user, user+" pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("plan as %s: %d %s", user, rec.Code, rec.Body.String())
	}
	var pr protocol.PlanResponse
	mustUnmarshal(t, rec.Body.Bytes(), &pr)
	return pr
}

// Row 5: a plan may name by hash only content its own account uploaded;
// whether another account's content is in the store does not show.
func TestBlobsNeedProofOfPossession(t *testing.T) {
	s, cfg, _ := accountsServer(t)
	secret := "alice's private key material\n"
	alice := helloApp(map[string]string{"fs/secret.txt": secret})
	pr := doPlanAs(t, s, alice, "alice")
	rec := do(t, s, as(deltaRequest(t, pr.Plan, blobsZip(t, alice, pr.Missing), nil, field{protocol.FieldBuildCtx, "a1"}), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("alice: %d %s", rec.Code, rec.Body.String())
	}
	// alice again: all hers, nothing to send.
	if pr := doPlanAs(t, s, alice, "alice"); len(pr.Missing) != 0 {
		t.Errorf("alice's second plan misses %v", pr.Missing)
	}

	// bob names alice's secret (and an unknown content) by hash only.
	unknown := "nobody has this\n"
	bob := helloApp(map[string]string{"fs/secret.txt": secret, "fs/other.txt": unknown})
	pr = doPlanAs(t, s, bob, "bob")
	for _, c := range []string{secret, unknown} {
		if !slices.Contains(pr.Missing, sha(c)) {
			t.Errorf("bob's plan does not ask for %q (missing %v): the store's content of another account shows", c, pr.Missing)
		}
	}
	// bob's build without those contents: 409 asking for them, and
	// nothing of alice's in his context.
	rec = do(t, s, as(deltaRequest(t, pr.Plan, blobsZip(t, bob, []string{sha(bob["mos.yml"]), sha(bob["src/main.c"]), sha(bob["src/util.c"])}), nil, field{protocol.FieldBuildCtx, "b1"}), "bob", "bob pw"))
	if rec.Code != protocol.StatusConflict {
		t.Errorf("bob's build naming alice's content: %d, want 409", rec.Code)
	} else if cr := conflict(t, rec); !slices.Contains(cr.Missing, sha(secret)) {
		t.Errorf("409 asks for %v, not alice's content", cr.Missing)
	}
	if b, err := os.ReadFile(filepath.Join(ctxDir(cfg, "esp32", "b1"), "fs", "secret.txt")); err == nil {
		t.Errorf("alice's secret in bob's context: %q", b)
	}
	// Sending other bytes under alice's hash is refused, not taken as
	// proof.
	wrong := blobsZipRaw(t, map[string]string{sha(secret): "not alice's secret at all\n"})
	rec = do(t, s, as(deltaRequest(t, pr.Plan, wrong, nil, field{protocol.FieldBuildCtx, "b1"}), "bob", "bob pw"))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("bob's wrong content under alice's hash: %d %s, want 400", rec.Code, rec.Body.String())
	}
	// With the content itself, bob proves possession and builds.
	pr = doPlanAs(t, s, bob, "bob")
	rec = do(t, s, as(deltaRequest(t, pr.Plan, blobsZip(t, bob, pr.Missing), nil, field{protocol.FieldBuildCtx, "b1"}), "bob", "bob pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("bob with the contents: %d %s", rec.Code, rec.Body.String())
	}
}

// Row 11: a context removed by collection keeps its owner record, so its
// name is not free for another account.
func TestOwnerOutlivesContext(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.MaxContextsSize = 1 // every idle context goes
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := stockZip(t, helloApp(nil))
	named := field{protocol.FieldBuildCtx, "alice_g"}
	if rec := do(t, s, as(stockRequest(t, app, named), "alice", "alice pw")); rec.Code != http.StatusOK {
		t.Fatalf("alice: %d %s", rec.Code, rec.Body.String())
	}
	st := s.collect()
	if len(st.Removed) != 1 {
		t.Fatalf("collect removed %v, want alice's context", st.Removed)
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "alice_g")); err == nil {
		t.Fatal("alice's context is still there")
	}
	if rec := do(t, s, as(stockRequest(t, app, named), "bob", "bob pw")); rec.Code != http.StatusForbidden {
		t.Errorf("bob claims alice's evicted name: %d, want 403", rec.Code)
	}
	if rec := do(t, s, as(stockRequest(t, app, named), "alice", "alice pw")); rec.Code != http.StatusOK {
		t.Errorf("alice's own name after eviction: %d %s", rec.Code, rec.Body.String())
	}
}

// blobsZipRaw is a blobs zip of the given entries (name -> content), true
// to their names or not.
func blobsZipRaw(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, c := range entries {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(c))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
}

// haveList is a have listing of n files under dir.
func haveList(dir string, n int) []protocol.HaveEntry {
	var out []protocol.HaveEntry
	for i := 0; i < n; i++ {
		out = append(out, protocol.HaveEntry{Path: fmt.Sprintf("%s/f%04d.bin", dir, i), SHA256: sha(fmt.Sprint(dir, i))})
	}
	return out
}

// Row 10: what is kept for the next request (plans, listings) is bounded
// per account, in entries; a have listing grown by deltas is bounded as
// an upload is; nothing is kept for a refused request.
func TestKeptPlansAndListingsAreBudgeted(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.MaxUploadFiles = 50 // an account keeps 4 x 50 entries
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := func(tag string) map[string]string {
		files := helloApp(nil)
		for i := 0; i < 36; i++ {
			files[fmt.Sprintf("src/%s%02d.c", tag, i)] = fmt.Sprint(tag, i)
		}
		return files
	}
	bobs := doPlanAs(t, s, app("bob"), "bob")
	var alices []protocol.PlanResponse
	for i := 0; i < 8; i++ {
		alices = append(alices, doPlanAs(t, s, app(fmt.Sprint("a", i)), "alice"))
	}
	build := func(pr protocol.PlanResponse, files map[string]string, user, ctx string) int {
		return do(t, s, as(deltaRequest(t, pr.Plan, blobsZip(t, files, pr.Missing), nil, field{protocol.FieldBuildCtx, ctx}), user, user+" pw")).Code
	}
	if code := build(alices[0], app("a0"), "alice", "a0"); code != protocol.StatusConflict {
		t.Errorf("alice's first of 8 plans of 40 files: %d, want 409 (dropped: over her budget of 200 entries)", code)
	}
	if code := build(alices[7], app("a7"), "alice", "a7"); code != http.StatusOK {
		t.Errorf("alice's last plan: %d", code)
	}
	if code := build(bobs, app("bob"), "bob", "b0"); code != http.StatusOK {
		t.Errorf("bob's plan after alice's flood: %d, want 200 (alice's plans do not push out his)", code)
	}

	// A have listing kept, then grown by a delta beyond --max-upload-files.
	have := haveList("build/objs", 40)
	rec := do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "h1"}, field{protocol.FieldHave, mustJSON(t, have)}), "alice", "alice pw"))
	kept := rec.Header().Get(protocol.HeaderHaveKept)
	if rec.Code != http.StatusOK || kept == "" {
		t.Fatalf("alice with a have listing: %d, kept %q", rec.Code, kept)
	}
	grow := protocol.HaveDelta{Base: kept, Set: haveList("build/more", 40)}
	rec = do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "h1"}, field{protocol.FieldHave, mustJSON(t, grow)}), "alice", "alice pw"))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("have listing grown to 80 entries (limit 50): %d, want 400", rec.Code)
	}

	// bob's refused request (alice's context) keeps nothing: a delta on
	// its have listing is answered in full.
	bobHave := haveList("build/bob", 10)
	if rec := do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "h1"}, field{protocol.FieldHave, mustJSON(t, bobHave)}), "bob", "bob pw")); rec.Code != http.StatusForbidden {
		t.Fatalf("bob in alice's context: %d", rec.Code)
	}
	next := protocol.HaveDelta{Base: protocol.HaveDigest(bobHave)}
	rec = do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "b2"}, field{protocol.FieldHave, mustJSON(t, next)}), "bob", "bob pw"))
	if rec.Code != http.StatusOK || rec.Header().Get(protocol.HeaderDelta) != "" {
		t.Errorf("delta on the have listing of a refused request: %d, delta %q: it was kept", rec.Code, rec.Header().Get(protocol.HeaderDelta))
	}
}

// statusAs fetches the status page of s (with credentials unless user is
// "") or of its monitor handler.
func statusAs(t *testing.T, h http.Handler, user string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if user != "" {
		req = as(req, user, user+" pw")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status page as %q: %d %s", user, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// Row 13: the status page shows an account its own builds and contexts
// and its groups'; without credentials (--metrics-open, the monitor
// listener) only counts.
func TestStatusPageShowsOwnBuilds(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t) // group fw: alice, carol
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	app := stockZip(t, helloApp(nil))
	for _, b := range []struct{ user, ctx string }{{"alice", "alice_secret_feature"}, {"bob", "bob_ctx"}, {"carol", "team_fw_shared"}} {
		if rec := do(t, s, as(stockRequest(t, app, field{protocol.FieldBuildCtx, b.ctx}), b.user, b.user+" pw")); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", b.user, rec.Code)
		}
	}
	check := func(who, page string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s does not see %s", who, w)
			}
		}
		for _, n := range not {
			if strings.Contains(page, n) {
				t.Errorf("%s sees %s", who, n)
			}
		}
	}
	check("bob", statusAs(t, s.Handler(), "bob"), []string{"bob_ctx"}, []string{"alice_secret_feature", "team_fw_shared"})
	check("alice", statusAs(t, s.Handler(), "alice"), []string{"alice_secret_feature", "team_fw_shared"}, []string{"bob_ctx"})
	check("the monitor listener", statusAs(t, s.MonitorHandler(), ""), []string{"not shown"}, []string{"alice_secret_feature", "team_fw_shared", "bob_ctx"})
	all := []string{"alice_secret_feature", "team_fw_shared", "bob_ctx"}

	// --metrics-open: no credentials, counts only; credentials given are
	// taken. --admin-group: its users see all. --status-public: everyone.
	cfg.MetricsOpen = true
	cfg.AdminGroup = "fw"
	open := newServer(t, cfg, WithRunner(newFakeRunner()))
	check("anyone (--metrics-open)", statusAs(t, open.Handler(), ""), []string{"and 3 contexts"}, all)
	check("bob (--metrics-open)", statusAs(t, open.Handler(), "bob"), []string{"bob_ctx"}, []string{"alice_secret_feature"})
	check("carol (admin)", statusAs(t, open.Handler(), "carol"), all, nil)
	cfg.StatusPublic = true
	public := newServer(t, cfg, WithRunner(newFakeRunner()))
	check("anyone (--status-public)", statusAs(t, public.Handler(), ""), all, nil)
}

// Row 9: an account's uploads stay within its quota, refused from what
// the zip declares before anything is written and held to it while
// unpacking; its contexts beyond it are collected, least recently used
// first; no upload takes the volumes under the free disk floor, which
// /readyz reports.
func TestQuotaAndFreeDiskFloor(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.AccountQuota = 1 << 20
	cfg.MinFreeDisk = 0
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	bomb := stockZip(t, helloApp(map[string]string{"fs/zeros.bin": strings.Repeat("\x00", 4<<20)}))
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb zip is %d bytes", len(bomb))
	}
	rec := do(t, s, as(stockRequest(t, bomb, field{protocol.FieldBuildCtx, "big"}), "alice", "alice pw"))
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "quota") {
		t.Errorf("a %d-byte zip unpacking to 4 MiB over a 1 MiB quota: %d %s, want 413", len(bomb), rec.Code, short(rec.Body.String()))
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "big")); err == nil {
		t.Error("the refused upload made a context")
	}
	// A zip whose header understates an entry: unpacking stops at what was
	// reserved, not at the end of the content.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range helloApp(nil) {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
	liar := []byte(strings.Repeat("y", 2<<20))
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "fs/liar.bin", Method: zip.Store, UncompressedSize64: 10, CompressedSize64: uint64(len(liar))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(liar)
	zw.Close()
	rec = do(t, s, as(stockRequest(t, buf.Bytes(), field{protocol.FieldBuildCtx, "liar"}), "alice", "alice pw"))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "unpacks to more than") {
		t.Errorf("a zip understating an entry: %d %s, want 400 cut at the reservation", rec.Code, short(rec.Body.String()))
	}

	// Uploads within the quota build; beyond it, collection removes the
	// account's own least recently used contexts, not another's.
	data := func(tag string) []byte {
		var b strings.Builder
		for i := 0; b.Len() < 600<<10; i++ {
			b.WriteString(sha(fmt.Sprint(tag, i)))
		}
		return stockZip(t, helloApp(map[string]string{"fs/data.bin": b.String()}))
	}
	for _, b := range []struct{ user, ctx string }{{"bob", "b1"}, {"alice", "a1"}, {"alice", "a2"}} {
		if rec := do(t, s, as(stockRequest(t, data(b.ctx), field{protocol.FieldBuildCtx, b.ctx}), b.user, b.user+" pw")); rec.Code != http.StatusOK {
			t.Errorf("%s's 600 KB upload: %d %s", b.user, rec.Code, short(rec.Body.String()))
		}
	}
	s.ctxCache.stale()
	st := s.collect()
	if strings.Join(st.Removed, ",") != testVersion+"/hello/esp32/a1" {
		t.Errorf("collection removed %v, want alice's older context only", st.Removed)
	}

	// The free disk floor: /readyz fails, uploads are refused.
	cfg.MinFreeDisk = 1 << 60
	low := newServer(t, cfg, WithRunner(newFakeRunner()))
	rec = do(t, low, as(httptest.NewRequest(http.MethodGet, "/readyz", nil), "alice", "alice pw"))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "free disk") {
		t.Errorf("/readyz under the free disk floor: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(t, low, as(stockRequest(t, stockZip(t, helloApp(nil))), "alice", "alice pw"))
	if rec.Code != http.StatusInsufficientStorage {
		t.Errorf("an upload under the free disk floor: %d %s, want 507", rec.Code, short(rec.Body.String()))
	}
}

// short is the start of an answer's body, for a message.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// Row 9, a build that writes the disk full: it is stopped when free disk
// falls under half the floor, and answered 507.
func TestBuildStoppedWhenDiskFills(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.MinFreeDisk = 1 << 20
	fr := newFakeRunner()
	fr.block = true
	fr.started = make(chan builder.Request, 1)
	s := newServer(t, cfg, WithRunner(fr))
	s.diskWatch = time.Millisecond
	var free atomic.Int64
	free.Store(1 << 30)
	s.quota.Free = free.Load
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- do(t, s, as(stockRequest(t, stockZip(t, helloApp(nil))), "alice", "alice pw"))
	}()
	<-fr.started
	free.Store(1 << 18) // the build wrote the disk full
	var rec *httptest.ResponseRecorder
	select {
	case rec = <-done:
	case <-time.After(10 * time.Second):
		close(fr.release) // not stopped: let it end
		rec = <-done
	}
	if rec.Code != http.StatusInsufficientStorage {
		t.Errorf("a build filling the disk: %d %s, want 507", rec.Code, short(rec.Body.String()))
	}
}

func TestAdminGroupMustExist(t *testing.T) {
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	cfg.AdminGroup = "ops"
	if _, err := New(cfg, WithRunner(newFakeRunner())); err == nil || !strings.Contains(err.Error(), `--admin-group "ops": no such group`) {
		t.Errorf("New with an unknown admin group: %v", err)
	}
}
