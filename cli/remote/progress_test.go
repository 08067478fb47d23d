package remote

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/cli/progress"
	"github.com/mongoose-os/mos/common/protocol"
)

// A stock server answers the progress poll 400 ("wrong action"): the
// client stops polling at once, says nothing about it, and the build
// goes on as before. The build is held until the server saw a poll, so a
// poll surely happens.
func TestProgressFallsBackOnStockServer(t *testing.T) {
	srv, _ := newStockServer(t)
	polled := make(chan struct{})
	var once sync.Once
	var polls int
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/"+protocol.ActionProgress+"/") {
			mu.Lock()
			polls++
			mu.Unlock()
			srv.ServeHTTP(w, r)
			once.Do(func() { close(polled) })
			return
		}
		if strings.HasSuffix(r.URL.Path, "/build") {
			if r.Header.Get(protocol.HeaderBuildID) == "" {
				t.Error("build request without a build id")
			}
			select {
			case <-polled:
			case <-time.After(time.Minute):
				t.Error("no progress poll within a minute of the build request")
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e := newEnv(t)
	var out bytes.Buffer
	r := e.req(ts.URL)
	r.Progress = progress.New(&out, false)
	r.Log = r.Progress
	res := e.build(r)
	if res.Status != http.StatusOK {
		t.Fatalf("status %d", res.Status)
	}
	mu.Lock()
	n := polls
	mu.Unlock()
	if n != 1 {
		t.Errorf("%d polls of a stock server, want 1 (then none)", n)
	}
	if s := out.String(); strings.Contains(s, "progress") || strings.Contains(s, "400") || !strings.Contains(s, "Build finished") {
		t.Errorf("output:\n%s", s)
	}

	// With --verbose the client says why it shows no progress.
	polled = make(chan struct{})
	once = sync.Once{}
	out.Reset()
	r = e.req(ts.URL)
	r.Verbose = true
	r.Progress = progress.New(&out, false)
	r.Log = r.Progress
	e.build(r)
	if !strings.Contains(out.String(), "No build progress from this server (400)") {
		t.Errorf("verbose output:\n%s", out.String())
	}
}

// A poll answer is shown once: new lines, and states only after the
// upload.
func TestWatcherShow(t *testing.T) {
	var out bytes.Buffer
	b := &build{disp: progress.New(&out, false)}
	w := &watcher{b: b, disp: b.disp}
	w.show(protocol.Progress{State: protocol.StateQueued, Position: 2, Waiting: "build slot"})
	w.uploaded.Store(true)
	w.show(protocol.Progress{State: protocol.StateQueued, Position: 2, Waiting: "build slot"})
	w.show(protocol.Progress{State: protocol.StateQueued, Position: 1, Waiting: "context"})
	w.show(protocol.Progress{State: protocol.StatePreparing})
	w.show(protocol.Progress{State: protocol.StateBuilding, Lines: []string{"CC a.c", "CC b.c"}, Next: 2, Compiled: 2})
	w.show(protocol.Progress{State: protocol.StateBuilding, From: 2, Next: 2, Compiled: 2})
	w.show(protocol.Progress{State: protocol.StateBuilding, From: 5, Skipped: 3, Lines: []string{"LD x.elf"}, Next: 6, Compiled: 2})
	w.show(protocol.Progress{State: protocol.StateSending, Next: 6})
	want := "Queued on the server: position 2, waiting for a build slot...\n" +
		"Queued on the server: position 1, waiting for another build of this context...\n" +
		"Syncing the upload into the build context...\n" +
		"Building on the server...\n  CC a.c\n  CC b.c\n" +
		"  (3 lines not shown)\n  LD x.elf\n" +
		"Packing the result...\n"
	if out.String() != want {
		t.Errorf("shown\n%s\nwant\n%s", out.String(), want)
	}
	if w.next != 6 {
		t.Errorf("next poll from %d, want 6", w.next)
	}
}
