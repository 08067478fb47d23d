package filetree

import (
	"errors"
	"fmt"

	"github.com/mongoose-os/mos/common/relpath"
)

// Sentinels wrapped by the errors of this package; test with errors.Is.
var (
	// ErrBadPath: a listing holds a path that is not a clean relative
	// slash path (empty, absolute, drive letter, backslash, "." or ".."
	// or empty component), or holds it twice.
	ErrBadPath = errors.New("bad path in listing")
	// ErrBadIndex: an index or hash cache file is malformed.
	ErrBadIndex = errors.New("malformed index")
	// ErrSourceChanged: a source file is missing or does not match its
	// listing (type, size or content).
	ErrSourceChanged = errors.New("source file does not match its listing")
	// ErrConflict: the destination has a directory where a listed file
	// goes, or a link or file where a directory is needed.
	ErrConflict = errors.New("destination conflict")
)

// SyncError is the error of Sync for one path.
type SyncError struct {
	Path string // slash path relative to the trees
	Err  error
}

func (e *SyncError) Error() string { return fmt.Sprintf("syncing %q: %v", e.Path, e.Err) }

func (e *SyncError) Unwrap() error { return e.Err }

// CheckPath reports whether p is a clean relative slash path that can name
// a file below a root on this system. The error wraps ErrBadPath.
func CheckPath(p string) error {
	if err := relpath.Check(p); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadPath, p, err)
	}
	return nil
}
