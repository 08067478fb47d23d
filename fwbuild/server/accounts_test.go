package server

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// accountsFile writes an accounts file: alice, bob and carol (password
// "<name> pw"), group fw of alice and carol.
func accountsFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, u := range []string{"alice", "bob", "carol"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+" pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(u + ":" + string(h) + "\n")
	}
	b.WriteString("group fw: alice, carol\n")
	p := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// as sets basic credentials on a request ("" user: none at all).
func as(req *http.Request, user, pass string) *http.Request {
	req.Header.Del("Authorization")
	if user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	return req
}

func accountsServer(t *testing.T) (*Server, config.Config, *fakeRunner) {
	t.Helper()
	cfg := testConfig(t)
	cfg.AuthFile = accountsFile(t)
	fr := newFakeRunner()
	return newServer(t, cfg, WithRunner(fr)), cfg, fr
}

func TestAccountsAreChecked(t *testing.T) {
	s, _, fr := accountsServer(t)
	app := stockZip(t, helloApp(nil))
	for _, tc := range []struct {
		name, user, pass, want string
	}{
		{"no credentials", "", "", "authentication required"},
		{"stock default test:test", "test", "test", "wrong user or password"},
		{"wrong password", "alice", "bob pw", "wrong user or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, as(stockRequest(t, app), tc.user, tc.pass))
			if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%d %q, want 401 with %q", rec.Code, rec.Body, tc.want)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="fwbuild", charset="UTF-8"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
	// Every API route, the plan of a delta upload too.
	plan := httptest.NewRequest(http.MethodPost, protocol.PlanPath(testVersion), strings.NewReader(`{"files":[]}`))
	if rec := do(t, s, plan); rec.Code != http.StatusUnauthorized {
		t.Errorf("plan without credentials: %d %q", rec.Code, rec.Body)
	}
	if n := len(fr.snapshot()); n != 0 {
		t.Errorf("%d builds ran without valid credentials", n)
	}
	// The status page and metrics show every account's builds: they need
	// credentials too (unless --metrics-open, see TestMonitorAccess).
	for _, p := range []string{"/", "/metrics", "/healthz", "/readyz"} {
		if rec := do(t, s, httptest.NewRequest(http.MethodGet, p, nil)); rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d", p, rec.Code)
		}
		if rec := do(t, s, as(httptest.NewRequest(http.MethodGet, p, nil), "alice", "alice pw")); rec.Code != http.StatusOK {
			t.Errorf("GET %s as alice: %d", p, rec.Code)
		}
	}
	// Right credentials build, and the answer works as stock's.
	rec := do(t, s, as(stockRequest(t, app), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("alice: %d %q", rec.Code, rec.Body)
	}
	if name := buildCtx(t, resultFiles(t, rec)); !strings.HasPrefix(name, "build_ctx_") {
		t.Errorf("new context named %q", name)
	}
}

func TestNamespacesKeepUsersApart(t *testing.T) {
	s, cfg, fr := accountsServer(t)
	app := stockZip(t, helloApp(nil))
	named := func(name string) field { return field{protocol.FieldBuildCtx, name} }

	// alice makes ci_main; the name comes back and works for her again.
	rec := do(t, s, as(stockRequest(t, app, named("ci_main")), "alice", "alice pw"))
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("alice: %d %q", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	if b, err := os.ReadFile(dir + ".owner"); err != nil || string(b) != "user:alice\n" {
		t.Errorf("owner %q %v", b, err)
	}
	parent := filepath.Dir(dir)
	before := snapshot(t, parent)
	builds := len(fr.snapshot())

	// bob cannot build in it, overwrite it, or read it: 403, and nothing
	// of it changes.
	evil := stockZip(t, helloApp(map[string]string{"src/main.c": "planted by bob"}))
	for _, req := range []*http.Request{
		stockRequest(t, evil, named("ci_main")),
		stockRequest(t, evil, named("ci_main"), field{protocol.FieldClean, "1"}),
	} {
		rec := do(t, s, as(req, "bob", "bob pw"))
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `build_ctx "ci_main" belongs to another account`) {
			t.Errorf("bob: %d %q, want 403", rec.Code, rec.Body)
		}
	}
	if after := snapshot(t, parent); !equalSnapshots(before, after) {
		t.Errorf("bob's refused uploads changed alice's context:\nbefore %v\nafter  %v", before, after)
	}
	if n := len(fr.snapshot()); n != builds {
		t.Errorf("%d builds ran for bob's refused uploads", n-builds)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "src", "main.c")); bytes.Contains(b, []byte("bob")) {
		t.Error("bob's file is in alice's context")
	}

	// Nor a context alice got a random name for.
	rec = do(t, s, as(stockRequest(t, app), "alice", "alice pw"))
	random := buildCtx(t, resultFiles(t, rec))
	if rec := do(t, s, as(stockRequest(t, evil, named(random)), "bob", "bob pw")); rec.Code != http.StatusForbidden {
		t.Errorf("bob in alice's %s: %d %q", random, rec.Code, rec.Body)
	}

	// alice again: her context, reused.
	rec = do(t, s, as(stockRequest(t, app, named("ci_main")), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("alice again: %d %q", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if last := calls[len(calls)-1]; last.req.Dir != dir || !last.sawObjects {
		t.Errorf("alice's second build ran in %s (objects kept: %v)", last.req.Dir, last.sawObjects)
	}
}

func TestTeamContextsAreShared(t *testing.T) {
	s, cfg, fr := accountsServer(t)
	app := stockZip(t, helloApp(nil))
	team := field{protocol.FieldBuildCtx, "team_fw_ci"}
	rec := do(t, s, as(stockRequest(t, app, team), "alice", "alice pw"))
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "team_fw_ci" {
		t.Fatalf("alice: %d %q", rec.Code, rec.Body)
	}
	if b, _ := os.ReadFile(ctxDir(cfg, "esp32", "team_fw_ci") + ".owner"); string(b) != "team:fw\n" {
		t.Errorf("owner %q", b)
	}
	// carol is in fw: the same context, reused.
	rec = do(t, s, as(stockRequest(t, app, team), "carol", "carol pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("carol: %d %q", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if !calls[1].sawObjects || calls[1].req.Dir != calls[0].req.Dir {
		t.Errorf("carol's build did not reuse the team's context: %+v", calls[1])
	}
	// bob is not: refused before anything is unpacked.
	rec = do(t, s, as(stockRequest(t, app, team), "bob", "bob pw"))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `build_ctx "team_fw_ci" is the group "fw"'s and user "bob" is not in it`) {
		t.Errorf("bob: %d %q", rec.Code, rec.Body)
	}
	// A team of no group is nobody's.
	rec = do(t, s, as(stockRequest(t, app, field{protocol.FieldBuildCtx, "team_qa"}), "alice", "alice pw"))
	if rec.Code != http.StatusForbidden {
		t.Errorf("team_qa: %d %q", rec.Code, rec.Body)
	}
	if n := len(fr.snapshot()); n != 2 {
		t.Errorf("%d builds, want 2", n)
	}
}

// Without accounts all is as before: anyone, one namespace, no owner
// files; and such a server refuses the contexts of a server with accounts.
// Once accounts are on, the first account building in a context made
// without them adopts it, started afresh, and says so; it is then that
// account's only.
func TestWithoutAccountsOneNamespace(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	app := stockZip(t, helloApp(nil))
	ci := field{protocol.FieldBuildCtx, "ci_main"}
	for _, user := range []string{"", "test", "anyone"} {
		rec := do(t, s, as(stockRequest(t, app, ci), user, "x"))
		if rec.Code != http.StatusOK {
			t.Fatalf("%q: %d %q", user, rec.Code, rec.Body)
		}
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "ci_main") + ".owner"); !os.IsNotExist(err) {
		t.Errorf("owner file without accounts: %v", err)
	}

	acfg := cfg
	acfg.AuthFile = accountsFile(t)
	as2 := newServer(t, acfg, WithRunner(fr))
	builds := len(fr.snapshot())
	rec := do(t, as2, as(stockRequest(t, app, ci), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("alice in a context made without accounts: %d %q", rec.Code, rec.Body)
	}
	dir := ctxDir(cfg, "esp32", "ci_main")
	if b, err := os.ReadFile(dir + ".owner"); err != nil || string(b) != "user:alice\n" {
		t.Errorf("adopted context's owner %q %v", b, err)
	}
	if note := rec.Header().Get(protocol.HeaderNotice); !strings.Contains(note, `build_ctx "ci_main" was made before accounts were turned on`) || !strings.Contains(note, "started afresh") {
		t.Errorf("notice %q", note)
	}
	calls := fr.snapshot()
	if len(calls) != builds+1 || calls[builds].req.Dir != dir || calls[builds].sawObjects {
		t.Errorf("adopting build: %d builds, last %+v (want one, afresh, in %s)", len(calls)-builds, calls[len(calls)-1], dir)
	}
	// Adopted is owned: nobody else's, not even the open server's.
	if rec := do(t, as2, as(stockRequest(t, app, ci), "bob", "bob pw")); rec.Code != http.StatusForbidden {
		t.Errorf("bob in alice's adopted context: %d %q", rec.Code, rec.Body)
	}
	if rec := do(t, s, stockRequest(t, app, ci)); rec.Code != http.StatusForbidden {
		t.Errorf("an open server uses alice's adopted context: %d %q", rec.Code, rec.Body)
	}
	// alice again: hers, reused, no notice.
	rec = do(t, as2, as(stockRequest(t, app, ci), "alice", "alice pw"))
	if rec.Code != http.StatusOK || rec.Header().Get(protocol.HeaderNotice) != "" {
		t.Errorf("alice again: %d %q notice %q", rec.Code, rec.Body, rec.Header().Get(protocol.HeaderNotice))
	}
	if calls := fr.snapshot(); !calls[len(calls)-1].sawObjects {
		t.Error("alice's adopted context was not reused")
	}
	rec = do(t, as2, as(stockRequest(t, app, field{protocol.FieldBuildCtx, "mine"}), "alice", "alice pw"))
	if rec.Code != http.StatusOK {
		t.Fatalf("alice: %d %q", rec.Code, rec.Body)
	}
	if rec := do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, "mine"})); rec.Code != http.StatusForbidden {
		t.Errorf("an open server uses alice's context: %d %q", rec.Code, rec.Body)
	}
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
