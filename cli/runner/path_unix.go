//go:build !windows

package runner

import (
	"io/fs"
	"syscall"
)

// dockerPath: on Unix hosts a host path is used in the container as is.
func dockerPath(p string) string { return p }

// inode is fi's inode number: a file replaced under the same name, size
// and time still differs in it.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
