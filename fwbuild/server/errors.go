package server

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/fwbuild/auth"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
)

// Error is an error answered with its own HTTP status; its text is the
// response body.
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error with status and a formatted message (%w works).
func errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// clientErrors are sentinels of other packages that mean the request is at
// fault: a bad upload, a bad name.
var clientErrors = []error{
	buildctx.ErrBadName, buildctx.ErrBadKey,
	archive.ErrNotZip, archive.ErrUnsafeName, archive.ErrShortName, archive.ErrSymlink,
	archive.ErrFileType, archive.ErrDuplicate, archive.ErrConflict, archive.ErrTooManyEntries,
	archive.ErrTooLarge, archive.ErrNameTooLong,
	zip.ErrFormat, zip.ErrChecksum, zip.ErrAlgorithm,
}

// statusOf is the one place that decides the HTTP status of an error.
func statusOf(err error) int {
	var se *Error
	if errors.As(err, &se) {
		return se.Status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	if errors.Is(err, buildctx.ErrNotOwner) || errors.Is(err, auth.ErrNotMember) {
		return http.StatusForbidden
	}
	for _, ce := range clientErrors {
		if errors.Is(err, ce) {
			return http.StatusBadRequest
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this.
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
