//go:build !windows

package remote

import (
	"io/fs"
)

// modeMatters says a kept file's mode on disk, have, differs from the
// result's, want, in a way this system keeps.
func modeMatters(have, want fs.FileMode) bool { return have.Perm() != want.Perm() }
