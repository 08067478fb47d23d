//go:build !unix

package buildctx

import (
	"os"

	"github.com/gofrs/flock"
)

// lockFile is an exclusive lock on a context's <name>.lock. Here it
// cannot be handed to a build's processes.
type lockFile struct {
	fl *flock.Flock
}

func tryLockFile(path string) (*lockFile, bool, error) {
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil || !ok {
		fl.Close()
		return nil, false, err
	}
	return &lockFile{fl: fl}, true, nil
}

func (l *lockFile) file() *os.File { return nil }

func (l *lockFile) unlock() error {
	err := l.fl.Unlock()
	l.fl.Close()
	return err
}
