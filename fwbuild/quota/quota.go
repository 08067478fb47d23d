// Package quota bounds the disk one account (one group) can take and
// keeps a floor of free disk on the volumes, so that no account fills the
// disk for everyone: an upload reserves what it unpacks to (Ledger)
// within its namespace's quota and the free disk above the floor, counting
// the uploads in flight, and is held to it while unpacking; collection
// removes a namespace's least recently
// used contexts while they take more than its quota
// (buildctx.CollectOptions.Quota) and anyone's while free disk is under
// the floor (CollectOptions.MinFree), /readyz
// fails under it, and builds are stopped when free disk falls under half
// of it (Watch).
package quota

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrDiskLow: free disk is under the floor.
var ErrDiskLow = errors.New("free disk under the floor")

// Policy is the server's disk rule.
type Policy struct {
	Account, Team int64 // quota of a user's, a group's contexts; 0: none
	MinFree       int64 // free disk floor; 0: none
	// Free returns the free bytes on the volumes (negative: unknown).
	Free func() int64
}

// Limit is the quota of namespace ns ("user:alice", "team:fw"; "" the
// anonymous namespace of a server without accounts, which has none); 0:
// none.
func (p Policy) Limit(ns string) int64 {
	switch {
	case strings.HasPrefix(ns, "user:"):
		return p.Account
	case strings.HasPrefix(ns, "team:"):
		return p.Team
	}
	return 0
}

// ErrQuota: uploads of a namespace in flight together would take more
// than its quota.
var ErrQuota = errors.New("over the disk quota")

// Ledger counts the bytes that uploads in flight are allowed to write, so
// that concurrent uploads together stay within their namespace's quota
// and within the free disk above the floor. What the namespace's contexts
// hold beyond its quota is removed by collection, least recently used
// first (buildctx.CollectOptions.Quota), so an account is never locked out
// by its own old contexts.
type Ledger struct {
	p *Policy

	mu    sync.Mutex
	ns    map[string]int64
	total int64
}

// NewLedger returns an empty ledger of p (which it reads at each
// Reserve).
func NewLedger(p *Policy) *Ledger { return &Ledger{p: p, ns: map[string]int64{}} }

// Reserve reserves need bytes for an upload of ns until release is called
// (more than once is fine): it fails with ErrQuota when ns's uploads in
// flight would take more than its quota, with ErrDiskLow when free disk
// less what uploads in flight may still write would go under the floor.
func (l *Ledger) Reserve(ns string, need int64) (release func(), err error) {
	if err := l.p.CheckFree(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if q := l.p.Limit(ns); q > 0 && l.ns[ns]+need > q {
		return nil, fmt.Errorf("%w: %d bytes to unpack, with %d in flight, over %s's quota of %d", ErrQuota, need, l.ns[ns], ns, q)
	}
	if l.p.MinFree > 0 && l.p.Free != nil {
		if free := l.p.Free(); free >= 0 && free-l.total-need < l.p.MinFree {
			return nil, fmt.Errorf("%w: %d bytes to unpack, %d free, %d in flight, the floor is %d (--min-free-disk)", ErrDiskLow, need, free, l.total, l.p.MinFree)
		}
	}
	l.ns[ns] += need
	l.total += need
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total -= need
			if l.ns[ns] -= need; l.ns[ns] == 0 {
				delete(l.ns, ns)
			}
		})
	}, nil
}

// CheckFree fails when free disk is under the floor.
func (p Policy) CheckFree() error {
	if p.MinFree <= 0 || p.Free == nil {
		return nil
	}
	if free := p.Free(); free >= 0 && free < p.MinFree {
		return fmt.Errorf("%w: %d bytes free, the floor is %d (--min-free-disk)", ErrDiskLow, free, p.MinFree)
	}
	return nil
}

// Watch returns a context derived from ctx that is cancelled when free
// disk falls under half the floor (a build writing the disk full eats the
// reserve the floor keeps), checked every interval, and a func that stops
// watching and reports whether it fired. Without a floor it only wraps
// ctx.
func (p Policy) Watch(ctx context.Context, interval time.Duration) (context.Context, func() bool) {
	ctx, cancel := context.WithCancel(ctx)
	if p.MinFree <= 0 || p.Free == nil {
		return ctx, func() bool { cancel(); return false }
	}
	var fired atomic.Bool
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if free := p.Free(); free >= 0 && free < p.MinFree/2 {
					fired.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	return ctx, func() bool {
		close(done)
		<-stopped
		cancel()
		return fired.Load()
	}
}
