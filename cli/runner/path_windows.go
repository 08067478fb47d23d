package runner

import (
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
