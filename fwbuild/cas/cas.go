// Package cas is the server's content-addressed blob store for delta
// uploads: file contents named by their SHA-256, shared by all contexts.
// A blob becomes visible only after its hash and size were verified, the
// store is bounded (least recently used blobs go first) and it is rebuilt
// from disk on start, ordered by last use, so a restart keeps both content
// and eviction order.
package cas

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Errors callers tell apart.
var (
	// ErrMismatch: content does not hash to its name (or size).
	ErrMismatch = errors.New("content does not match its hash")
	// ErrMissing: the store does not hold the blob (never had it, evicted,
	// or found corrupt and dropped).
	ErrMissing = errors.New("blob not in the store")
	// ErrBadHash: a name that is not 64 lower-case hex digits.
	ErrBadHash = errors.New("not a sha256 hex digest")
)

// Store is a content-addressed store in a directory.
type Store struct {
	dir string
	max int64

	mu    sync.Mutex
	size  int64
	lru   *list.List               // front = most recently used; values are *blob
	blobs map[string]*list.Element // by hash

	evicted, evictedBytes int64 // by gc since Open
}

// Stats is what the store holds and has evicted since it was opened.
type Stats struct {
	Blobs                 int
	Bytes                 int64
	Evicted, EvictedBytes int64
}

// Stats returns the store's counts, for metrics.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Blobs: len(s.blobs), Bytes: s.size, Evicted: s.evicted, EvictedBytes: s.evictedBytes}
}

type blob struct {
	hash string
	size int64
}

// tmpPrefix names files being written; they are removed on open.
const tmpPrefix = ".tmp-"

// Open opens (creating it) the store in dir, bounded to maxBytes, and loads
// the blobs already there, least recently used last.
func Open(dir string, maxBytes int64) (*Store, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("cas: size bound %d must be positive", maxBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cas: %w", err)
	}
	s := &Store{dir: dir, max: maxBytes, lru: list.New(), blobs: map[string]*list.Element{}}
	type found struct {
		blob
		used time.Time
	}
	var all []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		if len(name) > len(tmpPrefix) && name[:len(tmpPrefix)] == tmpPrefix {
			return os.Remove(p) // left by a crash mid-write
		}
		if !ValidHash(name) || filepath.Base(filepath.Dir(p)) != name[:2] {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		all = append(all, found{blob{name, fi.Size()}, fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cas: loading %s: %w", dir, err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.After(all[j].used) })
	for _, f := range all {
		b := f.blob
		s.blobs[b.hash] = s.lru.PushBack(&b)
		s.size += b.size
	}
	if err := s.gc(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Size is the total size of the blobs held.
func (s *Store) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// ValidHash reports whether h is 64 lower-case hex digits.
func ValidHash(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(h string) string { return filepath.Join(s.dir, h[:2], h) }

// Missing returns the hashes of hs the store does not hold, each once, in
// the order given; the ones it holds count as used now.
func (s *Store) Missing(hs []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, h := range hs {
		if seen[h] {
			continue
		}
		seen[h] = true
		if el, ok := s.blobs[h]; ok {
			s.lru.MoveToFront(el)
			continue
		}
		out = append(out, h)
	}
	return out
}

// Has reports whether the store holds h.
func (s *Store) Has(h string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[h]
	return ok
}

// Put stores the content read from r as blob h. The content is written to
// a temp file while hashed; only if it has the given size and hashes to h
// is it renamed into place. Putting a blob the store holds
// checks the content the same way and keeps the old copy: a Put that
// succeeds proves its caller had the content (package possession).
func (s *Store) Put(h string, size int64, r io.Reader) error {
	if !ValidHash(h) {
		return fmt.Errorf("%w: %q", ErrBadHash, h)
	}
	if s.Has(h) {
		hw := sha256.New()
		n, err := io.Copy(hw, io.LimitReader(r, size+1))
		if err != nil {
			return fmt.Errorf("cas: reading %s: %w", h, err)
		}
		if n != size || sum(hw) != h {
			return fmt.Errorf("%w: blob %s (%d bytes received, %d expected)", ErrMismatch, h, n, size)
		}
		s.touch(h)
		return nil
	}
	dir := filepath.Dir(s.path(h))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	tmp, err := tempFile(dir)
	if err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	hw := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hw), io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("cas: writing %s: %w", h, err)
	}
	if n != size || hex.EncodeToString(hw.Sum(nil)) != h {
		return fmt.Errorf("%w: blob %s (%d bytes received, %d expected)", ErrMismatch, h, n, size)
	}
	// No fsync: a blob a power loss tore (empty, a part) no longer hashes
	// to its name, and every read (CopyTo) checks that and drops it, so
	// the client is asked for it again. 758 fsyncs took 0.4 s of a first
	// upload of the real core.
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(h)); err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	done = true
	s.mu.Lock()
	if el, ok := s.blobs[h]; ok { // a concurrent Put of the same content won
		s.lru.MoveToFront(el)
	} else {
		s.blobs[h] = s.lru.PushFront(&blob{h, size})
		s.size += size
	}
	s.mu.Unlock()
	return s.gc()
}

// CopyTo writes blob h to the new file dst with mode, verifying the
// content on the way: a blob that no longer hashes to its name is removed
// from the store and reported as ErrMissing, and dst is removed.
func (s *Store) CopyTo(h, dst string, mode fs.FileMode) (err error) {
	if !ValidHash(h) {
		return fmt.Errorf("%w: %q", ErrBadHash, h)
	}
	in, err := os.Open(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		s.drop(h)
		return fmt.Errorf("%w: %s", ErrMissing, h)
	}
	if err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	hw := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, hw), in); err != nil {
		return fmt.Errorf("cas: copying %s: %w", h, err)
	}
	if sum(hw) != h {
		s.drop(h)
		os.Remove(s.path(h))
		return fmt.Errorf("%w: %s was corrupt and is dropped", ErrMissing, h)
	}
	if err := out.Chmod(mode); err != nil {
		return err
	}
	s.touch(h)
	return nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// touch marks h used now, in memory and in its mtime (which orders the
// store when it is loaded again).
func (s *Store) touch(h string) {
	s.mu.Lock()
	if el, ok := s.blobs[h]; ok {
		s.lru.MoveToFront(el)
	}
	s.mu.Unlock()
	now := time.Now()
	_ = os.Chtimes(s.path(h), now, now)
}

func (s *Store) drop(h string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.blobs[h]; ok {
		s.size -= el.Value.(*blob).size
		s.lru.Remove(el)
		delete(s.blobs, h)
	}
}

// gc removes least recently used blobs until the store is within bounds.
func (s *Store) gc() error {
	s.mu.Lock()
	var victims []string
	for s.size > s.max {
		el := s.lru.Back()
		b := el.Value.(*blob)
		s.lru.Remove(el)
		delete(s.blobs, b.hash)
		s.size -= b.size
		s.evicted++
		s.evictedBytes += b.size
		victims = append(victims, b.hash)
	}
	s.mu.Unlock()
	var errs []error
	for _, h := range victims {
		if err := os.Remove(s.path(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cas: evicting: %w", errors.Join(errs...))
	}
	return nil
}

func tempFile(dir string) (*os.File, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, tmpPrefix+hex.EncodeToString(b[:])), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
