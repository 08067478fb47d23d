package runner

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// dockerPath turns C:\a\b into /c/a/b, the form Docker on Windows mounts.
func dockerPath(p string) string {
	p = filepath.ToSlash(p)
	if len(p) >= 2 && p[1] == ':' {
		p = "/" + strings.ToLower(p[:1]) + p[2:]
	}
	return p
}

// inode: none on Windows; size and time tell a changed file.
func inode(fs.FileInfo) uint64 { return 0 }
