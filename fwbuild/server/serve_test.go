package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/builder"
)

// notifyListener tells when it is closed (Shutdown closes listeners first).
type notifyListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *notifyListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func TestShutdownDrainsRunningBuilds(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	fr.block = true
	fr.started = make(chan builder.Request, 1)
	s := newServer(t, cfg, WithRunner(fr))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nl := &notifyListener{Listener: ln, closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, nl) }()

	type reply struct {
		status int
		body   []byte
		length int64
		err    error
	}
	replies := make(chan reply, 1)
	ct, b := body(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildParams, stockParams(t)}, field{protocol.FieldBuildCtx, "ci_main"})
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+protocol.BuildPath(testVersion), ct, bytes.NewReader(b))
		if err != nil {
			replies <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		replies <- reply{status: resp.StatusCode, body: data, length: resp.ContentLength, err: err}
	}()
	<-fr.started
	cancel() // SIGTERM to the server
	<-nl.closed
	select {
	case err := <-served:
		t.Fatalf("Serve returned while a build was running: %v", err)
	case r := <-replies:
		t.Fatalf("request answered before its build ended: %+v", r)
	default:
	}
	fr.release <- struct{}{}
	r := <-replies
	if r.err != nil || r.status != http.StatusOK || r.length != int64(len(r.body)) || r.length <= 0 {
		t.Fatalf("reply during shutdown: %d, %d bytes (Content-Length %d), %v", r.status, len(r.body), r.length, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
