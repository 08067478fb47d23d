package filetree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RealDirs makes sure that none of the slash paths rels under root, nor
// any dir on the way down to them, is a link or another non-directory: a
// build can replace its own build/ with a link to another context (or to
// the volumes dir), which the server and mos, writing and removing there
// outside the sandbox, would otherwise follow. Each such entry is removed
// (a link itself, never what it names) and returned, as a slash path; a
// missing path is fine. root itself is trusted.
func RealDirs(root string, rels ...string) (removed []string, err error) {
	seen := map[string]bool{}
	for _, rel := range rels {
		comps := strings.Split(rel, "/")
		for i := range comps {
			sub := strings.Join(comps[:i+1], "/")
			if seen[sub] {
				continue
			}
			seen[sub] = true
			p := filepath.Join(root, filepath.FromSlash(sub))
			fi, err := os.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return removed, err
			}
			if fi.IsDir() {
				continue
			}
			if err := os.Remove(p); err != nil {
				return removed, fmt.Errorf("removing %s (a %s where a dir belongs): %w", p, kind(fi.Mode()), err)
			}
			removed = append(removed, sub)
			break
		}
	}
	return removed, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "link"
	case m.IsRegular():
		return "file"
	}
	return m.Type().String()
}
