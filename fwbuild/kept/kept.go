// Package kept holds what the server keeps in memory between a client's
// requests (delta plans, the listings later requests are sent against)
// within budgets of entries and bytes, per account and in all. One
// account filling its budget pushes out only its own oldest items; the
// global budget then pushes out the least recently used of anyone's.
// Losing an item only costs the client a full listing or a new plan.
package kept

import (
	"container/list"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limits are the budgets of a Store.
type Limits struct {
	MaxEntries, AccountEntries int
	MaxBytes, AccountBytes     int64
}

// ErrOverBudget: one item is larger than an account's budget.
var ErrOverBudget = errors.New("over the budget of what is kept for an account")

// Store keeps values by account and id.
type Store struct {
	lim Limits

	mu      sync.Mutex
	lru     *list.List // front = most recently used; values are *item
	byKey   map[key]*list.Element
	account map[string]*usage
	total   usage
}

type key struct{ account, id string }

type usage struct {
	entries int
	bytes   int64
	lru     *list.List // the account's items, front = most recent; values are *list.Element of Store.lru
}

type item struct {
	key     key
	v       any
	entries int
	bytes   int64
	until   time.Time
	own     *list.Element // in the account's usage.lru
}

// New returns an empty store with the given budgets.
func New(lim Limits) *Store {
	return &Store{lim: lim, lru: list.New(), byKey: map[key]*list.Element{}, account: map[string]*usage{}}
}

// Put keeps v for account under id until ttl has passed, counting it as
// entries entries of bytes bytes; older items go to make room. An item
// over an account's budget by itself is refused.
func (s *Store) Put(account, id string, v any, entries int, bytes int64, ttl time.Duration) error {
	if entries > s.lim.AccountEntries || bytes > s.lim.AccountBytes {
		return fmt.Errorf("%w: %d entries, %d bytes (budget %d entries, %d bytes)", ErrOverBudget, entries, bytes, s.lim.AccountEntries, s.lim.AccountBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{account, id}
	if el, ok := s.byKey[k]; ok {
		s.remove(el)
	}
	now := time.Now()
	// The least recently used that have expired go first.
	for el := s.lru.Back(); el != nil && now.After(el.Value.(*item).until); el = s.lru.Back() {
		s.remove(el)
	}
	u := s.account[account]
	if u == nil {
		u = &usage{lru: list.New()}
		s.account[account] = u
	}
	it := &item{key: k, v: v, entries: entries, bytes: bytes, until: now.Add(ttl)}
	el := s.lru.PushFront(it)
	it.own = u.lru.PushFront(el)
	s.byKey[k] = el
	u.entries += entries
	u.bytes += bytes
	s.total.entries += entries
	s.total.bytes += bytes
	for u.entries > s.lim.AccountEntries || u.bytes > s.lim.AccountBytes {
		s.remove(u.lru.Back().Value.(*list.Element))
	}
	for s.total.entries > s.lim.MaxEntries || s.total.bytes > s.lim.MaxBytes {
		s.remove(s.lru.Back())
	}
	return nil
}

// Get returns what account keeps under id, marking it used.
func (s *Store) Get(account, id string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byKey[key{account, id}]
	if !ok {
		return nil, false
	}
	it := el.Value.(*item)
	if time.Now().After(it.until) {
		s.remove(el)
		return nil, false
	}
	s.lru.MoveToFront(el)
	s.account[account].lru.MoveToFront(it.own)
	return it.v, true
}

// Usage returns the entries and bytes kept in all, and for account.
func (s *Store) Usage(account string) (entries int, bytes int64, accountEntries int, accountBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.account[account]; u != nil {
		accountEntries, accountBytes = u.entries, u.bytes
	}
	return s.total.entries, s.total.bytes, accountEntries, accountBytes
}

// remove drops one item. Call with mu.
func (s *Store) remove(el *list.Element) {
	it := el.Value.(*item)
	u := s.account[it.key.account]
	u.lru.Remove(it.own)
	u.entries -= it.entries
	u.bytes -= it.bytes
	if u.lru.Len() == 0 {
		delete(s.account, it.key.account)
	}
	s.total.entries -= it.entries
	s.total.bytes -= it.bytes
	s.lru.Remove(el)
	delete(s.byKey, it.key)
}
