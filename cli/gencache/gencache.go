package gencache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// DirName is the cache's dir below the mos dir.
const DirName = "remote-cache"

// Key names one cached build/gen.
type Key struct {
	Server   string `json:"server"`   // build server URL without user info
	AppDir   string `json:"app_dir"`  // absolute app dir
	Platform string `json:"platform"` // lower-case platform
	Context  string `json:"context"`  // --build-context NAME; "" when unnamed
}

// Cache is the cache under one mos dir. Nothing is created until something
// is saved.
type Cache struct {
	root string
}

// New returns the cache under mosDir (~/.mos).
func New(mosDir string) *Cache {
	return &Cache{root: filepath.Join(mosDir, DirName)}
}

// Dir is the cache's root dir.
func (c *Cache) Dir() string { return c.root }

func (k Key) id() string {
	data, _ := json.Marshal(k) // a struct of strings always marshals
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

func (c *Cache) entryDir(k Key) string { return filepath.Join(c.root, "gen", k.id()) }

// lock takes the entry's lock, shared or exclusive; the returned func
// releases it.
func lock(path string, shared bool) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	fl := flock.New(path)
	var err error
	if shared {
		err = fl.RLock()
	} else {
		err = fl.Lock()
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// Save replaces the entry of k with a copy of genDir (regular files and
// dirs; symbolic links and special files are left out).
func (c *Cache) Save(k Key, genDir string) error {
	dir := c.entryDir(k)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".new-")
	if err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(genDir, filepath.Join(tmp, "gen")); err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	keyData, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "key.json"), append(keyData, '\n'), 0o644); err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	unlock, err := lock(dir+".lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replacing gen cache entry %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("replacing gen cache entry %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing old gen cache entry: %w", err)
	}
	return nil
}

// Restore copies the cached build/gen of k into genDir, adding only files
// genDir does not have (nothing there is overwritten). It returns how many
// files it copied; 0 with a nil error when there is no entry.
func (c *Cache) Restore(k Key, genDir string) (int, error) {
	dir := c.entryDir(k)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	unlock, err := lock(dir+".lock", true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	n := 0
	err = walkFiles(filepath.Join(dir, "gen"), func(rel string, fi fs.FileInfo) error {
		dst := filepath.Join(genDir, rel)
		if _, err := os.Lstat(dst); err == nil {
			return nil
		}
		if err := copyFile(filepath.Join(dir, "gen", rel), dst, fi.Mode().Perm()); err != nil {
			return err
		}
		n++
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && n == 0 {
		return 0, nil // removed meanwhile
	}
	if err != nil {
		return n, fmt.Errorf("restoring %s from the gen cache: %w", genDir, err)
	}
	return n, nil
}

// ReadFile returns the content of file name (slash path) in the cached
// build/gen of k; an error wrapping fs.ErrNotExist when there is none.
func (c *Cache) ReadFile(k Key, name string) ([]byte, error) {
	dir := c.entryDir(k)
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	unlock, err := lock(dir+".lock", true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return os.ReadFile(filepath.Join(dir, "gen", filepath.FromSlash(name)))
}

// Forget deletes the entry of k. No entry is not an error.
func (c *Cache) Forget(k Key) error {
	dir := c.entryDir(k)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lock(dir+".lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("forgetting gen cache entry %s: %w", dir, err)
	}
	return nil
}

// walkFiles calls fn for every regular file below root with its relative
// path, skipping symbolic links and special files.
func walkFiles(root string, fn func(rel string, fi fs.FileInfo) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(rel, fi)
	})
}

// copyTree copies the regular files below src into the new dir dst.
func copyTree(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return walkFiles(src, func(rel string, fi fs.FileInfo) error {
		return copyFile(filepath.Join(src, rel), filepath.Join(dst, rel), fi.Mode().Perm())
	})
}

// copyFile copies src to a new file dst (parents made 0755), through a
// temporary file renamed into place.
func copyFile(src, dst string, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+strings.TrimPrefix(filepath.Base(dst), ".")+".tmp-")
	if err != nil {
		return err
	}
	tmp := out.Name()
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm|0o600)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
