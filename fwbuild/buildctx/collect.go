package buildctx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// CollectOptions bounds the contexts of a Store.
type CollectOptions struct {
	// TTL: a context not used for longer is removed (0: no age limit).
	TTL time.Duration
	// MaxSize: while the contexts together take more bytes, the least
	// recently used are removed (0: no size limit).
	MaxSize int64
	// OwnerTTL: the owner record of a removed context is kept this long
	// after the context's last use, so that its name stays its
	// namespace's (0: kept for ever).
	OwnerTTL time.Duration
	// MinFree: while Free (the free bytes on the volumes; negative:
	// unknown) returns less, the least recently used contexts are
	// removed (0 or no Free: no floor).
	MinFree int64
	Free    func() int64
	// Quota: while the contexts of a namespace (their Owner) take more
	// bytes than Quota returns for it, its least recently used are
	// removed (nil, or 0 for a namespace: no quota).
	Quota func(ns string) int64
	// Now is the time to judge ages by (zero: time.Now()).
	Now time.Time
}

// CollectStats says what a Collect pass saw and did.
type CollectStats struct {
	Contexts  int   // contexts found
	Bytes     int64 // their size before removals
	Removed   []string
	Freed     int64
	Skipped   int // over a limit but locked (building, or waited for)
	Remaining int64
	// OwnersExpired are the owner records of removed contexts dropped
	// after OwnerTTL: those names are free again.
	OwnersExpired []string
}

// ContextInfo describes one context on disk.
type ContextInfo struct {
	Key     Key
	Name    string
	Dir     string
	LastUse time.Time
	Size    int64 // bytes of its files, metadata included

	lockSeen bool // LastUse is the lock file's mtime, not the dir's
}

// sizeCache remembers context sizes by last use: a context changes only
// while it is used, and every use moves its last-use time.
type sizeCache struct {
	mu sync.Mutex
	m  map[string]sizeEntry
}

type sizeEntry struct {
	lastUse time.Time
	size    int64
}

func (sc *sizeCache) get(dir string, lastUse time.Time) (int64, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	e, ok := sc.m[dir]
	return e.size, ok && e.lastUse.Equal(lastUse)
}

func (sc *sizeCache) put(dir string, lastUse time.Time, size int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = map[string]sizeEntry{}
	}
	sc.m[dir] = sizeEntry{lastUse, size}
}

func (sc *sizeCache) drop(dir string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.m, dir)
}

// List returns every context under the volumes dir with its last use
// (the mtime of its lock file, else of its dir) and size.
func (s *Store) List() ([]ContextInfo, error) {
	infos, _, err := s.listAll()
	return infos, err
}

// listAll lists every context, and the owner records of removed ones.
func (s *Store) listAll() ([]ContextInfo, []string, error) {
	var out []ContextInfo
	var owners []string
	versions, err := os.ReadDir(s.root)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range versions {
		if !v.IsDir() || CheckVersion(v.Name()) != nil {
			continue
		}
		apps, _ := os.ReadDir(filepath.Join(s.root, v.Name(), "apps"))
		for _, a := range apps {
			platforms, _ := os.ReadDir(filepath.Join(s.root, v.Name(), "apps", a.Name()))
			for _, p := range platforms {
				key := Key{Version: v.Name(), App: a.Name(), Platform: p.Name()}
				if key.Check() != nil {
					continue
				}
				infos, own, err := s.listContextsAndOwners(key)
				if err != nil {
					return nil, nil, err
				}
				out = append(out, infos...)
				owners = append(owners, own...)
			}
		}
	}
	return out, owners, nil
}

// metaSuffixes are the files beside a context dir. Removing a context
// keeps its .owner (ownerSuffix): the name stays its namespace's. The lock
// file goes last (see remove); ".sent" is a dir.
var metaSuffixes = []string{".index.json", ".dirty", ".state", ".output.log", ownerSuffix, ".sent", ".lock"}

const ownerSuffix = ".owner"

func (s *Store) listContexts(key Key) ([]ContextInfo, error) {
	infos, _, err := s.listContextsAndOwners(key)
	return infos, err
}

// listContextsAndOwners lists the contexts of key and, apart, the owner
// records left by removed contexts (paths of the .owner files).
func (s *Store) listContextsAndOwners(key Key) ([]ContextInfo, []string, error) {
	dir := s.ContextsDir(key)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{} // true: more than an owner record
	for _, e := range entries {
		n := e.Name()
		for _, suf := range metaSuffixes {
			n = strings.TrimSuffix(n, suf)
		}
		if CheckName(n) == nil {
			names[n] = names[n] || e.Name() != n+ownerSuffix
		}
	}
	var out []ContextInfo
	var owners []string
	for n, more := range names {
		if !more {
			owners = append(owners, filepath.Join(dir, n+ownerSuffix))
			continue
		}
		ci := ContextInfo{Key: key, Name: n, Dir: filepath.Join(dir, n)}
		if fi, err := os.Lstat(ci.Dir + ".lock"); err == nil {
			ci.LastUse, ci.lockSeen = fi.ModTime(), true
		} else if fi, err := os.Lstat(ci.Dir); err == nil {
			ci.LastUse = fi.ModTime()
		}
		size, ok := s.sizes.get(ci.Dir, ci.LastUse)
		if !ok {
			size = treeSize(ci.Dir)
			for _, suf := range metaSuffixes {
				if fi, err := os.Lstat(ci.Dir + suf); err == nil {
					if fi.IsDir() {
						size += treeSize(ci.Dir + suf)
					} else {
						size += fi.Size()
					}
				}
			}
			s.sizes.put(ci.Dir, ci.LastUse, size)
		}
		ci.Size = size
		out = append(out, ci)
	}
	return out, owners, nil
}

