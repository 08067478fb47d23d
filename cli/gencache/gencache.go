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
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
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
	// removeAll is os.RemoveAll when nil; tests inject one failing as
	// Windows file systems do.
	removeAll func(path string) error
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

// Names inside an entry dir; see the package comment.
const (
	keyFile     = "key.json"
	currentFile = "current" // names the live version
	versionPfx  = "v-"      // a version: a copy of build/gen
	legacyVer   = "gen"     // the version of entries written before versions
	tempPfx     = ".tmp-"   // being written; a leftover of a killed Save
	oldSavePfx  = ".new-"   // <id>.new-*: beside the entry, left by older mos
	verNameMax  = 64        // longest version name read from currentFile
)

// Save replaces the entry of k with a copy of genDir (regular files and
// dirs; symbolic links and special files are left out).
//
// Crash story: the copy is written as a new version dir that nothing
// names; a new currentFile is written beside the old one and renamed
// over it, which switches readers from the old version to the new one at
// once; then the old version is removed. Killed before the rename, the
// entry is the old one plus an unnamed version or temp file; killed after,
// it is the new one plus the old version: either way readers see one
// whole copy, and the next Save removes what is not named.
func (c *Cache) Save(k Key, genDir string) error {
	dir := c.entryDir(k)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	unlock, err := lock(dir+".lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	live, _ := liveVersion(dir)
	c.removeLeftovers(dir, live)

	ver, err := os.MkdirTemp(dir, versionPfx)
	if err != nil {
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	if err := copyTree(genDir, ver); err != nil {
		c.removeTree(ver)
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	faultpoint.Hit("gencache.copied")
	keyData, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, keyFile), append(keyData, '\n')); err != nil {
		c.removeTree(ver)
		return fmt.Errorf("saving %s to the gen cache: %w", genDir, err)
	}
	faultpoint.Hit("gencache.key")
	if err := writeFileAtomic(filepath.Join(dir, currentFile), []byte(filepath.Base(ver)+"\n")); err != nil {
		c.removeTree(ver)
		return fmt.Errorf("replacing gen cache entry %s: %w", dir, err)
	}
	faultpoint.Hit("gencache.switched")
	if live != "" {
		if err := c.removeTree(filepath.Join(dir, live)); err != nil {
			return fmt.Errorf("removing the old version of gen cache entry %s: %w", dir, err)
		}
	}
	return nil
}

// liveVersion is the name of the entry's version readers use: what
// currentFile names, else the legacy one when there; "" when none. The
// error is fs.ErrNotExist-wrapped when there is no entry.
func liveVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Lstat(filepath.Join(dir, legacyVer)); err == nil && fi.IsDir() {
			return legacyVer, nil
		}
		return "", fmt.Errorf("gen cache entry %s: %w", dir, fs.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("gen cache entry %s: %w", dir, err)
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, versionPfx) || len(name) > verNameMax || strings.ContainsAny(name, `/\:`) || name != filepath.Base(name) {
		return "", fmt.Errorf("gen cache entry %s: %s names %q, not a version", dir, currentFile, name)
	}
	return name, nil
}

// removeLeftovers removes, under the entry's exclusive lock, what killed
// or older runs left: in the entry dir everything but its key, pointer
// and live version; beside it the <id>.new-* dirs of older mos versions.
// Trouble is left for the next run.
func (c *Cache) removeLeftovers(dir, live string) {
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			switch n := e.Name(); {
			case n == keyFile, n == currentFile, n == live:
			case strings.HasPrefix(n, versionPfx), strings.HasPrefix(n, tempPfx), n == legacyVer:
				_ = c.removeTree(filepath.Join(dir, n))
			}
		}
	}
	parent, base := filepath.Split(dir)
	if ents, err := os.ReadDir(parent); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), base+oldSavePfx) {
				_ = c.removeTree(filepath.Join(parent, e.Name()))
			}
		}
	}
}

// removeTree removes p and everything below it (filetree.RemoveTree:
// plain deletes where the system's remove is not supported, as on wine
// and FAT).
func (c *Cache) removeTree(p string) error { return filetree.RemoveTree(p, c.removeAll) }

// writeFileAtomic writes data to a temp file beside path and renames it
// over path, so a reader sees the old content or the new, never a part.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), tempPfx+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
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
	live, err := liveVersion(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // removed meanwhile, or never completed
	}
	if err != nil {
		return 0, fmt.Errorf("restoring %s from the gen cache: %w", genDir, err)
	}
	n := 0
	src := filepath.Join(dir, live)
	err = walkFiles(src, func(rel string, fi fs.FileInfo) error {
		dst := filepath.Join(genDir, rel)
		if _, err := os.Lstat(dst); err == nil {
			return nil
		}
		if err := copyFile(filepath.Join(src, rel), dst, fi.Mode().Perm()); err != nil {
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
	live, err := liveVersion(dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, live, filepath.FromSlash(name)))
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
	// The pointer first: a Forget killed half-way leaves no entry, not
	// part of one.
	if err := os.Remove(filepath.Join(dir, currentFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forgetting gen cache entry %s: %w", dir, err)
	}
	if err := c.removeTree(dir); err != nil {
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
