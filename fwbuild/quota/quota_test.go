package quota

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestAllowance(t *testing.T) {
	free := int64(10_000)
	p := Policy{Account: 1000, Team: 5000, MinFree: 2000, Free: func() int64 { return free }}
	for _, tc := range []struct {
		ns        string
		max, want int64
	}{
		{"user:alice", 1 << 30, 1000},
		{"user:alice", 100, 100},
		{"team:fw", 1 << 30, 5000},
		{"", 1 << 30, 8000}, // no quota: the disk bounds it
	} {
		got, err := p.Allowance(tc.ns, tc.max)
		if got != tc.want || err != nil {
			t.Errorf("Allowance(%q, %d) = %d, %v; want %d", tc.ns, tc.max, got, err, tc.want)
		}
	}
	free = 1500
	if _, err := p.Allowance("user:bob", 1<<30); !errors.Is(err, ErrDiskLow) {
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
