//go:build !windows

package remote

import (
	"errors"
	"io/fs"
)

// removeUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func removeUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported)
}

// modeMatters says a kept file's mode on disk, have, differs from the
// result's, want, in a way this system keeps.
func modeMatters(have, want fs.FileMode) bool { return have.Perm() != want.Perm() }
