package libs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
)

// releaseServer fakes release hosting. Files maps a request path (escaped
// form) to a body; JSON maps one to a value sent as JSON; Status maps one to
// an error status. Unknown paths are 404. It records each request as
// "<path> <auth header> <private-token header>".
type releaseServer struct {
	*httptest.Server
	Files  map[string]string
	JSON   map[string]any
	Status map[string]int

	mu   sync.Mutex
	reqs []string
}

func newReleaseServer(t *testing.T, tls bool) *releaseServer {
	t.Helper()
	s := &releaseServer{Files: map[string]string{}, JSON: map[string]any{}, Status: map[string]int{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		s.mu.Lock()
		s.reqs = append(s.reqs, p+" "+r.Header.Get("Authorization")+" "+r.Header.Get("PRIVATE-TOKEN"))
		s.mu.Unlock()
		if code, ok := s.Status[p]; ok {
			http.Error(w, "nope", code)
			return
		}
		if v, ok := s.JSON[p]; ok {
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		if b, ok := s.Files[p]; ok {
			_, _ = w.Write([]byte(b))
			return
		}
		http.NotFound(w, r)
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// take returns and forgets the requests seen so far.
func (s *releaseServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

func sameList(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestPrebuiltGitHub(t *testing.T) {
	app := t.TempDir()
	objs := filepath.Join(app, "build", "objs")
	srv := newReleaseServer(t, false)
	var log syncBuffer
	newP := func(creds map[string]protocol.Credentials, interval time.Duration) *Provider {
		p, err := New(Options{
			AppDir:          app,
			UpdateInterval:  interval,
			Credentials:     creds,
			Log:             &log,
			GitHubURL:       srv.URL,
			GitHubAPIURL:    srv.URL + "/api",
			HTTPClient:      srv.Client(),
			AssetRetryDelay: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	anon := newP(nil, time.Hour)
	withToken := newP(map[string]protocol.Credentials{"github.com": {User: "mos", Pass: "tok"}}, time.Hour)
	ref := &manifest.Dep{Name: "sensors", Location: "https://github.com/o/sensors"}
	ctx := context.Background()

	t.Run("public_download_then_cached", func(t *testing.T) {
		srv.Files["/o/sensors/releases/download/1.0/libsensors-esp32.a"] = "ESP32 BIN"
		got, err := anon.PrebuiltLib(ctx, ref, "esp32", "1.0")
		want := filepath.Join(objs, "libsensors-esp32-1.0.a")
		if err != nil || got != want {
			t.Fatalf("got %q, %v; want %s", got, err, want)
		}
		if s := readFile(t, want); s != "ESP32 BIN" {
			t.Errorf("content %q", s)
		}
		if r := srv.take(); !sameList(r, []string{"/o/sensors/releases/download/1.0/libsensors-esp32.a  "}) {
			t.Errorf("requests %q", r)
		}
		got, err = anon.PrebuiltLib(ctx, ref, "esp32", "1.0")
		if err != nil || got != want {
			t.Fatalf("cached: %q, %v", got, err)
		}
		if r := srv.take(); len(r) != 0 {
			t.Errorf("cached binary fetched again: %q", r)
		}
	})

	t.Run("api_with_token", func(t *testing.T) {
		srv.JSON["/api/repos/o/sensors/releases/tags/1.0"] = map[string]any{
			"assets": []map[string]string{
				{"name": "libsensors-esp8266.a", "url": srv.URL + "/api/assets/7"},
				{"name": "libsensors-cc3200.a", "url": srv.URL + "/api/assets/8"},
			},
		}
		srv.Files["/api/assets/7"] = "ESP8266 BIN"
		got, err := withToken.PrebuiltLib(ctx, ref, "esp8266", "1.0")
		if err != nil || got != filepath.Join(objs, "libsensors-esp8266-1.0.a") {
			t.Fatalf("got %q, %v", got, err)
		}
		if s := readFile(t, got); s != "ESP8266 BIN" {
			t.Errorf("content %q", s)
		}
		want := []string{
			"/o/sensors/releases/download/1.0/libsensors-esp8266.a token tok ",
			"/api/repos/o/sensors/releases/tags/1.0 token tok ",
			"/api/assets/7 token tok ",
		}
		if r := srv.take(); !sameList(r, want) {
			t.Errorf("requests\n%s\nwant\n%s", strings.Join(r, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("asset_not_in_release_leaves_tombstone", func(t *testing.T) {
		got, err := anon.PrebuiltLib(ctx, ref, "esp32-MYBOARD", "1.0")
		if err != nil || got != "" {
			t.Fatalf("got %q, %v", got, err)
		}
		fi, err := os.Stat(filepath.Join(objs, "libsensors-esp32-MYBOARD-1.0.a"))
		if err != nil || fi.Size() != 0 {
			t.Fatalf("no tombstone: %v", err)
		}
		srv.take()
		got, err = anon.PrebuiltLib(ctx, ref, "esp32-MYBOARD", "1.0")
		if err != nil || got != "" {
			t.Fatalf("tombstoned: %q, %v", got, err)
		}
		if r := srv.take(); len(r) != 0 {
			t.Errorf("tombstoned variant fetched: %q", r)
		}
	})

	t.Run("no_release_without_token_is_not_recorded", func(t *testing.T) {
		got, err := anon.PrebuiltLib(ctx, ref, "esp32", "9.9")
		if err != nil || got != "" {
			t.Fatalf("got %q, %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(objs, "libsensors-esp32-9.9.a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("tombstone written for an anonymous 404: %v", err)
		}
		if !strings.Contains(log.String(), "a private repo needs --credentials") {
			t.Errorf("log:\n%s", log.String())
		}
		if r := srv.take(); len(r) != 2 {
			t.Errorf("requests %q", r)
		}
	})

	t.Run("no_release_with_token_is_recorded", func(t *testing.T) {
		got, err := withToken.PrebuiltLib(ctx, ref, "esp32", "9.9")
		if err != nil || got != "" {
			t.Fatalf("got %q, %v", got, err)
		}
		if fi, err := os.Stat(filepath.Join(objs, "libsensors-esp32-9.9.a")); err != nil || fi.Size() != 0 {
			t.Errorf("no tombstone: %v", err)
		}
		srv.take()
	})

	t.Run("latest_is_refetched_when_stale", func(t *testing.T) {
		srv.Files["/o/sensors/releases/download/latest/libsensors-esp32.a"] = "v1"
		file := filepath.Join(objs, "libsensors-esp32-latest.a")
		if got, err := anon.PrebuiltLib(ctx, ref, "esp32", "latest"); err != nil || got != file {
			t.Fatalf("got %q, %v", got, err)
		}
		srv.Files["/o/sensors/releases/download/latest/libsensors-esp32.a"] = "v2"
		age(t, file, 59*time.Minute)
		if _, err := anon.PrebuiltLib(ctx, ref, "esp32", "latest"); err != nil || readFile(t, file) != "v1" {
			t.Errorf("fresh latest refetched: %v %q", err, readFile(t, file))
		}
		age(t, file, 61*time.Minute)
		if _, err := newP(nil, 0).PrebuiltLib(ctx, ref, "esp32", "latest"); err != nil || readFile(t, file) != "v1" {
			t.Errorf("refetched with interval 0: %v %q", err, readFile(t, file))
		}
		if _, err := anon.PrebuiltLib(ctx, ref, "esp32", "latest"); err != nil || readFile(t, file) != "v2" {
			t.Errorf("stale latest not refetched: %v %q", err, readFile(t, file))
		}
		// A fixed version never expires.
		age(t, filepath.Join(objs, "libsensors-esp32-1.0.a"), 1000*time.Hour)
		srv.take()
		if _, err := anon.PrebuiltLib(ctx, ref, "esp32", "1.0"); err != nil {
			t.Fatal(err)
		}
		if r := srv.take(); len(r) != 0 {
			t.Errorf("fixed version refetched: %q", r)
		}
	})

	t.Run("server_error_is_retried_then_returned", func(t *testing.T) {
		srv.Status["/o/sensors/releases/download/2.0/libsensors-esp32.a"] = 500
		srv.Status["/api/repos/o/sensors/releases/tags/2.0"] = 502
		got, err := anon.PrebuiltLib(ctx, ref, "esp32", "2.0")
		want := `prebuilt binary of lib "sensors" (esp32, 2.0): GET ` + srv.URL + `/api/repos/o/sensors/releases/tags/2.0: HTTP status 502`
		if got != "" || err == nil || err.Error() != want {
			t.Fatalf("got %q, %v\nwant %s", got, err, want)
		}
		var se *HTTPStatusError
		if !errors.As(err, &se) || se.Code != 502 {
			t.Errorf("not an HTTPStatusError: %v", err)
		}
		if r := srv.take(); len(r) != 6 {
			t.Errorf("%d requests, want 3 attempts of 2: %q", len(r), r)
		}
		if _, err := os.Stat(filepath.Join(objs, "libsensors-esp32-2.0.a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failure recorded as absence: %v", err)
		}
	})

	t.Run("asset_named_after_location_file_after_lib", func(t *testing.T) {
		srv.Files["/o/boards/releases/download/1.0/libboards-esp32.a"] = "BOARDS"
		got, err := anon.PrebuiltLib(ctx, &manifest.Dep{Name: "zz_boards", Location: "https://github.com/o/boards"}, "esp32", "1.0")
		if err != nil || got != filepath.Join(objs, "libzz_boards-esp32-1.0.a") || readFile(t, got) != "BOARDS" {
			t.Errorf("got %q, %v", got, err)
		}
		srv.take()
	})

	t.Run("unusable_locations", func(t *testing.T) {
		for _, c := range []struct{ loc, want string }{
			{"libs/local", `prebuilt binary of lib "local" (esp32, 1.0): libs/local is not a git location, it has no releases`},
			{"https://git.example.com/o/x.git", `prebuilt binary of lib "x" (esp32, 1.0): asset_api is not set and cannot be guessed from https://git.example.com/o/x.git`},
		} {
			got, err := anon.PrebuiltLib(ctx, &manifest.Dep{Location: c.loc}, "esp32", "1.0")
			if got != "" || err == nil || err.Error() != c.want {
				t.Errorf("%s: %q, %v\nwant %s", c.loc, got, err, c.want)
			}
		}
		if r := srv.take(); len(r) != 0 {
			t.Errorf("requests %q", r)
		}
	})

	// Nothing but finished binaries and tombstones is left in the dir.
	ents, err := os.ReadDir(objs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := []string{"libsensors-esp32-1.0.a", "libsensors-esp32-9.9.a", "libsensors-esp32-MYBOARD-1.0.a",
		"libsensors-esp32-latest.a", "libsensors-esp8266-1.0.a", "libzz_boards-esp32-1.0.a"}
	if !sameList(names, want) {
		t.Errorf("binary libs dir holds %q, want %q", names, want)
	}
}

func TestPrebuiltGitLab(t *testing.T) {
	app := t.TempDir()
	objs := filepath.Join(app, "build", "objs")
	srv := newReleaseServer(t, true)
	host := strings.TrimPrefix(srv.URL, "https://")
	p, err := New(Options{
		AppDir:      app,
		Credentials: map[string]protocol.Credentials{host: {User: "mos", Pass: "gltok"}},
		HTTPClient:  srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	loc := srv.URL + "/grp/sub/mylib"
	ref := &manifest.Dep{Location: loc, AssetAPI: "gitlab"}
	srv.JSON["/api/v4/projects/grp%2Fsub%2Fmylib/releases/1.0"] = map[string]any{
		"description": "Binaries: [libmylib-esp8266.a](/uploads/abc/libmylib-esp8266.a) and [other](/x)",
		"assets": map[string]any{"links": []map[string]string{
			{"name": "libmylib-esp32.a", "url": srv.URL + "/dl/esp32"},
		}},
	}
	srv.Files["/dl/esp32"] = "GL ESP32"
	srv.Files["/grp/sub/mylib/uploads/abc/libmylib-esp8266.a"] = "GL ESP8266"
	ctx := context.Background()

	for _, c := range []struct{ variant, content, fetched string }{
		{"esp32", "GL ESP32", "/dl/esp32"},
		{"esp8266", "GL ESP8266", "/grp/sub/mylib/uploads/abc/libmylib-esp8266.a"},
	} {
		got, err := p.PrebuiltLib(ctx, ref, c.variant, "1.0")
		if err != nil || got != filepath.Join(objs, "libmylib-"+c.variant+"-1.0.a") || readFile(t, got) != c.content {
			t.Errorf("%s: %q, %v", c.variant, got, err)
		}
		want := []string{
			"/api/v4/projects/grp%2Fsub%2Fmylib/releases/1.0  gltok",
			c.fetched + "  gltok",
		}
		if r := srv.take(); !sameList(r, want) {
			t.Errorf("%s: requests\n%s\nwant\n%s", c.variant, strings.Join(r, "\n"), strings.Join(want, "\n"))
		}
	}

	got, err := p.PrebuiltLib(ctx, ref, "cc3200", "1.0")
	if err != nil || got != "" {
		t.Fatalf("missing variant: %q, %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(objs, "libmylib-cc3200-1.0.a")); err != nil || fi.Size() != 0 {
		t.Errorf("no tombstone: %v", err)
	}

	// The location decides the API when asset_api is not set.
	var asked []string
	p2, err := New(Options{AppDir: t.TempDir(), HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		asked = append(asked, r.URL.String())
		return nil, errors.New("offline")
	})}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p2.PrebuiltLib(ctx, &manifest.Dep{Location: "https://gitlab.example.com/g/lib"}, "esp32", "1.0")
	if err == nil || !sameList(asked, []string{"https://gitlab.example.com/api/v4/projects/g%2Flib/releases/1.0"}) {
		t.Errorf("err = %v, requests %q, want one GitLab API request", err, asked)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPrebuiltGitHubEnterprise(t *testing.T) {
	app := t.TempDir()
	srv := newReleaseServer(t, true)
	host := strings.TrimPrefix(srv.URL, "https://")
	p, err := New(Options{
		AppDir:          app,
		Credentials:     map[string]protocol.Credentials{"": {Pass: "ghe"}},
		HTTPClient:      srv.Client(),
		AssetRetryDelay: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.JSON["/api/v3/repos/o/lib/releases/tags/1.0"] = map[string]any{
		"assets": []map[string]string{{"name": "liblib-esp32.a", "url": srv.URL + "/api/v3/assets/1"}},
	}
	srv.Files["/api/v3/assets/1"] = "GHE"
	got, err := p.PrebuiltLib(context.Background(), &manifest.Dep{Location: "https://" + host + "/o/lib", AssetAPI: "github"}, "esp32", "1.0")
	if err != nil || got != filepath.Join(app, "build", "objs", "liblib-esp32-1.0.a") || readFile(t, got) != "GHE" {
		t.Fatalf("got %q, %v", got, err)
	}
	want := []string{"/api/v3/repos/o/lib/releases/tags/1.0 token ghe ", "/api/v3/assets/1 token ghe "}
	if r := srv.take(); !sameList(r, want) {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(r, "\n"), strings.Join(want, "\n"))
	}
}
