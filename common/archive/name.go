package archive

import (
	"fmt"
	"path/filepath"
	"strings"
)

// CheckName reports whether name can be an entry name: slash-separated,
// relative, no backslash, no drive letter, no empty, "." or ".." component,
// and representable as a file name on this system (on Windows: no ':', no
// reserved names such as NUL or COM1). The error wraps ErrUnsafeName and
// says why. Names are never rewritten to make them acceptable.
func CheckName(name string) error {
	if reason := unsafeReason(name); reason != "" {
		return fmt.Errorf("%w: %s", ErrUnsafeName, reason)
	}
	return nil
}

func unsafeReason(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.ContainsRune(name, '\\'):
		return "contains a backslash"
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case hasDriveLetter(name):
		return "starts with a drive letter"
	}
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "..":
			return `".." component escapes the destination`
		case ".":
			return `"." component`
		case "":
			return "empty component"
		}
	}
	if _, err := filepath.Localize(name); err != nil {
		return "not a valid file name on this system"
	}
	return ""
}

// hasDriveLetter reports a first component like "C:" or "c:foo", which
// Windows reads as a drive (absolute or drive-relative).
func hasDriveLetter(name string) bool {
	if len(name) < 2 || name[1] != ':' {
		return false
	}
	c := name[0] | 0x20
	return c >= 'a' && c <= 'z'
}
