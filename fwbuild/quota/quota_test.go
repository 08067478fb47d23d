package quota

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestReserve(t *testing.T) {
	free := int64(10_000)
	p := &Policy{Account: 1000, Team: 5000, MinFree: 2000, Free: func() int64 { return free }}
	l := NewLedger(p)
	r1, err := l.Reserve("user:alice", 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve("user:alice", 600); !errors.Is(err, ErrQuota) {
		t.Errorf("alice's second upload in flight over her quota: %v", err)
	}
	r2, err := l.Reserve("user:bob", 600)
	if err != nil {
		t.Errorf("bob beside alice: %v", err)
	}
	r1()
	r1() // twice is fine
	if _, err := l.Reserve("user:alice", 1000); err != nil {
		t.Errorf("alice after her first upload landed: %v", err)
	}
	// The disk: 10000 free, floor 2000, 1600 in flight, then 6600.
	if _, err := l.Reserve("team:fw", 5000); err != nil {
		t.Errorf("team within the free disk: %v", err)
	}
	if _, err := l.Reserve("", 2000); !errors.Is(err, ErrDiskLow) {
		t.Errorf("in flight past the floor: %v", err)
	}
	r2()
	free = 1500
	if _, err := l.Reserve("user:carol", 1); !errors.Is(err, ErrDiskLow) {
		t.Errorf("under the floor: %v", err)
	}
	if err := p.CheckFree(); !errors.Is(err, ErrDiskLow) {
		t.Errorf("CheckFree under the floor: %v", err)
	}
	if err := (Policy{}).CheckFree(); err != nil {
		t.Errorf("no floor: %v", err)
	}
}

func TestWatchStopsUnderHalfTheFloor(t *testing.T) {
	var free atomic.Int64
	free.Store(1000)
	p := Policy{MinFree: 1000, Free: func() int64 { return free.Load() }}
	ctx, stop := p.Watch(context.Background(), time.Millisecond)
	free.Store(499)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not stopped under half the floor")
	}
	if !stop() {
		t.Error("stop does not say it fired")
	}
	// Over half the floor it lets the build run.
	free.Store(600)
	ctx, stop = p.Watch(context.Background(), time.Millisecond)
	if ctx.Err() != nil || stop() {
		t.Error("fired over half the floor")
	}
}
