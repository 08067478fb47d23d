package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/mongoose-os/mos/cli/execbits"
	"github.com/mongoose-os/mos/common/archive"
)

// upFile is one file of the upload: a file on disk or bytes in memory,
// under a slash name, with the mode the server gets.
type upFile struct {
	name string
	path string // disk path; "" when data is used
	data []byte
	mode fs.FileMode
	size int64
}

// upTree is the upload as a virtual tree: nothing is copied, the zip is
// written from it.
type upTree struct {
	files map[string]*upFile
	bytes int64
}

// collector fills an upTree from dirs on disk.
type collector struct {
	ctx   context.Context
	tree  *upTree
	modes *execbits.Resolver
	logf  func(format string, args ...any)
}

func newUpTree() *upTree { return &upTree{files: map[string]*upFile{}} }

// addData adds an in-memory file.
func (t *upTree) addData(name string, data []byte, mode fs.FileMode) {
	t.files[name] = &upFile{name: name, data: data, mode: mode, size: int64(len(data))}
	t.bytes += int64(len(data))
}

// addDir adds the regular files below root under prefix ("" for the
// top level), skipping .git at any depth, symbolic links and special files
// (with a log line), names that cannot be zip entries (with a log line),
// and whatever skip rejects (slash path relative to root). A name already
// in the tree is kept and the new file skipped with a log line.
func (c *collector) addDir(root, prefix, what string, skip func(rel string, isDir bool) bool) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", what, err)
	}
	return filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("uploading %s: %w", what, err)
		}
		if p == real {
			if !d.IsDir() {
				return fmt.Errorf("uploading %s: %s is not a directory", what, root)
			}
			return nil
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		isDir := d.IsDir()
		if d.Name() == ".git" || (skip != nil && skip(rel, isDir)) {
			if isDir {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case isDir:
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			c.logf("Skipping symbolic link %s", p)
			return nil
		case !d.Type().IsRegular():
			c.logf("Skipping special file %s", p)
			return nil
		}
		name := slashJoin(prefix, rel)
		if err := archive.CheckName(name); err != nil {
			c.logf("Skipping %s: %v", p, err)
			return nil
		}
		if prev, ok := c.tree.files[name]; ok {
			c.logf("Skipping %s: %s is already uploaded from %s", p, name, prev.source())
			return nil
		}
		m, err := c.modes.Mode(p)
		if err != nil {
			return fmt.Errorf("uploading %s: %w", what, err)
		}
		if m.Source == execbits.Symlink {
			c.logf("Skipping %s: git tracks it as a symbolic link", p)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("uploading %s: %w", what, err)
		}
		if m.Perm&0o111 != 0 {
			data, converted, err := scriptWithLF(p)
			if err != nil {
				return fmt.Errorf("uploading %s: %w", what, err)
			}
			if converted {
				c.logf("Uploading %s with LF line ends (it has CRLF, as a Windows checkout writes it; its #! line would fail on the server)", p)
				c.tree.addData(name, data, m.Perm)
				return nil
			}
		}
		c.tree.files[name] = &upFile{name: name, path: p, mode: m.Perm, size: fi.Size()}
		c.tree.bytes += fi.Size()
		return nil
	})
}

// scriptWithLF reads an executable file whose #! line ends in CRLF (what
// git's core.autocrlf=true checks out on Windows) and returns it with LF
// line ends, as the repository holds it: on the Linux server the kernel
// would look for an interpreter named "python3\r". Any other file is
// left alone (converted false), read no further than its first line.
func scriptWithLF(path string) (data []byte, converted bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	head = head[:n]
	nl := bytes.IndexByte(head, '\n')
	if !bytes.HasPrefix(head, []byte("#!")) || nl < 1 || head[nl-1] != '\r' {
		return nil, false, nil
	}
	rest, err := io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	return bytes.ReplaceAll(append(head, rest...), []byte("\r\n"), []byte("\n")), true, nil
}

func (f *upFile) source() string {
	if f.path == "" {
		return "memory"
	}
	return f.path
}

// sorted returns the files by name, or an error when a name is both a file
// and a directory.
func (t *upTree) sorted() ([]*upFile, error) {
	out := make([]*upFile, 0, len(t.files))
	for _, f := range t.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for _, f := range out {
		for i := 0; i < len(f.name); i++ {
			if f.name[i] != '/' {
				continue
			}
			if other, ok := t.files[f.name[:i]]; ok {
				return nil, fmt.Errorf("upload: %q is a file (from %s) and a directory holding %s", f.name[:i], other.source(), f.source())
			}
		}
	}
	return out, nil
}

// appSkip is the filter for the app dir: excluded paths, and only what the
// whitelist covers or leads to.
func appSkip(pl *plan) func(rel string, isDir bool) bool {
	return func(rel string, isDir bool) bool {
		if pl.exclude[rel] {
			return true
		}
		if pl.whitelist.covers(rel, isDir) {
			return false
		}
		return !(isDir && pl.whitelist.leadsTo(rel))
	}
}
