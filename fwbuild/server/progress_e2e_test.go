package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/progress"
	"github.com/mongoose-os/mos/cli/remote"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/builder"
)

// watchedBuffer is a writer whose content a test can wait for.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{}, 1)} }

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// bufferingProxy forwards to target as a buffering proxy does (HAProxy
// with http-buffer-request, nginx's default): the whole request body is
// read before anything goes on, and the whole answer before any of it
// reaches the client. A build's progress must get through it anyway.
func bufferingProxy(t *testing.T, target string) *httptest.Server {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
	}))
	t.Cleanup(p.Close)
	return p
}

// Our client against our server, through a buffering proxy, with a slow
// fake build: the build's step lines reach the client's display while
// the build still runs (it ends only after the test has seen them), in
// plain lines (no terminal), before the answer's lines; the build id of
// the request is the one polled.
func TestClientShowsProgressWhileBuilding(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	fr.block = true
	fr.started = make(chan builder.Request, 4)
	var ids []string
	var idsMu sync.Mutex
	s := newServer(t, cfg, WithRunner(stepRunner{fr, []string{"  CC    $CTX/src/hello.c", "  CC    $CTX/src/util.c"}}))
	h := s.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idsMu.Lock()
		if id := r.Header.Get(protocol.HeaderBuildID); id != "" {
			ids = append(ids, "build "+id)
		}
		if strings.Contains(r.URL.Path, "/"+protocol.ActionProgress+"/") {
			ids = append(ids, "poll "+path.Base(r.URL.Path))
		}
		idsMu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	proxy := bufferingProxy(t, ts.URL)

	app, sdk := testenv.Examples(t)
	out := newWatchedBuffer()
	disp := progress.New(out, false)
	type outcome struct {
		res *remote.Result
		err error
	}
	ended := make(chan outcome, 1)
	go func() {
		res, err := remote.Build(context.Background(), &remote.Request{
			AppDir:   app,
			Params:   hostBuildParams(t, sdk),
			Server:   proxy.URL,
			MosDir:   t.TempDir(),
			Log:      disp,
			Progress: disp,
		})
		disp.Close()
		ended <- outcome{res, err}
	}()

	<-fr.started // the build runs and blocks until released
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), "  CC src/util.c\n") {
		select {
		case <-out.changed:
		case o := <-ended:
			t.Fatalf("build ended (%v) before its progress was shown:\n%s", o.err, out.String())
		case <-deadline:
			t.Fatalf("no progress shown within a minute while the build runs:\n%s", out.String())
		}
	}
	shown := out.String()
	fr.release <- struct{}{}
	o := <-ended
	if o.err != nil {
		t.Fatalf("Build: %v\n%s", o.err, out.String())
	}
	all := out.String()
	for _, want := range []string{"Building on the server...\n", "  CC src/hello.c\n  CC src/util.c\n"} {
		if !strings.Contains(shown, want) {
			t.Errorf("while building, output lacks %q:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "Build finished") || !strings.Contains(all, "Build finished") {
		t.Errorf("output:\n%s", all)
	}
	if strings.Count(all, "CC src/hello.c") != 1 {
		t.Errorf("a step line shown twice:\n%s", all)
	}
	idsMu.Lock()
	defer idsMu.Unlock()
	// The build request, then its polls, all with one id.
	if len(ids) < 2 || !strings.HasPrefix(ids[0], "build ") || !protocol.ValidBuildID(strings.TrimPrefix(ids[0], "build ")) {
		t.Fatalf("requests with a build id: %v", ids)
	}
	id := strings.TrimPrefix(ids[0], "build ")
	for _, x := range ids[1:] {
		if x != "poll "+id {
			t.Errorf("build ids %v: want the build's id in every poll", ids)
			break
		}
	}
}

// hostBuildParams are the params of a host build of examples/hello with
// --repo sdk.
func hostBuildParams(t *testing.T, sdk string) *protocol.BuildParams {
	t.Helper()
	return &protocol.BuildParams{
		ManifestAdjustments:   protocol.ManifestAdjustments{Platform: "host", BuildVars: map[string]string{}, CDefs: map[string]string{}},
		BuildTarget:           "all",
		CustomLibLocations:    map[string]string{},
		CustomModuleLocations: map[string]string{"mongoose-os": sdk},
		LibsUpdateInterval:    time.Hour,
		SaveBuildStat:         true,
	}
}
