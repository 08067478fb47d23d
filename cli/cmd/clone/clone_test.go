package clone

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

func TestRepoURL(t *testing.T) {
	for in, want := range map[string]string{
		"demo-c":                        "https://github.com/mongoose-os-apps/demo-c",
		"mongoose-os-libs/sensors":      "https://github.com/mongoose-os-libs/sensors",
		"https://git.example.com/a.git": "https://git.example.com/a.git",
		"file:///srv/git/app":           "file:///srv/git/app",
		"git@github.com:me/app.git":     "git@github.com:me/app.git",
	} {
		if got, err := RepoURL(in); err != nil || got != want {
			t.Errorf("RepoURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := RepoURL(" "); err == nil {
		t.Error("an empty location must fail")
	}
	for in, want := range map[string]string{
		"https://github.com/mongoose-os-apps/demo-c": "demo-c",
		"https://git.example.com/team/app.git/":      "app",
		"git@github.com:me/app.git":                  "app",
	} {
		if got := repoName(in); got != want {
			t.Errorf("repoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewCmdCloneArgs(t *testing.T) {
	f := cmdutil.New()
	dir := t.TempDir()
	f.WorkDir = func() (string, error) { return dir, nil }
	var got *CloneOptions
	cmd := NewCmdClone(f, func(_ context.Context, o *CloneOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"demo-c", "apps/demo", "--credentials", "tok"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Location != "demo-c" || got.Dir != "apps/demo" || got.Credentials != "tok" || got.WorkDir != dir || got.Version != "2.20.0" {
		t.Errorf("options %+v", got)
	}
	for _, args := range [][]string{{}, {"a", "b", "c"}} {
		cmd := NewCmdClone(f, func(context.Context, *CloneOptions) error { return nil })
		cmd.SetArgs(args)
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		if err := cmd.Execute(); err == nil {
			t.Errorf("%q must be refused", args)
		}
	}
}

func mustCreds(t *testing.T, s string) map[string]protocol.Credentials {
	t.Helper()
	c, err := buildflags.ParseCredentials(s, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newOpts(t *testing.T, loc, workDir string) (*CloneOptions, *strings.Builder) {
	io, _, _, _ := cmdutil.Test()
	var log strings.Builder
	io.ErrOut = &log
	return &CloneOptions{
		IO:       io,
		Environ:  testenv.GitEnv,
		Location: loc,
		WorkDir:  workDir,
		Version:  "2.20.0",
	}, &log
}

func TestCloneChecksOutTheVersion(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "blinky")
	url := testenv.GitRepo(t, repo, testenv.Tree{"mos.yml": {Content: "name: blinky\n"}})
	testenv.Git(t, repo, "tag", "2.20.0")
	testenv.WriteTree(t, repo, testenv.Tree{"mos.yml": {Content: "name: blinky\nversion: next\n"}})
	testenv.Git(t, repo, "commit", "-q", "-am", "after the release")

	work := t.TempDir()
	opts, log := newOpts(t, url, work)
	if err := cloneRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	got, err := os.ReadFile(filepath.Join(work, "blinky", "mos.yml"))
	if err != nil || string(got) != "name: blinky\n" {
		t.Errorf("mos.yml at the tag: %q, %v\n%s", got, err, log)
	}
	if !strings.Contains(log.String(), "Checked out 2.20.0") {
		t.Errorf("log:\n%s", log)
	}
}

func TestCloneWithoutVersionStaysOnDefaultBranch(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "lib.git")
	url := testenv.GitRepo(t, repo, testenv.Tree{"mos.yml": {Content: "type: lib\n"}})
	work := t.TempDir()
	opts, log := newOpts(t, url, work)
	opts.Dir = "libs/mylib"
	if err := cloneRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(work, "libs", "mylib", "mos.yml")); err != nil {
		t.Errorf("clone not in DIR: %v", err)
	}
	if !strings.Contains(log.String(), "no tag or branch 2.20.0") {
		t.Errorf("log:\n%s", log)
	}
	// A second clone into the same dir is refused before git runs.
	opts, _ = newOpts(t, url, work)
	opts.Dir = "libs/mylib"
	if err := cloneRun(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("err = %v", err)
	}
}

func TestCloneFailureSaysWhat(t *testing.T) {
	opts, _ := newOpts(t, testenv.FileURL(filepath.Join(t.TempDir(), "nothing")), t.TempDir())
	err := cloneRun(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "git clone") || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("err = %v", err)
	}
}

// TestCloneSendsCredentials clones over HTTP from git http-backend behind
// basic auth: without --credentials git is refused, with them it clones.
func TestCloneSendsCredentials(t *testing.T) {
	testenv.RequireTool(t, "git")
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("git-http-backend not found (%v)", err)
	}
	root := t.TempDir()
	testenv.GitRepo(t, filepath.Join(root, "app"), testenv.Tree{"mos.yml": {Content: "name: app\n"}})
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	url := srv.URL + "/app/.git"
	env := func() []string { return append(testenv.GitEnv(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=") }

	work := t.TempDir()
	opts, log := newOpts(t, url, work)
	opts.Environ, opts.Dir = env, "without"
	if err := cloneRun(context.Background(), opts); err == nil {
		t.Fatalf("clone without credentials succeeded\n%s", log)
	}
	opts, log = newOpts(t, url, work)
	opts.Environ, opts.Dir = env, "with"
	opts.Credentials = "127.0.0.1:alice:s3cret" // a host entry covers every port
	if err := cloneRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(work, "with", "mos.yml")); err != nil {
		t.Errorf("not cloned: %v\n%s", err, log)
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("the secret reached the output:\n%s", log)
	}
}

func TestWithCredentialsOnlyForThatHost(t *testing.T) {
	env := withCredentials([]string{"A=1", "GIT_CONFIG_COUNT=2"}, "https://git.example.com/x.git",
		mustCreds(t, "git.example.com:me:pw"))
	joined := strings.Join(env, "\n")
	for _, want := range []string{"GIT_CONFIG_KEY_2=http.https://git.example.com/.extraHeader", "GIT_CONFIG_VALUE_2=Authorization: Basic bWU6cHc=", "GIT_CONFIG_COUNT=3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("env lacks %q:\n%s", want, joined)
		}
	}
	if got := withCredentials([]string{"A=1"}, "https://other.example.com/x.git", mustCreds(t, "git.example.com:pw")); len(got) != 1 {
		t.Errorf("another host got credentials: %q", got)
	}
	if got := withCredentials([]string{"A=1"}, "git@git.example.com:x.git", mustCreds(t, "pw")); len(got) != 1 {
		t.Errorf("an ssh URL got credentials: %q", got)
	}
}
