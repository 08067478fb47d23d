package libs

import (
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// gitHTTPServer serves the repos under root with `git http-backend`,
// demanding basic auth user:pass. It counts requests without or with wrong
// credentials.
type gitHTTPServer struct {
	*httptest.Server
	mu       sync.Mutex
	rejected int
	accepted int
}

func newGitHTTPServer(t *testing.T, root, user, pass string) *gitHTTPServer {
	t.Helper()
	gitBin := testenv.RequireTool(t, "git")
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
	}
	s := &gitHTTPServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		s.mu.Lock()
		if !ok || u != user || p != pass {
			s.rejected++
			s.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		s.accepted++
		s.mu.Unlock()
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCredentials(t *testing.T) {
	f := newFixture(t)
	f.origin("private", testenv.Tree{"mos.yml": {Content: "secret lib\n"}})
	head := f.head(f.originDir("private"))
	srv := newGitHTTPServer(t, filepath.Join(f.root, "origin"), "bob", "s3cret")
	url := srv.URL + "/private"
	host := strings.TrimPrefix(srv.URL, "http://")

	cases := []struct {
		name  string
		creds map[string]protocol.Credentials
		ok    bool
	}{
		{"none", nil, false},
		{"for_the_host", map[string]protocol.Credentials{host: {User: "bob", Pass: "s3cret"}}, true},
		{"any_host", map[string]protocol.Credentials{"": {User: "bob", Pass: "s3cret"}}, true},
		{"exact_host_beats_any_host", map[string]protocol.Credentials{
			"":   {User: "bob", Pass: "wrong"},
			host: {User: "bob", Pass: "s3cret"},
		}, true},
		{"other_host_only", map[string]protocol.Credentials{"example.com": {User: "bob", Pass: "s3cret"}}, false},
		{"wrong_password", map[string]protocol.Credentials{host: {User: "bob", Pass: "wrong"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deps := filepath.Join(f.root, "deps-"+c.name)
			p := f.provider(func(o *Options) {
				o.DepsDir = deps
				o.Credentials = c.creds
			})
			got, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
			if !c.ok {
				want := `fetching lib "private" (` + url + ` @ latest): git clone: exit status 128: fatal: `
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("err = %v\nwant %s...", err, want)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.RepoVersion != head || readFile(t, filepath.Join(got.Dir, "mos.yml")) != "secret lib\n" {
				t.Errorf("got %+v", got)
			}
			// Nothing secret is stored in the clone.
			cfg := readFile(t, filepath.Join(got.Dir, ".git", "config"))
			if strings.Contains(cfg, "Authorization") || strings.Contains(cfg, "s3cret") {
				t.Errorf("clone config keeps the credentials:\n%s", cfg)
			}
		})
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.rejected == 0 || srv.accepted == 0 {
		t.Errorf("server saw %d rejected and %d accepted requests", srv.rejected, srv.accepted)
	}
}

func TestCredentialsConfig(t *testing.T) {
	creds := &protocol.Credentials{Pass: "tok"}
	// "mos:tok"
	const header = "Authorization: Basic bW9zOnRvaw=="
	cases := []struct {
		url  string
		want [][2]string
	}{
		{"https://github.com/o/r", [][2]string{{"http.https://github.com/.extraHeader", header}}},
		{"http://127.0.0.1:8080/r", [][2]string{{"http.http://127.0.0.1:8080/.extraHeader", header}}},
		{"https://user@gitlab.example.com/g/r.git", [][2]string{{"http.https://gitlab.example.com/.extraHeader", header}}},
		{"git@github.com:o/r.git", nil},
		{"ssh://git@github.com/o/r", nil},
		{"file:///x/r", nil},
	}
	for _, c := range cases {
		got := credentialsConfig(c.url, creds)
		if len(got) != len(c.want) || (len(got) == 1 && got[0] != c.want[0]) {
			t.Errorf("%s: %q, want %q", c.url, got, c.want)
		}
	}
	if got := credentialsConfig("https://github.com/o/r", nil); got != nil {
		t.Errorf("no creds: %q", got)
	}
}

func TestWithGitConfig(t *testing.T) {
	env := []string{"A=1", "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=x.y", "GIT_CONFIG_VALUE_0=1", "GIT_CONFIG_KEY_1=x.z", "GIT_CONFIG_VALUE_1=2"}
	got := withGitConfig(env, [2]string{"http.extraHeader", "H: v"}, [2]string{"url./m.insteadOf", "file:///r"})
	want := []string{"A=1", "GIT_CONFIG_KEY_0=x.y", "GIT_CONFIG_VALUE_0=1", "GIT_CONFIG_KEY_1=x.z", "GIT_CONFIG_VALUE_1=2",
		"GIT_CONFIG_KEY_2=http.extraHeader", "GIT_CONFIG_VALUE_2=H: v",
		"GIT_CONFIG_KEY_3=url./m.insteadOf", "GIT_CONFIG_VALUE_3=file:///r",
		"GIT_CONFIG_COUNT=4"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := withGitConfig(env); strings.Join(got, "\n") != strings.Join(env, "\n") {
		t.Errorf("no entries changed env: %q", got)
	}
}

func TestGitNotOnPath(t *testing.T) {
	g := gitRunner{bin: "mos-test-no-such-git"}
	_, err := g.run(context.Background(), "", "clone", "x", "y")
	var ge *GitError
	if !errors.As(err, &ge) || !errors.Is(err, exec.ErrNotFound) || !strings.HasSuffix(err.Error(), "(fetching libs needs git on PATH)") {
		t.Errorf("err = %v", err)
	}
}

func TestHashesEqual(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		a, b string
		want bool
	}{
		{h, h, true},
		{h, h[:6], true},
		{h[:7], h, true},
		{h, h[:5], false},
		{h, "master", false},
		{h, "0123457", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got := hashesEqual(c.a, c.b); got != c.want {
			t.Errorf("hashesEqual(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestCacheRespectsCredentials is issue 20 row 8: a mirror that one
// request's credentials filled serves another request only when that
// request's own credentials were accepted by the remote for that URL.
func TestCacheRespectsCredentials(t *testing.T) {
	f := newFixture(t)
	f.origin("private", testenv.Tree{"mos.yml": {Content: "alice_private_string\n"}})
	head := f.head(f.originDir("private"))
	srv := newGitHTTPServer(t, filepath.Join(f.root, "origin"), "alice", "s3cret")
	url := srv.URL + "/private"
	host := strings.TrimPrefix(srv.URL, "http://")
	cache := filepath.Join(f.root, "libcache")
	inContext := func(ctx string, creds map[string]protocol.Credentials) (*Provider, string) {
		deps := filepath.Join(f.root, ctx, "deps")
		return f.provider(func(o *Options) {
			o.DepsDir = deps
			o.CacheDir = cache
			o.Credentials = creds
		}), filepath.Join(deps, "private")
	}
	good := map[string]protocol.Credentials{host: {User: "alice", Pass: "s3cret"}}

	p, dir := inContext("alice", good)
	got, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	if got.RepoVersion != head || got.Dir != dir {
		t.Fatalf("alice: %+v", got)
	}

	for _, c := range []struct {
		name  string
		creds map[string]protocol.Credentials
	}{
		{"mallory_none", nil},
		{"mallory_wrong_password", map[string]protocol.Credentials{host: {User: "alice", Pass: "guess"}}},
		{"mallory_other_host", map[string]protocol.Credentials{"example.com": {User: "alice", Pass: "s3cret"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, dir := inContext(c.name, c.creds)
			got, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
			want := `fetching lib "private" (` + url + ` @ latest): lib cache: ` + url + ` refused `
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("served from the cache: %+v, err = %v\nwant %s...", got, err, want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "guess") {
				t.Errorf("error shows a password: %v", err)
			}
			// Nothing of the mirror reached the context.
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %v, want it absent", dir, err)
			}
		})
	}

	// The same credentials from another context: checked, then served.
	p, dir = inContext("bob", good)
	got, err = p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
	if err != nil || got.RepoVersion != head || readFile(t, filepath.Join(dir, "mos.yml")) != "alice_private_string\n" {
		t.Fatalf("same credentials: %+v, %v", got, err)
	}
	// A record within the interval is not asked again; an older one is.
	accepted := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.accepted
	}
	before := accepted()
	p, _ = inContext("carol", good)
	if _, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", ""); err != nil {
		t.Fatal(err)
	}
	if n := accepted() - before; n != 0 {
		t.Errorf("a fresh check asked the remote again (%d requests)", n)
	}
	recs, _ := filepath.Glob(filepath.Join(cache, "*.git", "mos-access", "*"))
	if len(recs) != 1 {
		t.Fatalf("access records: %q, want one", recs)
	}
	age(t, recs[0], 2*time.Hour)
	p, _ = inContext("dave", good)
	if _, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", ""); err != nil {
		t.Fatal(err)
	}
	if accepted() == before {
		t.Errorf("a check older than the interval was trusted")
	}
	// A request asking for a long interval does not stretch the trust.
	before = accepted()
	age(t, recs[0], 2*time.Hour)
	p = f.provider(func(o *Options) {
		o.DepsDir = filepath.Join(f.root, "erin", "deps")
		o.CacheDir = cache
		o.Credentials = good
		o.UpdateInterval = 1000 * time.Hour
	})
	if _, err := p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", ""); err != nil {
		t.Fatal(err)
	}
	if accepted() == before {
		t.Errorf("a check 2h old was trusted for a request asking a 1000h interval")
	}

	// No secret is kept in the cache.
	err = filepath.WalkDir(cache, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, rerr := os.ReadFile(path); rerr == nil && (strings.Contains(string(b), "s3cret") || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
