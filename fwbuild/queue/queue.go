// Package queue orders the builds of one server: builds of the same context
// run one after another, in arrival order as far as the Go scheduler
// allows, and at most a fixed number of builds run at once overall.
//
// A request takes its context's turn with LockContext, then a build slot
// with AcquireSlot, and gives both back when its result is packed. Waiting
// ends early when the request's context is cancelled (the client went
// away). Serialisation across processes sharing a volumes dir is the job of
// the context's file lock (package buildctx); this queue keeps waiting
// cheap, cancellable and observable within one process.
package queue

import (
	"context"
	"fmt"
	"sync"
)

// WaitKind says what a caller waits for.
type WaitKind int

const (
	// WaitContext: another build of the same context is running.
	WaitContext WaitKind = iota
	// WaitSlot: the maximum number of builds is running.
	WaitSlot
)

func (k WaitKind) String() string {
	if k == WaitContext {
		return "context"
	}
	return "build slot"
}

// Options tunes a Queue.
type Options struct {
	// OnWait, if set, is called when a caller finds it has to wait, just
	// before it starts waiting (from the caller's goroutine).
	OnWait func(key string, kind WaitKind)
}

// Queue serialises builds per context key and bounds running builds.
type Queue struct {
	slots  chan struct{}
	onWait func(string, WaitKind)

	mu   sync.Mutex
	keys map[string]*turn
	// slotWaiters counts callers blocked in AcquireSlot; freed is closed
	// (and replaced) whenever a slot is given back. Together they let
	// background work take a slot only when no build wants it.
	slotWaiters int
	freed       chan struct{}
}

// turn is the per-key lock: a one-token channel plus how many callers
// hold or wait for it, so the map entry goes when nobody needs it.
type turn struct {
	token chan struct{}
	refs  int
}

// New returns a Queue that lets at most maxRunning builds hold a slot.
func New(maxRunning int, opts Options) *Queue {
	if maxRunning < 1 {
		maxRunning = 1
	}
	return &Queue{
		slots:  make(chan struct{}, maxRunning),
		onWait: opts.OnWait,
		keys:   map[string]*turn{},
		freed:  make(chan struct{}),
	}
}

// LockContext waits until no other caller holds key, then holds it until
// the returned unlock is called (once; later calls do nothing).
func (q *Queue) LockContext(ctx context.Context, key string) (unlock func(), err error) {
	q.mu.Lock()
	t := q.keys[key]
	if t == nil {
		t = &turn{token: make(chan struct{}, 1)}
		q.keys[key] = t
	}
	t.refs++
	q.mu.Unlock()

	if err := q.take(ctx, t.token, key, WaitContext); err != nil {
		q.drop(key, t)
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-t.token
			q.drop(key, t)
		})
	}, nil
}

func (q *Queue) drop(key string, t *turn) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t.refs--
	if t.refs == 0 {
		delete(q.keys, key)
	}
}

// AcquireSlot waits until fewer than the maximum number of builds run,
// then counts the caller as running until release is called (once; later
// calls do nothing). key only names the caller to OnWait.
func (q *Queue) AcquireSlot(ctx context.Context, key string) (release func(), err error) {
	if err := q.take(ctx, q.slots, key, WaitSlot); err != nil {
		return nil, err
	}
	return q.releaser(), nil
}

// releaser returns the release func of a slot taken.
func (q *Queue) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			<-q.slots
			q.mu.Lock()
			close(q.freed)
			q.freed = make(chan struct{})
			q.mu.Unlock()
		})
	}
}

// TryIdleSlot takes a slot only if one is free and no caller is waiting
// in AcquireSlot; it never waits. It is for work that must yield to
// builds (verification): such work holds at most the slot it got here, so
// a build arriving meanwhile waits for that one at most.
func (q *Queue) TryIdleSlot() (release func(), ok bool) {
	q.mu.Lock()
	waiting := q.slotWaiters > 0
	q.mu.Unlock()
	if waiting {
		return nil, false
	}
	select {
	case q.slots <- struct{}{}:
		return q.releaser(), true
	default:
		return nil, false
	}
}

// SlotFreed returns a channel closed when a slot is next given back. Get
// it before TryIdleSlot, so a release between the two is not missed.
func (q *Queue) SlotFreed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.freed
}

// take puts a token into ch, waiting (and telling OnWait) if it is full.
func (q *Queue) take(ctx context.Context, ch chan struct{}, key string, kind WaitKind) error {
	select {
	case ch <- struct{}{}:
		return nil
	default:
	}
	if kind == WaitSlot {
		// Counted before OnWait, so whoever OnWait tells sees the waiter.
		q.mu.Lock()
		q.slotWaiters++
		q.mu.Unlock()
		defer func() {
			q.mu.Lock()
			q.slotWaiters--
			q.mu.Unlock()
		}()
	}
	if q.onWait != nil {
		q.onWait(key, kind)
	}
	select {
	case ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s of %s: %w", kind, key, ctx.Err())
	}
}

// Running returns how many builds hold a slot now.
func (q *Queue) Running() int { return len(q.slots) }

// Max returns the number of slots.
func (q *Queue) Max() int { return cap(q.slots) }
