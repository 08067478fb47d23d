package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/fwcompare"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/queue"
)

// Defaults of Options.
const (
	DefaultMaxQueued = 4
	DefaultMaxBytes  = 2 << 30
	// keepMismatches is how many mismatches Stats keeps for the status page.
	keepMismatches = 10
	dirPrefix      = "verify_"
)

// Options says what a Verifier does and with what.
type Options struct {
	// Fraction of the offered builds verified: 0 none, 1 all.
	Fraction float64
	// Rand returns a number in [0, 1) for each offered build; nil: math/rand.
	Rand func() float64

	Store        *buildctx.Store // to mark a context dirty
	Queue        *queue.Queue    // the server's build slots
	Runner       builder.Runner  // the server's runner
	LibsCacheDir string          // as for the server's builds
	// TempDir holds the snapshots (the server's temp area, on the
	// volumes dir's file system).
	TempDir string

	// MaxQueued bounds the snapshots waiting (default DefaultMaxQueued);
	// MaxBytes the bytes of all snapshots kept, the one being verified
	// included (default DefaultMaxBytes).
	MaxQueued int
	MaxBytes  int64

	// OnDone, if set, is called after each verification ends (from the
	// worker, or from Offer when the snapshot already decides it).
	OnDone func(Outcome)
}

// Result of one verification.
type Result string

// Results; Skipped is for a picked build never verified.
const (
	Equal    Result = "equal"
	Mismatch Result = "mismatch"
	Error    Result = "error"
	Skipped  Result = "skipped"
)

// Outcome is how one verification ended.
type Outcome struct {
	Key    buildctx.Key
	Name   string // context name
	Result Result
	// Why: the first difference of a mismatch, the error of an error, the
	// reason of a skip.
	Why   string
	Diffs int // differences found (mismatch)
}

// Stats is what the verifier has done since it started.
type Stats struct {
	Equal, Mismatches, Errors, Skipped int64
	Queued                             int
	QueuedBytes                        int64 // snapshots kept, the one being verified included
	Recent                             []Finding
}

// Finding is one verification that found the incremental build wrong.
type Finding struct {
	At    time.Time
	Key   buildctx.Key
	Name  string
	First string
	Diffs int
}

// Verifier verifies a fraction of incremental builds; see the package
// comment.
type Verifier struct {
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu      sync.Mutex
	closed  bool
	queue   []*job
	kept    int64 // bytes of queued and running snapshots
	stats   Stats
	onClose sync.Once
}

// job is one snapshot waiting for, or in, its clean build.
type job struct {
	key   buildctx.Key
	name  string
	log   string // "verify ctx=... app=... platform=..."
	dir   string // the snapshot: ctx/ (the clean build's context), got/ (the incremental result)
	bytes int64
}

func (j *job) ctxDir() string { return filepath.Join(j.dir, "ctx") }
func (j *job) gotDir() string { return filepath.Join(j.dir, "got") }

// New starts a verifier; Close stops it. With Fraction 0 it never
// verifies and needs none of the other options.
func New(opts Options) (*Verifier, error) {
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &Verifier{opts: opts, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	if opts.Fraction <= 0 {
		close(v.done)
		return v, nil
	}
	if opts.Store == nil || opts.Queue == nil || opts.Runner == nil || opts.TempDir == "" {
		cancel()
		return nil, errors.New("verify: Store, Queue, Runner and TempDir are required")
	}
	removeStale(opts.TempDir)
	go v.work(ctx)
	return v, nil
}

// removeStale removes snapshots a verifier of a server that died left in
// dir (dir is this server's alone).
func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			glog.Warningf("verify: cleaning %s: %v", dir, err)
		}
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), dirPrefix) {
			p := filepath.Join(dir, e.Name())
			if err := os.RemoveAll(p); err != nil {
				glog.Warningf("verify: removing stale snapshot %s: %v", p, err)
			}
		}
	}
}

// Enabled reports whether any build is verified.
func (v *Verifier) Enabled() bool { return v.opts.Fraction > 0 }

// Fraction is the share of offered builds verified.
func (v *Verifier) Fraction() float64 { return v.opts.Fraction }

// pick decides whether an offered build is verified.
func (v *Verifier) pick() bool {
	switch f := v.opts.Fraction; {
	case f <= 0:
		return false
	case f >= 1:
		return true
	default:
		return v.opts.Rand() < f
	}
}

