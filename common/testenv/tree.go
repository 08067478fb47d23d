package testenv

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tree describes files by slash path relative to a root. A path ending in
// "/" is an empty dir.
type Tree map[string]File

// File is one file of a Tree. Mode 0 means 0644.
type File struct {
	Content string
	Mode    os.FileMode
}

// T is the part of testing.TB these helpers use, so their own tests can
// prove that they fail on a mismatch.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// WriteTree creates tree under dir.
func WriteTree(t T, dir string, tree Tree) {
	t.Helper()
	for p, f := range tree {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatalf("WriteTree: %v", err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatalf("WriteTree: %v", err)
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(full, []byte(f.Content), mode); err != nil {
			t.Fatalf("WriteTree: %v", err)
		}
		// WriteFile's mode is filtered by the umask; tests mean the exact bits.
		if err := os.Chmod(full, mode); err != nil {
			t.Fatalf("WriteTree: %v", err)
		}
	}
}

// ReadTree reads every regular file under dir (empty dirs as "d/").
func ReadTree(t T, dir string) Tree {
	t.Helper()
	tree := Tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." {
				ents, err := os.ReadDir(p)
				if err != nil {
					return err
				}
				if len(ents) == 0 {
					tree[rel+"/"] = File{}
				}
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tree[rel] = File{Content: string(b), Mode: info.Mode().Perm()}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadTree %s: %v", dir, err)
	}
	return tree
}

// CheckTree fails t unless dir holds exactly want (content and, where want
// gives one, mode).
func CheckTree(t T, dir string, want Tree) {
	t.Helper()
	got := ReadTree(t, dir)
	var problems []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: missing", p))
		case g.Content != w.Content:
			problems = append(problems, fmt.Sprintf("%s: content %q, want %q", p, g.Content, w.Content))
		case w.Mode != 0 && g.Mode != w.Mode:
			problems = append(problems, fmt.Sprintf("%s: mode %v, want %v", p, g.Mode, w.Mode))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			problems = append(problems, fmt.Sprintf("%s: unexpected", p))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("tree %s differs:\n  %s", dir, strings.Join(problems, "\n  "))
	}
}

// SameBytes is a small helper for byte comparisons in tree tests.
func SameBytes(a, b []byte) bool { return bytes.Equal(a, b) }

// CopyDir copies the tree at src to dst (regular files and dirs, modes
// kept; symlinks are copied as links), for tests that change a copy of the
// repo's examples.
func CopyDir(t T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, b, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("CopyDir %s: %v", src, err)
	}
}
