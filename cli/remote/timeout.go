package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
)

// Default limits of the waits of a remote build. The build's default is
// our server's own default build limit (fwbuild-manager --build-timeout,
// 15 min) plus a margin for the queue and the transfers; while our server
// answers the progress polls, each answer restarts it.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultPlanTimeout    = 30 * time.Second
	DefaultBuildTimeout   = 15*time.Minute + 5*time.Minute
)

func (b *build) connectTimeout() time.Duration {
	return orDefault(b.req.ConnectTimeout, DefaultConnectTimeout)
}

func (b *build) planTimeout() time.Duration {
	return orDefault(b.req.PlanTimeout, DefaultPlanTimeout)
}

func (b *build) buildTimeout() time.Duration {
	return orDefault(b.req.BuildTimeout, DefaultBuildTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newClient is the client of one build: Request.HTTPClient (never
// modified) or a default one, with a dial and TLS handshake bounded by the
// connect timeout.
func newClient(req *Request, connect time.Duration) *http.Client {
	c := &http.Client{}
	if req.HTTPClient != nil {
		*c = *req.HTTPClient
	}
	var t *http.Transport
	switch rt := c.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = rt.Clone()
	default:
		return c // someone else's transport: its own limits
	}
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	t.DialContext = d.DialContext
	t.TLSHandshakeTimeout = connect
	c.Transport = t
	return c
}

// connectError says what a failed connection waited for, or nil when err
// is not one.
func (b *build) connectError(srv serverURL, err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return nil
	}
	if op.Timeout() {
		return fmt.Errorf("build server %s: could not connect within %v (--connect-timeout): %w", srv.base, b.connectTimeout(), op)
	}
	if strings.HasPrefix(err.Error(), "build server ") {
		return err
	}
	return fmt.Errorf("build server %s: %w", srv.base, err)
}

// errNoAnswer is the cause of a request's context that a watchdog ended.
var errNoAnswer = errors.New("no answer")

// watchdog ends a request's context when nothing happened for its limit:
// every byte sent or received, and every progress answer, restarts it.
type watchdog struct {
	limit  time.Duration
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	timer  *time.Timer
	fired  bool
	done   bool // stopped: kicks do nothing
}

func startWatchdog(ctx context.Context, limit time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{limit: limit, cancel: cancel}
	w.timer = time.AfterFunc(limit, func() {
		w.mu.Lock()
		w.fired = true
		w.mu.Unlock()
		cancel(errNoAnswer)
	})
	return ctx, w
}

// kick restarts the wait; nil-safe.
func (w *watchdog) kick() {
	if w == nil {
		return
	}
	w.mu.Lock()
	if !w.fired && !w.done {
		w.timer.Reset(w.limit)
	}
	w.mu.Unlock()
}

// stop ends the watch (and the request's context).
func (w *watchdog) stop() {
	w.mu.Lock()
	w.done = true
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

func (w *watchdog) timedOut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

// kickReader restarts a watchdog at every read that got bytes.
type kickReader struct {
	r io.Reader
	w *watchdog
}

func (k kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.w.kick()
	}
	return n, err
}

// watchedBody is an answer's body under a watchdog: reads restart it, a
// read ended by it says so, Close stops it.
type watchedBody struct {
	rc   io.ReadCloser
	w    *watchdog
	what string // "the build result (--build-timeout)"
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && err != io.EOF && b.w.timedOut() {
		err = fmt.Errorf("no data of %s for %v: %w", b.what, b.w.limit, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.w.stop()
	return err
}

// postPlanRetried sends a plan request, bounded by the plan timeout, and
// once more when the first got no answer in time or lost its connection
// (not when the server answered, nor when it could not be reached).
func (b *build) postPlanRetried(ctx context.Context, srv serverURL, send func(ctx context.Context) error) error {
	limit := b.planTimeout()
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		actx, cancel := context.WithTimeout(ctx, limit)
		err = send(actx)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case timedOut:
			err = fmt.Errorf("build server %s: no answer to the upload plan within %v (tried %d times)", srv.base, limit, attempt)
		case b.connectError(srv, err) != nil:
			return b.connectError(srv, err)
		case !retriable(err):
			return err
		}
		if attempt == 1 {
			b.logf("Warning: %v; trying once more", err)
		}
	}
	return err
}

// planRequestRetried is postPlanRequest under the plan timeout, retried
// once.
func (b *build) planRequestRetried(ctx context.Context, srv serverURL, req protocol.PlanRequest, res *Result) (*protocol.PlanResponse, error) {
	var pr *protocol.PlanResponse
	err := b.postPlanRetried(ctx, srv, func(ctx context.Context) error {
		var err error
		pr, err = b.postPlanRequest(ctx, srv, req, res)
		return err
	})
	return pr, err
}

// retriable: a request failed on the way (connection reset or closed,
// a cut answer), not by an answer of the server.
func retriable(err error) bool {
	var se *ServerError
	if errors.As(err, &se) || errors.Is(err, ErrNoDeltaEndpoint) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// kickReadCloser is rc restarting w at every read that got bytes.
func kickReadCloser(rc io.ReadCloser, w *watchdog) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{kickReader{rc, w}, rc}
}

// alive tells the build request's watchdog that the server shows signs of
// life (a progress answer).
func (b *build) alive() {
	b.buildWatch.kick()
}
