//go:build !windows

package filetree

import "errors"

// RemoveUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func RemoveUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported)
}
