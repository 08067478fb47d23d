package server

import (
	"sync"
	"time"
)

// listings keeps recent listings by digest, so that a client may send the
// next one as changes against it (protocol.PlanRequest.Base,
// protocol.HaveDelta). Losing one only costs a full listing: a bounded,
// in-memory store, oldest first out.
type listings[T any] struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	m   map[string]*kept[T]
}

type kept[T any] struct {
	list []T
	used time.Time
}

// A listing of the largest upload allowed is a few MB; a few hundred of
// the usual (a thousand files) are a few tens of MB.
const (
	listingsMax = 256
	listingsTTL = 24 * time.Hour
)

func newListings[T any]() *listings[T] {
	return &listings[T]{max: listingsMax, ttl: listingsTTL, m: map[string]*kept[T]{}}
}

// put keeps list under digest.
func (l *listings[T]) put(digest string, list []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if k, ok := l.m[digest]; ok {
		k.used = now
		return
	}
	var oldest string
	for d, k := range l.m {
		if now.Sub(k.used) > l.ttl {
			delete(l.m, d)
		} else if oldest == "" || k.used.Before(l.m[oldest].used) {
			oldest = d
		}
	}
	if len(l.m) >= l.max {
		delete(l.m, oldest)
	}
	l.m[digest] = &kept[T]{list: list, used: now}
}

// get returns the listing kept under digest, or nil.
func (l *listings[T]) get(digest string) []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.m[digest]
	if !ok || time.Since(k.used) > l.ttl {
		delete(l.m, digest)
		return nil
	}
	k.used = time.Now()
	return k.list
}
