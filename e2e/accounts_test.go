package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/bench/harness"
)

// startAuthServer starts a second server on e's volumes dir with
// --auth-file: alice and bob, password "<name> pw".
func (e *env) startAuthServer() *harness.Server {
	e.t.Helper()
	var b strings.Builder
	for _, u := range []string{"alice", "bob"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+" pw"), bcrypt.MinCost)
		if err != nil {
			e.t.Fatal(err)
		}
		b.WriteString(u + ":" + string(h) + "\n")
	}
	users := filepath.Join(e.work, "users")
	if err := os.WriteFile(users, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	log := filepath.Join(e.work, "auth-server.log")
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: "native",
		VolumesDir: filepath.Join(e.work, "volumes"), LogFile: log,
		Extra: []string{"--auth-file", users, "--address", "127.0.0.1"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		srv.Stop()
		if e.t.Failed() {
			b, _ := os.ReadFile(log)
			e.t.Logf("server with accounts, log:\n%s", b)
		}
	})
	return srv
}

// buildAt runs mos build against url (credentials in it or not) and
// returns the result, failed or not.
func (e *env) buildAt(srv *harness.Server, url, app string) (harness.Result, error) {
	e.t.Helper()
	args := []string{"build", "--server", url, "--repo", "../sdk-host"}
	return harness.Build(context.Background(), bins.Mos, app, e.mosEnv, args, srv)
}

// Turning accounts on: wrong credentials are reported at once (no upload
// of the sources), a checkout's context made without accounts is adopted
// by the first account building in it, and another account's build in
// that checkout goes to a new context of its own.
func TestAccountsTurnedOn(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	open := e.build(app, "--repo", "../sdk-host")
	e.wantCompiled("without accounts", open, full)
	ctxFile := filepath.Join(app, "build", "gen", "build_ctx.txt")
	old, err := os.ReadFile(ctxFile)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Stop()
	srv := e.startAuthServer()
	base := srv.URL()
	with := func(user string) string { return strings.Replace(base, "http://", "http://"+user+"@", 1) }

	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"no user", base, []string{`refused stock's default account "test" (no user was given): 401`, "--server http://USER:PASSWORD@HOST:PORT"}},
		{"wrong password", with("alice:bob%20pw"), []string{`refused user "alice": 401: wrong user or password`}},
	} {
		r, err := e.buildAt(srv, tc.url, app)
		if err == nil {
			t.Fatalf("%s: build succeeded:\n%s", tc.name, r.Output)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Output, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, r.Output)
			}
		}
		if strings.Contains(r.Output, "Uploading") || strings.Contains(r.Output, "broken pipe") {
			t.Errorf("%s: an upload followed the 401:\n%s", tc.name, r.Output)
		}
		// The plan request is a gzipped listing; the sources are far more.
		if r.BytesUp*4 > open.BytesUp {
			t.Errorf("%s: %d bytes sent after a 401 (the first upload was %d)", tc.name, r.BytesUp, open.BytesUp)
		}
	}

	// alice adopts the checkout's context, started afresh.
	r, err := e.buildAt(srv, with("alice:alice%20pw"), app)
	if err != nil {
		t.Fatal(err)
	}
	e.wantCompiled("alice adopts", r, full)
	if !strings.Contains(r.Output, `Note from the build server: build_ctx "`+string(old)+`" was made before accounts were turned on: user "alice" adopted it, and it started afresh`) {
		t.Errorf("no adoption notice:\n%s", r.Output)
	}
	r, err = e.buildAt(srv, with("alice:alice%20pw"), app)
	if err != nil {
		t.Fatal(err)
	}
	e.wantCompiled("alice again", r, 0)

	// bob in the same checkout: alice's context is refused, bob gets one
	// of his own, and is told so once.
	r, err = e.buildAt(srv, with("bob:bob%20pw"), app)
	if err != nil {
		t.Fatal(err)
	}
	e.wantCompiled("bob", r, full)
	if n := strings.Count(r.Output, "Build context "+string(old)+" (from "+ctxFile+") was refused by the server (403"); n != 1 {
		t.Errorf("%d refusal messages:\n%s", n, r.Output)
	}
	if now, _ := os.ReadFile(ctxFile); string(now) == string(old) || len(now) == 0 {
		t.Errorf("bob's build_ctx.txt %q (alice's is %q)", now, old)
	}
}
