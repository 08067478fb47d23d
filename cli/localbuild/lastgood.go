package localbuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// lastGoodAside is the dir of build/ where a clean build keeps the last
// good build's outputs until it succeeds.
const lastGoodAside = ".mos-last-good"

// lastGoodNames are the outputs of a good build a failed one must not
// take away (protocol.IsLastGood: the firmware and the objects).
var lastGoodNames = []string{"fw.zip", "fw", "objs"}

// setAsideLastGood moves the last good build's outputs into
// <buildDir>/.mos-last-good before a clean build. Renames move links as
// links: nothing is followed.
//
// Crash story: killed at any point, each output is either in build/ or in
// the aside dir; the next build's recoverLastGood puts back those build/
// lacks and removes the rest.
func setAsideLastGood(buildDir string) error {
	aside := filepath.Join(buildDir, lastGoodAside)
	for _, n := range lastGoodNames {
		src := filepath.Join(buildDir, n)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(aside, 0o755); err != nil {
			return fmt.Errorf("keeping the last good build: %w", err)
		}
		if err := os.Rename(src, filepath.Join(aside, n)); err != nil {
			return fmt.Errorf("keeping the last good build's %s: %w", n, err)
		}
	}
	return nil
}

// restoreLastGood puts what setAsideLastGood moved back in place of what
// the failed build left there, then removes the aside dir. Nothing to do
// without one.
func restoreLastGood(buildDir string) error { return putBack(buildDir, true) }

// recoverLastGood, before a build, handles an aside dir a killed build
// left: what build/ lacks is put back, the rest dropped (build/ then holds
// a newer build's output, or a killed one's).
func recoverLastGood(buildDir string) error { return putBack(buildDir, false) }

func putBack(buildDir string, replace bool) error {
	aside := filepath.Join(buildDir, lastGoodAside)
	if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, n := range lastGoodNames {
		src := filepath.Join(aside, n)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		dst := filepath.Join(buildDir, n)
		if _, err := os.Lstat(dst); err == nil && !replace {
			continue
		}
		// The failed build's partial output goes (os.RemoveAll removes a
		// link, never what it points to).
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("restoring the last good build's %s: %w", n, err)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("restoring the last good build's %s: %w", n, err)
		}
	}
	return dropLastGood(buildDir)
}

// dropLastGood removes the aside dir after a good build.
func dropLastGood(buildDir string) error {
	if err := os.RemoveAll(filepath.Join(buildDir, lastGoodAside)); err != nil {
		return fmt.Errorf("removing %s: %w", lastGoodAside, err)
	}
	return nil
}
