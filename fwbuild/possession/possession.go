// Package possession records which contents of the blob store each
// namespace has proved it holds, by uploading them itself. A delta plan
// may name by hash only content its namespace possesses: the store is
// shared, so without this record anyone who learns (or guesses) a hash
// would get another account's content into their build, and the plan's
// "missing" answer would tell which hashes others uploaded.
//
// Each namespace has a bounded set (the most recently added win), kept in
// memory and appended to a file of its own, <dir>/<digest of ns>.idx, of
// raw 32-byte hashes. Losing a record only costs an upload again.
package possession

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Index is the possession records of every namespace, in a directory.
type Index struct {
	dir string
	max int

	mu  sync.Mutex
	set map[string]*record // by namespace, loaded on first use
}

type record struct {
	seq  uint64
	held map[[sha256.Size]byte]uint64 // hash -> seq of its last Add
	size int                          // records in the file
}

// Open opens (creating it) the records in dir, each namespace's bounded to
// maxPerNamespace hashes.
func Open(dir string, maxPerNamespace int) (*Index, error) {
	if maxPerNamespace <= 0 {
		return nil, fmt.Errorf("possession: bound %d must be positive", maxPerNamespace)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("possession: %w", err)
	}
	return &Index{dir: dir, max: maxPerNamespace, set: map[string]*record{}}, nil
}

func (x *Index) file(ns string) string {
	d := sha256.Sum256([]byte(ns))
	return filepath.Join(x.dir, hex.EncodeToString(d[:16])+".idx")
}

// load returns ns's record, reading its file on first use. Call with mu.
func (x *Index) load(ns string) *record {
	if r := x.set[ns]; r != nil {
		return r
	}
	r := &record{held: map[[sha256.Size]byte]uint64{}}
	b, err := os.ReadFile(x.file(ns))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Unreadable: start empty; the namespace uploads again.
		b = nil
	}
	for len(b) >= sha256.Size {
		var h [sha256.Size]byte
		copy(h[:], b)
		b = b[sha256.Size:]
		r.seq++
		r.held[h] = r.seq
		r.size++
	}
	x.set[ns] = r
	return r
}

func decode(h string) ([sha256.Size]byte, bool) {
	var out [sha256.Size]byte
	if len(h) != 2*sha256.Size {
		return out, false
	}
	_, err := hex.Decode(out[:], []byte(h))
	return out, err == nil
}

// Lacks returns the hashes of hs that ns has not proved it holds, each
// once, in the order given.
func (x *Index) Lacks(ns string, hs []string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.load(ns)
	seen := map[string]bool{}
	var out []string
	for _, h := range hs {
		if seen[h] {
			continue
		}
		seen[h] = true
		if d, ok := decode(h); ok {
			if _, held := r.held[d]; held {
				continue
			}
		}
		out = append(out, h)
	}
	return out
}

// Add records that ns holds the contents hs (verified by the caller: each
// was received and hashed to its name).
func (x *Index) Add(ns string, hs ...string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.load(ns)
	var buf []byte
	for _, h := range hs {
		d, ok := decode(h)
		if !ok {
			return fmt.Errorf("possession: %q is not a sha256 hex digest", h)
		}
		r.seq++
		if _, held := r.held[d]; !held {
			buf = append(buf, d[:]...)
			r.size++
		}
		r.held[d] = r.seq
	}
	if len(r.held) > x.max || r.size > 2*x.max {
		return x.compact(ns, r)
	}
	if len(buf) == 0 {
		return nil
	}
	f, err := os.OpenFile(x.file(ns), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("possession: recording for %s: %w", ns, err)
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("possession: recording for %s: %w", ns, err)
	}
	return nil
}

// compact keeps the most recently added three quarters of the bound and
// rewrites ns's file with them, oldest first. Call with mu.
func (x *Index) compact(ns string, r *record) error {
	type held struct {
		h   [sha256.Size]byte
		seq uint64
	}
	all := make([]held, 0, len(r.held))
	for h, s := range r.held {
		all = append(all, held{h, s})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	if keep := x.max * 3 / 4; len(all) > keep {
		for _, e := range all[:len(all)-keep] {
			delete(r.held, e.h)
		}
		all = all[len(all)-keep:]
	}
	buf := make([]byte, 0, len(all)*sha256.Size)
	for _, e := range all {
		buf = append(buf, e.h[:]...)
	}
	r.size = len(all)
	p := x.file(ns)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return fmt.Errorf("possession: compacting the record of %s: %w", ns, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("possession: compacting the record of %s: %w", ns, err)
	}
	return nil
}