// Offer is called after a successful incremental build of c, while its
// lock is held (the snapshot must see the context as this build left
// it). It picks the build or not, snapshots it and queues it; it never
// fails the build: what goes wrong is logged and counted.
func (v *Verifier) Offer(c *buildctx.Context) {
	if !v.pick() {
		return
	}
	j := &job{key: c.Key, name: c.Name, log: fmt.Sprintf("verify ctx=%s app=%s platform=%s", c.Name, c.Key.App, c.Key.Platform)}
	v.mu.Lock()
	closed := v.closed
	v.mu.Unlock()
	if closed {
		return
	}
	dir, err := os.MkdirTemp(v.opts.TempDir, dirPrefix)
	if err != nil {
		v.finish(j, Outcome{Result: Error, Why: fmt.Sprintf("creating snapshot dir: %v", err)})
		return
	}
	j.dir = dir
	// The snapshot may take the room of queued ones (they are dropped,
	// oldest first) but not of the one being verified.
	room := v.opts.MaxBytes - v.runningBytes()
	snap, err := take(c, j.ctxDir(), j.gotDir(), room)
	j.bytes = snap.bytes
	switch {
	case errors.Is(err, errTooBig):
		v.finish(j, Outcome{Result: Skipped, Why: err.Error()})
	case err != nil:
		v.finish(j, Outcome{Result: Error, Why: fmt.Sprintf("snapshot: %v", err)})
	case snap.deviation != "":
		// The build used files other than the upload's: no clean build
		// needed to know it cannot be trusted. The lock is held here.
		v.mismatch(j, snap.deviation, 1, func(why string) error { return c.MarkDirty(why) })
	default:
		v.enqueue(j)
		glog.V(1).Infof("%s: snapshot of %d bytes queued for a clean build", j.log, j.bytes)
	}
}

// runningBytes is the size of the snapshot being verified (0 if none).
func (v *Verifier) runningBytes() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var queued int64
	for _, q := range v.queue {
		queued += q.bytes
	}
	return v.kept - queued
}

// enqueue adds j, dropping the oldest while the queue is full or the
// bytes kept exceed the bound.
func (v *Verifier) enqueue(j *job) {
	var dropped []*job
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		v.finish(j, Outcome{Result: Skipped, Why: "server shutting down"})
		return
	}
	v.queue = append(v.queue, j)
	v.kept += j.bytes
	for len(v.queue) > 1 && (len(v.queue) > v.opts.MaxQueued || v.kept > v.opts.MaxBytes) {
		old := v.queue[0]
		v.queue = v.queue[1:]
		v.kept -= old.bytes
		dropped = append(dropped, old)
	}
	v.mu.Unlock()
	for _, old := range dropped {
		v.finish(old, Outcome{Result: Skipped, Why: "dropped from the full verification queue"})
	}
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// work verifies queued snapshots one at a time until ctx ends.
func (v *Verifier) work(ctx context.Context) {
	defer close(v.done)
	for {
		j := v.next()
		if j == nil {
			select {
			case <-ctx.Done():
				return
			case <-v.wake:
				continue
			}
		}
		out := v.verify(ctx, j)
		v.mu.Lock()
		v.kept -= j.bytes
		v.mu.Unlock()
		if out.Result == Mismatch {
			v.mismatch(j, out.Why, out.Diffs, func(why string) error { return v.markDirty(ctx, j, why) })
			continue
		}
		v.finish(j, out)
	}
}

// next takes the oldest queued job; its bytes stay counted in kept until
// the worker is done with it.
func (v *Verifier) next() *job {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.queue) == 0 {
		return nil
	}
	j := v.queue[0]
	v.queue = v.queue[1:]
	return j
}

// verify runs j's clean build when a slot is idle and compares.
func (v *Verifier) verify(ctx context.Context, j *job) Outcome {
	release, err := v.idleSlot(ctx)
	if err != nil {
		return Outcome{Result: Skipped, Why: "server shutting down"}
	}
	glog.Infof("%s: clean build of a snapshot of %d bytes", j.log, j.bytes)
	ctxDir := j.ctxDir()
	res, err := v.opts.Runner.Run(ctx, builder.Request{
		Dir:          ctxDir,
		ParamsFile:   filepath.Join(ctxDir, buildctx.ParamsFileName),
		LibsCacheDir: v.opts.LibsCacheDir,
		TempDir:      filepath.Join(ctxDir, buildctx.CtxTempDirName),
		OutputFile:   filepath.Join(j.dir, "output.log"),
		Log:          j.log,
		NoCcache:     true, // the reference must not come from the cache it checks
	})
	release()
	switch {
	case ctx.Err() != nil:
		return Outcome{Result: Skipped, Why: "server shutting down"}
	case err != nil:
		return Outcome{Result: Error, Why: fmt.Sprintf("clean build: %v", err)}
	case res.Refused:
		return Outcome{Result: Error, Why: "clean build refused: " + res.Reason}
	case res.Failed:
		return Outcome{Result: Mismatch, Why: "clean build failed where the incremental build succeeded: " + res.Reason, Diffs: 1}
	}
	rep, err := fwcompare.BuildDirs(j.gotDir(), filepath.Join(ctxDir, buildctx.BuildDirName))
	switch {
	case err != nil:
		return Outcome{Result: Error, Why: fmt.Sprintf("comparing: %v", err)}
	case !rep.Equal():
		for _, d := range rep.Diffs {
			glog.V(1).Infof("%s: differs: %s", j.log, d)
		}
		return Outcome{Result: Mismatch, Why: rep.First(), Diffs: len(rep.Diffs)}
	case rep.Compared == 0:
		return Outcome{Result: Error, Why: "nothing to compare: neither build has fw.zip, generated config or build/fs"}
	}
	glog.Infof("%s: equal to the clean build (%d bytes compared)", j.log, rep.Compared)
	return Outcome{Result: Equal}
}

