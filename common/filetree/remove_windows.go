package filetree

import (
	"errors"
	"syscall"
)

// ErrInvalidFunction is ERROR_INVALID_FUNCTION, what wine, FAT/exFAT and
// some network drives answer to the POSIX-style delete of os.Root and
// os.RemoveAll.
const ErrInvalidFunction = syscall.Errno(1)

// RemoveUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func RemoveUnsupported(err error) bool {
	return errors.Is(err, ErrInvalidFunction) || errors.Is(err, errors.ErrUnsupported)
}
