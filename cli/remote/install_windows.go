package remote

import (
	"errors"
	"io/fs"
	"syscall"
)

// errInvalidFunction is ERROR_INVALID_FUNCTION, what wine, FAT/exFAT and
// some network drives answer to the POSIX-style delete of os.Root and
// os.RemoveAll.
const errInvalidFunction = syscall.Errno(1)

// removeUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func removeUnsupported(err error) bool {
	return errors.Is(err, errInvalidFunction) || errors.Is(err, errors.ErrUnsupported)
}

// modeMatters: Windows keeps no permission bits (but read-only), so a
// kept file's mode never needs correcting.
func modeMatters(have, want fs.FileMode) bool { return false }
