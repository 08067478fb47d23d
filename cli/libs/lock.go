package libs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lockRetry is how often a waiting lock is tried again.
const lockRetry = 50 * time.Millisecond

// lockPath is the lock file guarding dir: a hidden file beside it, since
// dir itself may be deleted and re-cloned while locked.
func lockPath(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".lock")
}

// lockDir takes the exclusive file lock guarding dir, waiting for other
// processes (or goroutines) that hold it until ctx is done. wait is called
// once if the lock is busy. The returned func releases the lock.
func lockDir(ctx context.Context, dir string, wait func()) (func(), error) {
	lp := lockPath(dir)
	if err := os.MkdirAll(filepath.Dir(lp), 0o755); err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	fl := flock.New(lp)
	ok, err := fl.TryLock()
	if err == nil && !ok {
		if wait != nil {
			wait()
		}
		ok, err = fl.TryLockContext(ctx, lockRetry)
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("locking %s: not acquired", dir)
	}
	return func() { _ = fl.Unlock() }, nil
}
