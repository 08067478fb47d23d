// Package quota bounds the disk one account (one group) can take and
// keeps a floor of free disk on the volumes, so that no account fills the
// disk for everyone: an upload is unpacked only within its namespace's
// quota and the free disk above the floor (the limit is applied while
// unpacking, not after), collection removes a namespace's least recently
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

// Allowance is how many bytes an upload of ns may unpack to, at most
// max: its quota, and the free disk above the floor. It fails when free
// disk is under the floor. What the namespace's contexts hold beyond its
// quota is removed by collection, least recently used first
// (buildctx.CollectOptions.Quota), so an account is never locked out by
// its own old contexts.
func (p Policy) Allowance(ns string, max int64) (int64, error) {
	allow := max
	if q := p.Limit(ns); q > 0 {
		allow = min(allow, q)
	}
	if err := p.CheckFree(); err != nil {
		return 0, err
	}
	if p.MinFree > 0 && p.Free != nil {
		if free := p.Free(); free >= 0 {
			allow = min(allow, free-p.MinFree)
		}
	}
	return allow, nil
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
