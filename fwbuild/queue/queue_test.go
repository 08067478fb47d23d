package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
)

type waitEvent struct {
	key  string
	kind WaitKind
}

func newObserved(max int) (*Queue, chan waitEvent) {
	waits := make(chan waitEvent, 16)
	q := New(max, Options{OnWait: func(key string, kind WaitKind) { waits <- waitEvent{key, kind} }})
	return q, waits
}

func TestSameKeyWaitsForTheHolder(t *testing.T) {
	q, waits := newObserved(4)
	ctx := context.Background()
	unlock1, err := q.LockContext(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		unlock2, err := q.LockContext(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- unlock2
	}()
	if ev := <-waits; ev != (waitEvent{"a", WaitContext}) {
		t.Fatalf("wait event %+v", ev)
	}
	select {
	case <-got:
		t.Fatal("second LockContext returned while the first holds the key")
	default:
	}
	unlock1()
	unlock1() // a second call must not release the second holder
	unlock2 := <-got
	// The key is held again: a third caller must wait.
	third := make(chan struct{})
	go func() {
		u, err := q.LockContext(ctx, "a")
		if err == nil {
			u()
		}
		close(third)
	}()
	if ev := <-waits; ev.kind != WaitContext {
		t.Fatalf("wait event %+v", ev)
	}
	unlock2()
	<-third
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.keys) != 0 {
		t.Errorf("keys left after all unlocked: %v", q.keys)
	}
}

func TestDifferentKeysDoNotWait(t *testing.T) {
	q, waits := newObserved(4)
	var unlocks []func()
	for _, k := range []string{"a", "b", "c"} {
		u, err := q.LockContext(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		unlocks = append(unlocks, u)
	}
	select {
	case ev := <-waits:
		t.Errorf("unexpected wait %+v", ev)
	default:
	}
	for _, u := range unlocks {
		u()
	}
}

func TestSlotsBoundRunningBuilds(t *testing.T) {
	q, waits := newObserved(2)
	ctx := context.Background()
	r1, err := q.AcquireSlot(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := q.AcquireSlot(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if q.Running() != 2 || q.Max() != 2 {
		t.Fatalf("Running() = %d, Max() = %d", q.Running(), q.Max())
	}
	got := make(chan func())
	go func() {
		r3, err := q.AcquireSlot(ctx, "c")
		if err != nil {
			t.Error(err)
		}
		got <- r3
	}()
	if ev := <-waits; ev != (waitEvent{"c", WaitSlot}) {
		t.Fatalf("wait event %+v", ev)
	}
	select {
	case <-got:
		t.Fatal("third slot granted while two run")
	default:
	}
	r1()
	r3 := <-got
	if q.Running() != 2 {
		t.Errorf("Running() = %d after handover", q.Running())
	}
	r2()
	r3()
	r3()
	if q.Running() != 0 {
		t.Errorf("Running() = %d after all released", q.Running())
	}
}

func TestWaitEndsWithTheRequest(t *testing.T) {
	q, waits := newObserved(1)
	unlock, err := q.LockContext(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	release, err := q.AcquireSlot(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, err := q.LockContext(ctx, "a")
		errs <- err
	}()
	go func() {
		defer wg.Done()
		_, err := q.AcquireSlot(ctx, "b")
		errs <- err
	}()
	<-waits
	<-waits
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	unlock()
	release()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.keys) != 0 {
		t.Errorf("keys left: %v", q.keys)
	}
	if q.Running() != 0 {
		t.Errorf("Running() = %d", q.Running())
	}
}

// TestTryIdleSlotYieldsToBuilds: background work gets a slot only when one
// is free and no build waits for one, and SlotFreed tells it when to try
// again.
func TestTryIdleSlotYieldsToBuilds(t *testing.T) {
	q, waits := newObserved(1)
	ctx := context.Background()
	rel, ok := q.TryIdleSlot()
	if !ok {
		t.Fatal("TryIdleSlot on an idle queue: no slot")
	}
	if _, ok := q.TryIdleSlot(); ok {
		t.Fatal("TryIdleSlot got a second slot of one")
	}
	freed := q.SlotFreed()
	// A build arrives and waits for the slot the background work holds.
	got := make(chan func())
	go func() {
		r, err := q.AcquireSlot(ctx, "build")
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	if ev := <-waits; ev != (waitEvent{"build", WaitSlot}) {
		t.Fatalf("wait event %+v", ev)
	}
	rel()
	<-freed // closed by the release
	buildRel := <-got
	if q.Running() != 1 {
		t.Fatalf("running %d, want the build's 1", q.Running())
	}
	freed = q.SlotFreed()
	select {
	case <-freed:
		t.Fatal("SlotFreed closed while the slot is held")
	default:
	}
	buildRel()
	<-freed
	rel, ok = q.TryIdleSlot()
	if !ok {
		t.Fatal("TryIdleSlot: no slot though one is free and nobody waits")
	}
	rel()
}
