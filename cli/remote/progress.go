package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mongoose-os/mos/cli/progress"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/version"
)

// Live progress (common/protocol/progress.go): every build request
// carries a random build id; while it is in flight a goroutine polls our
// server's progress of that id and shows it on Request.Progress. A server
// without it (stock, or ours before it) answers the poll 404 or 400: the
// poller stops and the build goes on as before, silently. The upload's
// and the result's bytes are counted as they go.

// pollInterval is the time between two polls; maxPollFailures ends the
// polling of a server that keeps failing to answer them (its build may
// still answer).
const (
	pollInterval    = 700 * time.Millisecond
	pollTimeout     = 10 * time.Second
	maxPollFailures = 10
)

// newBuildID is a fresh random build id.
func newBuildID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// No randomness: no progress (a fixed id would be seen by others).
		return ""
	}
	return hex.EncodeToString(b[:])
}

// errNoProgress: the server has no progress endpoint; stop polling.
var errNoProgress = errors.New("no progress endpoint")

// watcher polls the progress of one build request.
type watcher struct {
	b    *build
	srv  serverURL
	id   string
	disp *progress.Display

	uploaded atomic.Bool // the whole body went out
	cancel   context.CancelFunc
	done     chan struct{}

	mu       sync.Mutex // the fields below: the poller, then stop
	next     int
	works    bool   // the server answered a poll
	gone     bool   // no more polls
	lastLine string // the last step line shown
}

// startProgress prepares hr (already made, with its body of size bytes)
// for progress: the build id header, the upload counted as it is read,
// and polling from now until stop is called.
func (b *build) startProgress(ctx context.Context, srv serverURL, hr *http.Request, size int64) *watcher {
	if b.disp == nil || b.buildID == "" {
		return nil
	}
	hr.Header.Set(protocol.HeaderBuildID, b.buildID)
	w := &watcher{b: b, srv: srv, id: b.buildID, disp: b.disp, done: make(chan struct{})}
	count := func(rc io.ReadCloser) io.ReadCloser {
		t := b.disp.Transfer("Uploading", size)
		return readCloser{&eofReader{r: t.Reader(rc), eof: func() {
			t.Done()
			w.uploaded.Store(true)
		}}, rc}
	}
	hr.Body = count(hr.Body)
	if getBody := hr.GetBody; getBody != nil {
		hr.GetBody = func() (io.ReadCloser, error) {
			rc, err := getBody()
			if err != nil {
				return nil, err
			}
			return count(rc), nil
		}
	}
	pctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	go w.loop(pctx)
	return w
}

// stop ends the polling once the answer is in, and shows the step lines
// the server had left (one more poll, from a server that answered them).
func (w *watcher) stop() {
	w.stopAsync()()
}

// stopAsync ends the polling and makes the last poll in the background,
// while the result downloads: over a slow link it costs a round trip,
// which the build's answer need not wait for. The func returned waits
// for it.
func (w *watcher) stopAsync() (wait func()) {
	if w == nil {
		return func() {}
	}
	w.cancel()
	<-w.done
	w.mu.Lock()
	last := w.works && !w.gone
	// With --verbose, a server whose polls were never answered (the
	// build's answer came first, cancelling the poll in flight) is asked
	// once more, so the user learns why no progress was shown.
	unknown := !w.works && !w.gone && w.b.verbose
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if last || unknown {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = w.poll(ctx)
			cancel()
		}
	}()
	return func() {
		<-done
		w.disp.EndLine()
	}
}

// waitProgress waits for the last poll of the build request (see
// stopAsync), if any.
func (b *build) waitProgress() {
	if b.lastPoll != nil {
		b.lastPoll()
		b.lastPoll = nil
	}
}

func (w *watcher) loop(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.poll(ctx)
		switch {
		case err == nil:
			fails = 0
		case errors.Is(err, errNoProgress):
			return
		case ctx.Err() != nil:
			return
		default:
			if fails++; fails >= maxPollFailures {
				if w.b.verbose {
					w.b.logf("Not showing the build's progress any more: %v", err)
				}
				return
			}
		}
	}
}

// poll asks for the progress once and shows it.
func (w *watcher) poll(ctx context.Context) error {
	w.mu.Lock()
	from := w.next
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, w.srv.base+protocol.ProgressPath(version.Presented(), w.id, from), nil)
	if err != nil {
		return w.noProgress(err)
	}
	hr.Header.Set("User-Agent", version.UserAgent())
	// The same server as the build, behind a farm's proxy.
	w.b.setFarmHeaders(hr.Header)
	hr.SetBasicAuth(w.srv.user, w.srv.pass)
	resp, err := w.b.client().Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 400 && resp.StatusCode < 500 || resp.StatusCode == http.StatusNotImplemented:
		// A server without the endpoint (stock answers 404), or one
		// refusing it: the build's own answer tells the rest.
		return w.noProgress(fmt.Errorf("%d", resp.StatusCode))
	default:
		return fmt.Errorf("progress poll: %s", resp.Status)
	}
	var p protocol.Progress
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&p); err != nil || p.State == "" {
		return w.noProgress(fmt.Errorf("not a progress answer: %v", err))
	}
	w.show(p)
	return nil
}

func (w *watcher) noProgress(err error) error {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	if w.b.verbose {
		w.b.logf("No build progress from this server (%v)", err)
	}
	return errNoProgress
}

// show puts a poll's answer on the display: the new step lines, else
// what the build waits for. While the upload is still going its bar
// stays.
func (w *watcher) show(p protocol.Progress) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.works = true
	w.b.alive() // the build request's --build-timeout starts again
	if p.Next >= w.next {
		w.next = p.Next
	}
	if p.Skipped > 0 {
		w.disp.Step("Building", fmt.Sprintf("(%d lines not shown)", p.Skipped), p.Compiled, p.Total, p.Estimated)
	}
	for _, l := range p.Lines {
		if w.lastLine == "" {
			w.disp.Status("Building on the server...")
		}
		w.lastLine = l
		w.disp.Step("Building", l, p.Compiled, p.Total, p.Estimated)
	}
	if !w.uploaded.Load() || len(p.Lines) > 0 {
		return
	}
	switch p.State {
	case protocol.StateUnknown, protocol.StateReceiving:
		w.disp.Status("Waiting for the server...")
	case protocol.StateQueued:
		what := "a build slot"
		if p.Waiting == "context" {
			what = "another build of this context"
		}
		w.disp.Status(fmt.Sprintf("Queued on the server: position %d, waiting for %s...", p.Position, what))
	case protocol.StatePreparing:
		w.disp.Status("Syncing the upload into the build context...")
	case protocol.StateBuilding:
		if w.lastLine == "" {
			w.disp.Status("Building on the server...")
		} else {
			// Nothing new: the terminal line stays, its clock goes on.
			w.disp.Refresh()
		}
	case protocol.StateSending:
		w.disp.Status("Packing the result...")
	}
}

// downloading counts the answer's body as it is read.
func (b *build) downloading(resp *http.Response) io.Reader {
	if b.disp == nil {
		return resp.Body
	}
	t := b.disp.Transfer("Downloading", resp.ContentLength)
	return &eofReader{r: t.Reader(resp.Body), eof: t.Done}
}

// eofReader calls eof once when r ends (at EOF or another error).
type eofReader struct {
	r    io.Reader
	eof  func()
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(e.eof)
	}
	return n, err
}
