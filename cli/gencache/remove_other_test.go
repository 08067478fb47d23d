//go:build !windows

package gencache

import "syscall"

// unsupportedDeleteErr is how this system says a file system does not do
// a kind of delete.
var unsupportedDeleteErr error = syscall.ENOTSUP
