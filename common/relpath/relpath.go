// Package relpath checks untrusted relative slash paths (zip entry names,
// listing paths sent by a peer) before they are joined under a root.
package relpath

import (
	"errors"
	"path/filepath"
	"strings"
)

// Check returns nil if p is a clean relative slash path that names a file
// below a root on this system, else an error saying why: empty, a
// backslash or NUL, absolute, a drive letter ("C:"), an empty, "." or ".."
// component, or not a valid file name here (on Windows: ':' or reserved
// names such as NUL). Paths are never rewritten to make them acceptable.
func Check(p string) error {
	switch {
	case p == "":
		return errors.New("empty name")
	case strings.ContainsRune(p, '\\'):
		return errors.New("contains a backslash")
	case strings.ContainsRune(p, 0):
		return errors.New("contains a NUL byte")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute path")
	case HasDriveLetter(p):
		return errors.New("starts with a drive letter")
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "..":
			return errors.New(`".." component escapes the destination`)
		case ".":
			return errors.New(`"." component`)
		case "":
			return errors.New("empty component")
		}
	}
	if _, err := filepath.Localize(p); err != nil {
		return errors.New("not a valid file name on this system")
	}
	return nil
}

// HasDriveLetter reports a first component like "C:" or "c:foo", which
// Windows reads as a drive (absolute or drive-relative).
func HasDriveLetter(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20
	return c >= 'a' && c <= 'z'
}
