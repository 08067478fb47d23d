//go:build !windows

package gencache

import "errors"

// removeUnsupported says err is a file system refusing the kind of
// delete, not a file that cannot be deleted.
func removeUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported)
}
