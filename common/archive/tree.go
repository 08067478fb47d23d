package archive

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// TreeOptions says which files AddTree packs and how.
type TreeOptions struct {
	// Prefix goes before every entry name, e.g. "build/" when packing a
	// context's build dir. Empty or a valid name ending in "/".
	Prefix string
	// Keep reports whether the file or directory with this entry name
	// (Prefix included, no trailing slash) is packed; false for a directory
	// skips everything below it. nil keeps everything.
	Keep func(name string, isDir bool) bool
	// Store reports whether a file is stored rather than compressed with
	// the Writer's Method (e.g. names ending in ".zip"). nil: never.
	Store func(name string) bool
	// Skipped is told about each symbolic link or special file met; those
	// are never packed nor followed. nil: they are skipped silently.
	Skipped func(name string, mode fs.FileMode)
}

// AddTree adds every regular file below dir, in lexical order, named
// Prefix + its slash path relative to dir, with its permission bits on
// disk. A file whose relative path is not a valid entry name (e.g. one with
// a backslash in it on Unix) stops the packing with an *EntryError: names
// are never altered. Stats.Dirs is always 0: no directory entries are
// written, as in stock archives.
func (w *Writer) AddTree(dir string, opts TreeOptions) (Stats, error) {
	var st Stats
	if opts.Prefix != "" {
		if !strings.HasSuffix(opts.Prefix, "/") {
			return st, fmt.Errorf("packing %s: prefix %q must end in \"/\"", dir, opts.Prefix)
		}
		if err := CheckName(strings.TrimSuffix(opts.Prefix, "/")); err != nil {
			return st, fmt.Errorf("packing %s: prefix %q: %w", dir, opts.Prefix, err)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			if !d.IsDir() {
				return fmt.Errorf("%w: not a directory", ErrFileType)
			}
			return nil
		}
		name := opts.Prefix + filepath.ToSlash(rel)
		switch t := d.Type(); {
		case t.IsDir():
			if opts.Keep != nil && !opts.Keep(name, true) {
				return filepath.SkipDir
			}
			return nil
		case !t.IsRegular():
			if opts.Skipped != nil {
				opts.Skipped(name, t)
			}
			return nil
		}
		if opts.Keep != nil && !opts.Keep(name, false) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		saved := w.Method
		if opts.Store != nil && opts.Store(name) {
			w.Method = Store
		}
		err = w.AddFileFromDisk(name, p, fi.Mode().Perm())
		w.Method = saved
		if err != nil {
			return err
		}
		st.Files++
		st.Bytes += fi.Size()
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("packing %s: %w", dir, err)
	}
	return st, nil
}

// ResultFilter is the stock server's choice of what goes back to the client
// from a context's build dir, as a TreeOptions.Keep: everything except
// build/objs/, of which only the files directly in it whose names end in
// ".elf" (the firmware ELF) are kept.
func ResultFilter(name string, isDir bool) bool {
	const objs = "build/objs/"
	if !strings.HasPrefix(name, objs) {
		return true
	}
	rest := name[len(objs):]
	if isDir || strings.Contains(rest, "/") {
		return false
	}
	return path.Ext(rest) == ".elf"
}
