package buildctx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mongoose-os/mos/common/filetree"
)

// A new context can start as a copy of another one of the same app and
// platform (fwbuild/adopt picks which): its upload then syncs onto files
// and objects that are mostly right already, and make compiles only what
// differs. This file has the primitives: listing the contexts of a key,
// locking one without waiting, and copying one into another.

// Names lists the context names of key that have an index (those that can
// be copied or built upon), in no particular order.
func (s *Store) Names(key Key) ([]string, error) {
	if err := key.Check(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.ContextsDir(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".index.json")
		if ok && CheckName(n) == nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// TryLock takes the lock of context name of key if nobody holds it; ok is
// false when someone does.
func (s *Store) TryLock(key Key, name string) (c *Context, ok bool, err error) {
	if err := key.Check(); err != nil {
		return nil, false, err
	}
	if err := CheckName(name); err != nil {
		return nil, false, err
	}
	c = &Context{Key: key, Name: name, Dir: filepath.Join(s.ContextsDir(key), name), store: s}
	lf, ok, err := tryLockFile(c.LockPath())
	if err != nil || !ok {
		return nil, false, err
	}
	c.lock = lf
	return c, true, nil
}

// Index returns the listing of the upload last synced into the context.
func (c *Context) Index() ([]filetree.Entry, error) { return filetree.ReadIndex(c.IndexFile()) }

// Trusted says whether the context may be built upon, or copied: its last
// update and build finished (state.go), it is not marked dirty and it has
// an index. why says why not.
func (c *Context) Trusted() (ok bool, why string) {
	if c.Dirty() {
		return false, "marked dirty"
	}
	if why := c.untrusted(); why != "" {
		return false, why
	}
	if _, err := os.Stat(c.IndexFile()); err != nil {
		return false, "no index"
	}
	return true, ""
}

// IsNew reports whether the context holds nothing yet (no dir, or an
// empty one as NewName makes), so that it may start as a copy.
func (c *Context) IsNew() bool {
	empty, err := emptyDir(c.Dir)
	return errors.Is(err, fs.ErrNotExist) || (err == nil && empty)
}

// CopyFrom makes the new context c a copy of src (both locked): src's dir
// with every file's mode and mtime (so make sees its objects as up to date
// as they were), its index, and a state record saying c may be built upon.
// Files are cloned where the file system can (reflinks), else copied;
// never hard-linked, which a build could write through. Links inside src
// are copied as links; nothing outside src is read. On error c is left
// marked dirty (its next update starts it afresh). It returns the files
// copied.
func (c *Context) CopyFrom(src *Context) (files int, err error) {
	if !c.IsNew() {
		return 0, fmt.Errorf("context %s: not new, cannot become a copy of %s", c.Name, src.Name)
	}
	if err := c.markDirty("being copied from " + src.Name); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return 0, err
	}
	sr, err := os.OpenRoot(src.Dir)
	if err != nil {
		return 0, fmt.Errorf("copying context %s: %w", src.Name, err)
	}
	defer sr.Close()
	if err := os.Mkdir(c.Dir, 0o755); err != nil {
		return 0, err
	}
	dr, err := os.OpenRoot(c.Dir)
	if err != nil {
		return 0, err
	}
	defer dr.Close()
	type dirTime struct {
		rel string
		fi  fs.FileInfo
	}
	var dirs []dirTime
	err = fs.WalkDir(sr.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := sr.Lstat(rel)
		if err != nil {
			return err
		}
		switch {
		case rel == ".":
			dirs = append(dirs, dirTime{rel, fi})
			return nil
		case fi.IsDir():
			if err := dr.Mkdir(rel, fi.Mode().Perm()|0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirTime{rel, fi})
			return nil
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := sr.Readlink(rel)
			if err != nil {
				return err
			}
			return dr.Symlink(target, rel)
		case fi.Mode().IsRegular():
			if err := copyFileIn(sr, dr, rel, fi); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			files++
			return nil
		}
		return nil // sockets, fifos: nothing a build needs again
	})
	if err != nil {
		return files, fmt.Errorf("copying context %s into %s: %w", src.Name, c.Name, err)
	}
	// Dir mtimes last, deepest first: creating entries moved them.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = dr.Chmod(dirs[i].rel, dirs[i].fi.Mode().Perm())
		_ = dr.Chtimes(dirs[i].rel, dirs[i].fi.ModTime(), dirs[i].fi.ModTime())
	}
	idx, err := src.Index()
	if err != nil {
		return files, fmt.Errorf("copying context %s: %w", src.Name, err)
	}
	if err := filetree.WriteIndex(c.IndexFile(), idx); err != nil {
		return files, err
	}
	if err := c.Done(); err != nil {
		return files, err
	}
	if err := os.Remove(c.DirtyFile()); err != nil {
		return files, err
	}
	return files, nil
}

// copyFileIn copies the regular file rel of sr to dr, with fi's mode and
// times.
func copyFileIn(sr, dr *os.Root, rel string, fi fs.FileInfo) error {
	in, err := sr.OpenFile(rel, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dr.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	if !cloneFile(out, in) {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return dr.Chtimes(rel, fi.ModTime(), fi.ModTime())
}
