package cmdutil

import (
	"errors"
	"fmt"
)

// FlagError is a mistake in the command line; it is printed with a hint to
// run help.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf formats a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent means the failure was already reported; just exit non-zero.
var ErrSilent = errors.New("silent error")
