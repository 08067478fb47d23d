//go:build unix

package buildctx

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile is an exclusive flock on a context's <name>.lock. The open
// file can be handed to a build's processes: the lock lives as long as
// any of them keeps it open, even after this process is gone.
type lockFile struct {
	f *os.File
}

// tryLockFile takes the lock at path without waiting; ok is false when
// someone else holds it. A lock file removed (by Collect) while we waited
// on its old inode is opened again, so a lock is always on the file the
// path names.
func tryLockFile(path string) (l *lockFile, ok bool, err error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			return nil, false, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, err
		}
		held, err1 := f.Stat()
		named, err2 := os.Lstat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return &lockFile{f: f}, true, nil
		}
		f.Close() // removed or replaced meanwhile: lock the file there now
	}
	return nil, false, fmt.Errorf("%s keeps being replaced", path)
}

// file is the open lock file, for a build to inherit.
func (l *lockFile) file() *os.File { return l.f }

// unlock releases the lock (for every holder of the open file) and closes
// it.
func (l *lockFile) unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
