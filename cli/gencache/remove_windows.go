package gencache

import (
	"errors"
	"syscall"
)

// errInvalidFunction is ERROR_INVALID_FUNCTION, what wine, FAT/exFAT and
// some network drives answer to the POSIX-style delete of os.RemoveAll.
const errInvalidFunction = syscall.Errno(1)

// removeUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func removeUnsupported(err error) bool {
	return errors.Is(err, errInvalidFunction) || errors.Is(err, errors.ErrUnsupported)
}