// treeSize adds up the sizes of the files under dir (links not followed).
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && !d.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// Collect removes contexts not used for opts.TTL, then the least recently
// used ones while all of them take more than opts.MaxSize, those of a
// namespace over its opts.Quota, or while free disk is under
// opts.MinFree. A context whose
// lock is held (building, syncing, or an orphaned build of a dead server
// still running) is never removed, nor one used after it was listed.
func (s *Store) Collect(opts CollectOptions) (CollectStats, error) {
	var st CollectStats
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	infos, owners, err := s.listAll()
	if err != nil {
		return st, fmt.Errorf("listing contexts: %w", err)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].LastUse.Before(infos[j].LastUse) })
	st.Contexts = len(infos)
	for _, ci := range infos {
		st.Bytes += ci.Size
	}
	total := st.Bytes
	owner := make([]string, len(infos))
	usage := map[string]int64{}
	if opts.Quota != nil {
		for i, ci := range infos {
			owner[i] = ci.Owner()
			usage[owner[i]] += ci.Size
		}
	}
	var errs []error
	for i, ci := range infos {
		old := opts.TTL > 0 && now.Sub(ci.LastUse) > opts.TTL
		big := opts.MaxSize > 0 && total > opts.MaxSize
		overQuota := false
		if opts.Quota != nil {
			q := opts.Quota(owner[i])
			overQuota = q > 0 && usage[owner[i]] > q
		}
		if !old && !big && !overQuota && !lowOnDisk(opts) {
			continue
		}
		removed, err := s.remove(ci)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !removed:
			st.Skipped++
		default:
			st.Removed = append(st.Removed, ci.Key.String()+"/"+ci.Name)
			st.Freed += ci.Size
			total -= ci.Size
			usage[owner[i]] -= ci.Size
		}
	}
	st.Remaining = total
	if opts.OwnerTTL > 0 {
		for _, p := range owners {
			// The record's mtime is the context's last claim (Claim
			// touches it on every use).
			fi, err := os.Lstat(p)
			if err != nil || now.Sub(fi.ModTime()) <= opts.OwnerTTL {
				continue
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("dropping expired owner record: %w", err))
				continue
			}
			st.OwnersExpired = append(st.OwnersExpired, strings.TrimSuffix(p, ownerSuffix))
		}
	}
	return st, errors.Join(errs...)
}

// lowOnDisk reports whether free disk is under opts.MinFree now.
func lowOnDisk(opts CollectOptions) bool {
	if opts.MinFree <= 0 || opts.Free == nil {
		return false
	}
	free := opts.Free()
	return free >= 0 && free < opts.MinFree
}

// remove deletes one context with its metadata if its lock is free and
// it was not used since it was listed; the lock file goes last, while
// held (a waiter on it then locks a new one, see tryLockFile).
func (s *Store) remove(ci ContextInfo) (bool, error) {
	lockPath := ci.Dir + ".lock"
	lf, ok, err := tryLockFile(lockPath)
	if err != nil {
		return false, fmt.Errorf("context %s of %s: %w", ci.Name, ci.Key, err)
	}
	if !ok {
		return false, nil
	}
	defer lf.unlock()
	// Used since it was listed? A use moves the lock file's mtime; a
	// context never locked (a dir NewName just made) has its dir's.
	seen := ci.Dir
	if ci.lockSeen {
		seen = lockPath
	}
	if fi, err := os.Lstat(seen); err == nil && !fi.ModTime().Equal(ci.LastUse) {
		return false, nil
	}
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("removing context %s of %s: %w", ci.Name, ci.Key, err)
	}
	// The dirty marker first: a removal cut short leaves a context that
	// starts afresh.
	if err := os.WriteFile(ci.Dir+".dirty", []byte("being removed\n"), 0o644); err != nil {
		return fail(err)
	}
	if err := os.RemoveAll(ci.Dir); err != nil {
		return fail(err)
	}
	for _, suf := range metaSuffixes {
		if suf == ownerSuffix {
			continue // the name stays its namespace's (OwnerTTL)
		}
		if err := os.RemoveAll(ci.Dir + suf); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
	}
	s.sizes.drop(ci.Dir)
	return true, nil
}

// Owner is the namespace recorded beside the context ("user:alice",
// "team:fw"); "" for one of the anonymous namespace or when it cannot be
// read (the status page shows it; access checks use Context.Owner).
func (ci ContextInfo) Owner() string {
	b, err := os.ReadFile(ci.Dir + ".owner")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
