package filetree

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/mongoose-os/mos/common/faultpoint"
)

// racyWindow: a file modified less than this before it was hashed may be
// modified again without its mtime changing (coarse timestamps), so its
// cached hash is not trusted. 2s covers FAT, the coarsest common case.
const racyWindow = 2 * time.Second

// HashCache remembers the SHA-256 of files by path, size, mtime (ns) and
// mode, like git's index, so List need not re-read unchanged files.
//
// The trade-off is git's: a file rewritten with the same size and mode
// whose mtime is then set back to the old value keeps its old (now wrong)
// hash. Hashes of files whose mtime was within 2 seconds of the moment
// they were hashed are never trusted, so quick successive edits are seen.
//
// Keys are absolute paths, so one cache can serve several roots. Save
// keeps only the entries List met since the cache was created or loaded:
// entries of vanished (or skipped) files are dropped. Safe for concurrent
// use.
type HashCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	seen    map[string]bool
}

type cacheEntry struct {
	Path     string      `json:"path"`
	Size     int64       `json:"size"`
	MtimeNs  int64       `json:"mtime_ns"`
	Mode     fs.FileMode `json:"mode"`
	SHA256   string      `json:"sha256"`
	HashedNs int64       `json:"hashed_ns"` // when reading started
}

type cacheFile struct {
	Version int          `json:"version"`
	Files   []cacheEntry `json:"files"`
}

const cacheVersion = 1

// NewHashCache returns an empty cache.
func NewHashCache() *HashCache {
	return &HashCache{entries: map[string]cacheEntry{}, seen: map[string]bool{}}
}

// LoadHashCache reads a cache saved by Save. A missing file gives an empty
// cache and no error. A malformed one gives an empty, usable cache and an
// error wrapping ErrBadIndex, which callers may just log.
func LoadHashCache(path string) (*HashCache, error) {
	c := NewHashCache()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading hash cache: %w", err)
	}
	var cf cacheFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return c, fmt.Errorf("hash cache %s: %w: %v", path, ErrBadIndex, err)
	}
	if cf.Version != cacheVersion {
		return c, fmt.Errorf("hash cache %s: %w: version %d, want %d", path, ErrBadIndex, cf.Version, cacheVersion)
	}
	for _, e := range cf.Files {
		if !validHash(e.SHA256) {
			return NewHashCache(), fmt.Errorf("hash cache %s: %w: bad sha256 for %q", path, ErrBadIndex, e.Path)
		}
		c.entries[e.Path] = e
	}
	return c, nil
}

// Save writes the entries met by List since the cache was created or
// loaded to path, atomically (temporary file renamed over it).
func (c *HashCache) Save(path string) error {
	c.mu.Lock()
	cf := cacheFile{Version: cacheVersion, Files: []cacheEntry{}}
	for p := range c.seen {
		if e, ok := c.entries[p]; ok {
			cf.Files = append(cf.Files, e)
		}
	}
	c.mu.Unlock()
	sort.Slice(cf.Files, func(i, j int) bool { return cf.Files[i].Path < cf.Files[j].Path })
	b, err := json.Marshal(cf)
	if err != nil {
		return err
	}
	faultpoint.Hit("hashcache.save")
	if err := WriteFileAtomic(path, b, 0o644, true); err != nil {
		return fmt.Errorf("saving hash cache: %w", err)
	}
	return nil
}

// Len returns the number of entries in the cache.
func (c *HashCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *HashCache) lookup(path string, fi fs.FileInfo) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[path] = true
	e, ok := c.entries[path]
	mtime := fi.ModTime().UnixNano()
	if !ok || e.Size != fi.Size() || e.MtimeNs != mtime || e.Mode != fi.Mode() {
		return "", false
	}
	if e.HashedNs-mtime < int64(racyWindow) {
		return "", false
	}
	return e.SHA256, true
}

func (c *HashCache) store(path string, fi fs.FileInfo, sum string, hashed time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[path] = true
	c.entries[path] = cacheEntry{
		Path: path, Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano(), Mode: fi.Mode(),
		SHA256: sum, HashedNs: hashed.UnixNano(),
	}
}
