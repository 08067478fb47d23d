package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// silentListener accepts connections, reads what comes and never answers.
func silentListener(t *testing.T) (url string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				io.Copy(io.Discard, c) // until the client gives up
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String(), accepted
}

// A server that accepts and never answers the plan: the client tries
// twice, each within the plan timeout, and says what it waited for.
func TestPlanNeverAnswered(t *testing.T) {
	url, accepted := silentListener(t)
	e := newEnv(t)
	testenv.WriteTree(t, e.buildDir(), testenv.Tree{"fw.zip": {Content: "old"}})
	r := e.req(url)
	r.PlanTimeout = 50 * time.Millisecond
	_, err := Build(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "no answer to the upload plan within 50ms (tried 2 times)") {
		t.Fatalf("err = %v", err)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (one retry)", n)
	}
	if !strings.Contains(e.log.String(), "trying once more") {
		t.Errorf("log:\n%s", e.log)
	}
	testenv.CheckTree(t, e.buildDir(), testenv.Tree{"fw.zip": {Content: "old"}})
}

// A stock-like server that takes the build request and never answers it,
// or stops in the middle of the result: the build timeout ends the wait
// with a clear error, build/ as it was.
func TestBuildNeverAnswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		half bool // send headers and a few bytes first
		want string
	}{
		{"no answer", false, "no answer to the build request within 100ms (--build-timeout)"},
		{"result stalls", true, "no data of the build result (--build-timeout) for 100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if path.Base(r.URL.Path) != "build" {
					http.Error(w, "wrong action", http.StatusBadRequest)
					return
				}
				if tc.half {
					w.Header().Set("Content-Length", "100000")
					w.Write([]byte("PK\x03\x04"))
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done() // until the client gives up
			}))
			t.Cleanup(ts.Close)
			e := newEnv(t)
			testenv.WriteTree(t, e.buildDir(), testenv.Tree{"fw.zip": {Content: "old"}})
			r := e.req(ts.URL)
			r.BuildTimeout = 100 * time.Millisecond
			_, err := Build(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			testenv.CheckTree(t, e.buildDir(), testenv.Tree{"fw.zip": {Content: "old"}})
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestConnectError(t *testing.T) {
	b := &build{req: &Request{ConnectTimeout: 3 * time.Second}}
	srv := serverURL{base: "http://buildsrv:8000"}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}
	err := b.connectError(srv, errors.Join(errors.New("build server http://buildsrv:8000: Post ..."), dial))
	if err == nil || !strings.HasPrefix(err.Error(), "build server http://buildsrv:8000: could not connect within 3s (--connect-timeout): dial tcp") {
		t.Errorf("err = %v", err)
	}
	if b.connectError(srv, &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}) != nil {
		t.Error("a read timeout taken for a connect one")
	}
	// The client's dial is bounded even when the caller gave a client.
	c := newClient(&Request{HTTPClient: &http.Client{}}, 3*time.Second)
	if tr, ok := c.Transport.(*http.Transport); !ok || tr.DialContext == nil || tr.TLSHandshakeTimeout != 3*time.Second {
		t.Errorf("transport %#v", c.Transport)
	}
}
