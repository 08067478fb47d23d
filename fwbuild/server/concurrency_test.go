package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/queue"
)

type waitEvent struct {
	key  string
	kind queue.WaitKind
}

// blockingServer has a runner whose builds wait for tokens on fr.release,
// reports each start on fr.started and each queue wait on the channel.
func blockingServer(t *testing.T, maxBuilds int) (*Server, *fakeRunner, chan waitEvent) {
	t.Helper()
	cfg := testConfig(t)
	cfg.MaxConcurrentBuilds = maxBuilds
	fr := newFakeRunner()
	fr.block = true
	fr.started = make(chan builder.Request, 16)
	waits := make(chan waitEvent, 16)
	s := newServer(t, cfg, WithRunner(fr), WithQueueOptions(queue.Options{
		OnWait: func(key string, kind queue.WaitKind) { waits <- waitEvent{key, kind} },
	}))
	return s, fr, waits
}

// post runs a request in the background; the recorder arrives when done.
func post(t *testing.T, s *Server, req *http.Request) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		done <- rec
	}()
	return done
}

func TestSameContextBuildsOneAfterTheOther(t *testing.T) {
	s, fr, waits := blockingServer(t, 4)
	named := field{protocol.FieldBuildCtx, "ci_main"}
	first := post(t, s, stockRequest(t, stockZip(t, helloApp(nil)), named))
	<-fr.started
	second := post(t, s, stockRequest(t, stockZip(t, helloApp(map[string]string{"src/new.c": "new"})), named))

	// The second request reaches the queue and waits for the context, or
	// (if serialisation were broken) starts a build.
	select {
	case ev := <-waits:
		if ev.kind != queue.WaitContext {
			t.Fatalf("second request waits for %v", ev.kind)
		}
	case req := <-fr.started:
		t.Fatalf("second build of the context started while the first runs (%s)", req.Dir)
	}
	select {
	case <-fr.started:
		t.Fatal("second build started while the first runs")
	case <-second:
		t.Fatal("second request answered while the first runs")
	default:
	}

	fr.release <- struct{}{}
	if rec := <-first; rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}
	<-fr.started
	fr.release <- struct{}{}
	if rec := <-second; rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("second: %d %s", rec.Code, rec.Body)
	}
	calls := fr.snapshot()
	if len(calls) != 2 || fr.overlap || !calls[1].sawObjects {
		t.Errorf("calls %+v, overlap %v", calls, fr.overlap)
	}
}

func TestDifferentContextsBuildInParallel(t *testing.T) {
	s, fr, waits := blockingServer(t, 4)
	var answers []<-chan *httptest.ResponseRecorder
	for i := range 4 {
		answers = append(answers, post(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, fmt.Sprintf("ctx%d", i)})))
	}
	for range 4 {
		<-fr.started // all four run before any is released
	}
	fr.mu.Lock()
	running := fr.running
	fr.mu.Unlock()
	if running != 4 {
		t.Errorf("%d builds running, want 4", running)
	}
	for range 4 {
		fr.release <- struct{}{}
	}
	for i, a := range answers {
		if rec := <-a; rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != fmt.Sprintf("ctx%d", i) {
			t.Errorf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	select {
	case ev := <-waits:
		t.Errorf("unexpected queue wait %+v", ev)
	default:
	}
}

func TestMaxConcurrentBuildsMakesTheThirdWait(t *testing.T) {
	s, fr, waits := blockingServer(t, 2)
	var answers []<-chan *httptest.ResponseRecorder
	for i := range 3 {
		answers = append(answers, post(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, fmt.Sprintf("ctx%d", i)})))
	}
	started, slotWaits := 0, 0
	for started < 2 || slotWaits < 1 {
		select {
		case <-fr.started:
			started++
			if started > 2 {
				t.Fatal("a third build started with --max-concurrent-builds 2")
			}
		case ev := <-waits:
			if ev.kind != queue.WaitSlot {
				t.Fatalf("unexpected wait %+v", ev)
			}
			slotWaits++
		}
	}
	select {
	case <-fr.started:
		t.Fatal("third build started while two run")
	default:
	}
	fr.release <- struct{}{}
	<-fr.started // the waiting one takes the freed slot
	fr.release <- struct{}{}
	fr.release <- struct{}{}
	for i, a := range answers {
		if rec := <-a; rec.Code != http.StatusOK {
			t.Errorf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.maxRunning != 2 {
		t.Errorf("at most %d builds ran at once, want 2", fr.maxRunning)
	}
}

func TestTwoServersSharingVolumesSerialiseAContext(t *testing.T) {
	cfg := testConfig(t)
	a := newFakeRunner()
	a.block = true
	a.started = make(chan builder.Request, 1)
	srvA := newServer(t, cfg, WithRunner(a))

	b := newFakeRunner()
	b.started = make(chan builder.Request, 1)
	lockWaits := make(chan string, 1)
	srvB := newServer(t, cfg, WithRunner(b), WithStoreOptions(buildctx.Options{
		OnLockWait: func(_ buildctx.Key, name string) { lockWaits <- name },
		LockPoll:   time.Millisecond,
	}))

	named := field{protocol.FieldBuildCtx, "ci_main"}
	first := post(t, srvA, stockRequest(t, stockZip(t, helloApp(nil)), named))
	<-a.started
	second := post(t, srvB, stockRequest(t, stockZip(t, helloApp(nil)), named))
	select {
	case name := <-lockWaits:
		if name != "ci_main" {
			t.Fatalf("server B waited for %q", name)
		}
	case <-b.started:
		t.Fatal("server B built a context server A is building")
	}
	a.release <- struct{}{}
	if rec := <-first; rec.Code != http.StatusOK {
		t.Fatalf("server A: %d %s", rec.Code, rec.Body)
	}
	<-b.started
	if rec := <-second; rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "ci_main" {
		t.Fatalf("server B: %d %s", rec.Code, rec.Body)
	}
	if calls := b.snapshot(); len(calls) != 1 || !calls[0].sawObjects {
		t.Errorf("server B did not build on server A's result: %+v", calls)
	}
}
