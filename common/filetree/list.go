package filetree

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Entry describes one regular file of a tree.
type Entry struct {
	Path   string      `json:"path"`   // slash-separated, relative to the root
	Size   int64       `json:"size"`   // bytes
	Mode   fs.FileMode `json:"mode"`   // permission bits only
	SHA256 string      `json:"sha256"` // lower-case hex
}

// ListOptions controls List.
type ListOptions struct {
	// Skip reports whether a file or directory (slash path relative to the
	// root) is left out; true for a directory leaves out all below it. nil
	// lists everything. SkipNames builds a common one.
	Skip func(path string, d fs.DirEntry) bool
	// Irregular is told about every symbolic link and special file (never
	// followed, never listed). A non-nil return aborts List with that
	// error. nil: they are left out silently.
	Irregular func(path string, mode fs.FileMode) error
	// Cache, if set, supplies hashes of files whose size, mtime and mode
	// are unchanged since they were hashed, and learns the others.
	Cache *HashCache
}

// SkipNames returns a ListOptions.Skip that leaves out every file or
// directory with one of these base names at any depth (e.g. "build",
// ".git").
func SkipNames(names ...string) func(path string, d fs.DirEntry) bool {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return func(_ string, d fs.DirEntry) bool { return set[d.Name()] }
}

// List returns the regular files below root, sorted by path, with size,
// permission bits and SHA-256. Symbolic links are never followed. Files
// are hashed on all CPUs: a build dir's firmware and ELF are tens of MB.
func List(root string, opts ListOptions) ([]Entry, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	var todo []string // slash paths relative to abs
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == abs {
			if !d.IsDir() {
				return fmt.Errorf("%w: not a directory", fs.ErrInvalid)
			}
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if opts.Skip != nil && opts.Skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case !t.IsRegular():
			if opts.Irregular != nil {
				if err := opts.Irregular(rel, t); err != nil {
					return fmt.Errorf("%s: %w", rel, err)
				}
			}
			return nil
		}
		todo = append(todo, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	out := make([]Entry, len(todo))
	errs := make([]error, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = listFile(filepath.Join(abs, filepath.FromSlash(todo[i])), todo[i], opts.Cache)
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil { // the first in path order
			return nil, fmt.Errorf("listing %s: %w", root, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// listFile describes one regular file, from the cache when it can.
func listFile(p, rel string, cache *HashCache) (Entry, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return Entry{}, err
	}
	if cache != nil {
		if sum, ok := cache.lookup(p, fi); ok {
			return Entry{Path: rel, Size: fi.Size(), Mode: fi.Mode().Perm(), SHA256: sum}, nil
		}
	}
	started := time.Now()
	f, err := openRegular(p)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return Entry{}, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Entry{}, fmt.Errorf("hashing %s: %w", rel, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if cache != nil && n == fi.Size() {
		cache.store(p, fi, sum, started)
	}
	return Entry{Path: rel, Size: n, Mode: fi.Mode().Perm(), SHA256: sum}, nil
}

// openRegular opens path without following a final symbolic link and
// checks that it is a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Describe lists the one regular file at path under the name rel, from
// cache when it can (nil: always hashed). Callers that pick files one by
// one (an upload assembled from several roots) use it instead of List.
func Describe(path, rel string, cache *HashCache) (Entry, error) {
	return listFile(path, rel, cache)
}
