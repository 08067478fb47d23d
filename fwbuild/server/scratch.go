package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
	"github.com/golang/glog"
)

// scratch is one server's area for request temp dirs,
// <volumes>/tmp/srv_<random>/, owned through a flock on
// <volumes>/tmp/srv_<random>.lock held while the server lives. Areas whose
// lock nobody holds belong to servers that died (mid-upload, mid-build) and
// are removed when a server starts; areas of live servers sharing the
// volumes dir are left alone.
type scratch struct {
	dir  string
	lock *flock.Flock
}

const scratchPrefix = "srv_"

func openScratch(tmpRoot string) (*scratch, error) {
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", tmpRoot, err)
	}
	removeStaleScratch(tmpRoot)
	// The lock file comes first: a dir without one is always stale.
	lf, err := os.CreateTemp(tmpRoot, scratchPrefix+"*.lock")
	if err != nil {
		return nil, fmt.Errorf("creating temp area in %s: %w", tmpRoot, err)
	}
	lf.Close()
	lock := flock.New(lf.Name())
	if ok, err := lock.TryLock(); err != nil || !ok {
		return nil, fmt.Errorf("locking temp area %s: %v", lf.Name(), err)
	}
	dir := strings.TrimSuffix(lf.Name(), ".lock")
	if err := os.Mkdir(dir, 0o755); err != nil {
		lock.Close()
		return nil, fmt.Errorf("creating temp area: %w", err)
	}
	return &scratch{dir: dir, lock: lock}, nil
}

// removeStaleScratch removes the areas of servers that are gone.
func removeStaleScratch(tmpRoot string) {
	entries, err := os.ReadDir(tmpRoot)
	if err != nil {
		glog.Warningf("cleaning %s: %v", tmpRoot, err)
		return
	}
	locks := map[string]bool{}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, scratchPrefix) && strings.HasSuffix(n, ".lock") {
			locks[strings.TrimSuffix(n, ".lock")] = true
		}
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, scratchPrefix) || strings.HasSuffix(n, ".lock") {
			continue
		}
		dir := filepath.Join(tmpRoot, n)
		var fl *flock.Flock
		if locks[n] {
			fl = flock.New(dir + ".lock")
			if ok, err := fl.TryLock(); err != nil || !ok {
				fl.Close()
				continue // a live server's area
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			glog.Warningf("removing stale temp area %s: %v", dir, err)
		} else {
			glog.Infof("removed temp area %s left by a server that is gone", dir)
		}
		if fl != nil {
			os.Remove(fl.Path())
			fl.Close()
		}
	}
	// Lock files with no dir (a server that died before making it, or
	// whose dir was just removed above).
	for n := range locks {
		p := filepath.Join(tmpRoot, n+".lock")
		if _, err := os.Lstat(filepath.Join(tmpRoot, n)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		fl := flock.New(p)
		if ok, err := fl.TryLock(); err == nil && ok {
			os.Remove(p)
		}
		fl.Close()
	}
}

// close releases the area and removes it.
func (s *scratch) close() error {
	err := os.RemoveAll(s.dir)
	if rerr := os.Remove(s.lock.Path()); err == nil && rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	s.lock.Close()
	return err
}