// idleSlot waits until a build slot is free and no build waits for one,
// and takes it.
func (v *Verifier) idleSlot(ctx context.Context) (func(), error) {
	for {
		freed := v.opts.Queue.SlotFreed()
		if release, ok := v.opts.Queue.TryIdleSlot(); ok {
			return release, nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// markDirty marks j's context dirty, waiting for its lock (a build of it
// may be running).
func (v *Verifier) markDirty(ctx context.Context, j *job, why string) error {
	c, err := v.opts.Store.Lock(ctx, j.key, j.name)
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Close(); err != nil {
			glog.Warningf("%s: %v", j.log, err)
		}
	}()
	if _, err := os.Lstat(c.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil // removed since (collected): nothing left to distrust
	}
	return c.MarkDirty(why)
}

// mismatch marks the context dirty with mark and reports it.
func (v *Verifier) mismatch(j *job, first string, diffs int, mark func(why string) error) {
	if err := mark("verification: the clean build differs: " + first); err != nil {
		glog.Errorf("%s: MISMATCH, and marking the context dirty failed (its next build may reuse it): %v", j.log, err)
	}
	glog.Warningf("%s: MISMATCH: the incremental build differs from a clean build of the same upload (%d differences; first: %s); context marked dirty, its next build starts afresh", j.log, diffs, first)
	v.finish(j, Outcome{Result: Mismatch, Why: first, Diffs: diffs})
}

// finish counts out, removes j's snapshot and tells OnDone.
func (v *Verifier) finish(j *job, out Outcome) {
	out.Key, out.Name = j.key, j.name
	if j.dir != "" {
		if err := os.RemoveAll(j.dir); err != nil {
			glog.Warningf("%s: removing snapshot: %v", j.log, err)
		}
	}
	v.mu.Lock()
	switch out.Result {
	case Equal:
		v.stats.Equal++
	case Mismatch:
		v.stats.Mismatches++
		m := Finding{At: time.Now(), Key: j.key, Name: j.name, First: out.Why, Diffs: out.Diffs}
		v.stats.Recent = append([]Finding{m}, v.stats.Recent...)
		if len(v.stats.Recent) > keepMismatches {
			v.stats.Recent = v.stats.Recent[:keepMismatches]
		}
	case Error:
		v.stats.Errors++
	case Skipped:
		v.stats.Skipped++
	}
	v.mu.Unlock()
	switch out.Result {
	case Error:
		glog.Warningf("%s: not verified: %s", j.log, out.Why)
	case Skipped:
		glog.Infof("%s: verification skipped: %s", j.log, out.Why)
	}
	if v.opts.OnDone != nil {
		v.opts.OnDone(out)
	}
}

// Stats returns what the verifier has done.
func (v *Verifier) Stats() Stats {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.stats
	st.Queued = len(v.queue)
	st.QueuedBytes = v.kept
	st.Recent = append([]Finding(nil), v.stats.Recent...)
	return st
}

// Close drops the queued snapshots (counted as skipped), stops a clean
// build running and waits for the worker. Later Offers do nothing.
func (v *Verifier) Close() {
	v.onClose.Do(func() {
		v.mu.Lock()
		v.closed = true
		dropped := v.queue
		v.queue = nil
		for _, j := range dropped {
			v.kept -= j.bytes
		}
		v.mu.Unlock()
		v.cancel()
		<-v.done
		for _, j := range dropped {
			v.finish(j, Outcome{Result: Skipped, Why: "server shutting down"})
		}
	})
}
