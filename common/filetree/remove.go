package filetree

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// RemoveTree removes p and everything below it with removeAll
// (os.RemoveAll when nil). Where the file system refuses that kind of
// delete (wine, FAT/exFAT and some network drives answer the POSIX-style
// delete of os.RemoveAll and os.Root with "Invalid function"), it removes
// entry by entry with plain deletes. Links are removed, never followed.
func RemoveTree(p string, removeAll func(string) error) error {
	if removeAll == nil {
		removeAll = os.RemoveAll
	}
	err := removeAll(p)
	if err == nil || !RemoveUnsupported(err) {
		return err
	}
	return PlainRemoveTree(p)
}

// PlainRemoveTree removes p with os.Remove, children first.
func PlainRemoveTree(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		ents, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := PlainRemoveTree(filepath.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
