package remote

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// A 401 to the upload plan is the answer: reported at once with the user
// tried, never followed by a full upload.
func TestPlanUnauthorized(t *testing.T) {
	for _, tc := range []struct {
		name, user string
		want       []string
	}{
		{"no user", "", []string{`refused stock's default account "test" (no user was given)`, "401", "wrong user or password", "--server http://USER:PASSWORD@"}},
		{"wrong password", "alice:nope@", []string{`refused user "alice"`, "401", "wrong user or password", "--server http://USER:PASSWORD@"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ts := newStockServer(t)
			srv.planStatus, srv.errBody = http.StatusUnauthorized, "wrong user or password"
			e := newEnv(t)
			_, err := Build(context.Background(), e.req(strings.Replace(ts.URL, "http://", "http://"+tc.user, 1)))
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
				t.Fatalf("error %v, want an AuthError 401\nlog:\n%s", err, e.log)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "nope") {
				t.Errorf("error shows the password: %q", err)
			}
			if n := srv.count(); n != 0 {
				t.Errorf("%d build requests (full uploads) after the 401", n)
			}
			if srv.otherAsked != 1 {
				t.Errorf("%d plan requests, want 1", srv.otherAsked)
			}
			if exists(e.buildDir()) {
				t.Error("build dir made")
			}
		})
	}
}

// A context name the user did not give (build/gen/build_ctx.txt) that the
// server refuses as another account's: one message, and the build goes to
// a new context, with or without --clean. A name the user gave is an
// error.
func TestRefusedContextFromFile(t *testing.T) {
	for _, clean := range []bool{false, true} {
		srv, ts := newStockServer(t)
		srv.asIs = true
		e := newEnv(t)
		first := e.build(e.req(ts.URL))
		srv.refuse = map[string]bool{first.Context: true}
		e.log.Reset()
		r := e.req(ts.URL)
		r.Params.Clean = clean
		res := e.build(r)
		if res.Context == first.Context || res.Context == "" || res.SentContext != "" {
			t.Errorf("clean=%v: built in %q (sent %q), want a new context", clean, res.Context, res.SentContext)
		}
		if last := srv.last(); last.fields[protocol.FieldBuildCtx] != "" {
			t.Errorf("clean=%v: retry sent build_ctx %q", clean, last.fields[protocol.FieldBuildCtx])
		}
		msg := "Build context " + first.Context + " (from " + filepath.Join(e.buildDir(), "gen", protocol.BuildCtxFile) + ") was refused by the server (403: build_ctx"
		if n := strings.Count(e.log.String(), msg); n != 1 {
			t.Errorf("clean=%v: %d messages %q in log:\n%s", clean, n, msg, e.log)
		}
		if !strings.Contains(e.log.String(), "building in a new context") {
			t.Errorf("clean=%v: log:\n%s", clean, e.log)
		}
		if got := mustRead(t, filepath.Join(e.buildDir(), "gen", protocol.BuildCtxFile)); got != res.Context {
			t.Errorf("build_ctx.txt %q, want %q", got, res.Context)
		}
	}

	srv, ts := newStockServer(t)
	srv.asIs = true
	srv.refuse = map[string]bool{"ci_main": true}
	e := newEnv(t)
	r := e.req(ts.URL)
	r.BuildContext = "ci_main"
	_, err := Build(context.Background(), r)
	var se *ServerError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Errorf("--build-context of another account: %v", err)
	}
	if srv.count() != 1 {
		t.Errorf("%d build requests for a named context refused", srv.count())
	}
}

// The server's notice is printed.
func TestServerNotice(t *testing.T) {
	srv, ts := newStockServer(t)
	srv.notice = `build_ctx "x" was made before accounts were turned on: user "alice" adopted it, and it started afresh`
	e := newEnv(t)
	e.build(e.req(ts.URL))
	if !strings.Contains(e.log.String(), "Note from the build server: "+srv.notice+"\n") {
		t.Errorf("log:\n%s", e.log)
	}
}

// An unknown mos.yml key is a warning of the client too.
func TestUnknownKeyWarned(t *testing.T) {
	_, ts := newStockServer(t)
	e := newEnv(t)
	appendTo := filepath.Join(e.app, "mos.yml")
	data := mustRead(t, appendTo)
	if err := os.WriteFile(appendTo, []byte(data+"lib:\n  - location: https://github.com/mongoose-os-libs/rpc-common\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.build(e.req(ts.URL))
	if !strings.Contains(e.log.String(), "Warning: "+appendTo+`: unknown key "lib" (did you mean "libs"?)`) {
		t.Errorf("log:\n%s", e.log)
	}
}
