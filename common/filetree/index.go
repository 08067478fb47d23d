package filetree

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

const indexVersion = 1

type indexFile struct {
	Version int     `json:"version"`
	Files   []Entry `json:"files"`
}

// WriteIndex stores a listing at path as JSON, atomically: a temporary
// file in the same directory is written, synced and renamed over path, so
// a reader sees the old index or the new one, never a mix. Entries are
// checked (paths, duplicates, hashes, modes) and written sorted by path.
func WriteIndex(path string, entries []Entry) error {
	sorted, err := CheckList(entries)
	if err != nil {
		return fmt.Errorf("writing index %s: %w", path, err)
	}
	b, err := json.MarshalIndent(indexFile{Version: indexVersion, Files: sorted}, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(path, append(b, '\n'), 0o644, true); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}

// ReadIndex reads a listing stored by WriteIndex. A missing file gives an
// error wrapping fs.ErrNotExist (a new context); a malformed one, or one
// with unsafe or duplicate paths, an error wrapping ErrBadIndex.
func ReadIndex(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	var f indexFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("index %s: %w: %v", path, ErrBadIndex, err)
	}
	if f.Version != indexVersion {
		return nil, fmt.Errorf("index %s: %w: version %d, want %d", path, ErrBadIndex, f.Version, indexVersion)
	}
	sorted, err := CheckList(f.Files)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w: %w", path, ErrBadIndex, err)
	}
	return sorted, nil
}

// CheckList validates a listing received from a peer (paths, duplicates,
// file/directory clashes, hashes, sizes, modes) and returns a copy sorted
// by path.
func CheckList(entries []Entry) ([]Entry, error) {
	sorted := append([]Entry{}, entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	files := make(map[string]bool, len(sorted))
	for _, e := range sorted {
		files[e.Path] = true
	}
	for i, e := range sorted {
		if err := CheckPath(e.Path); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Path == e.Path {
			return nil, fmt.Errorf("%w: %q listed twice", ErrBadPath, e.Path)
		}
		for _, d := range parentDirs(e.Path) {
			if files[d] {
				return nil, fmt.Errorf("%w: %q is listed as a file and as a directory", ErrBadPath, d)
			}
		}
		if !validHash(e.SHA256) {
			return nil, fmt.Errorf("%q: sha256 %q is not 64 lower-case hex digits", e.Path, e.SHA256)
		}
		if e.Size < 0 || e.Mode&^fs.ModePerm != 0 {
			return nil, fmt.Errorf("%q: bad size %d or mode %v", e.Path, e.Size, e.Mode)
		}
	}
	return sorted, nil
}

func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && s == toLowerHex(s)
}

func toLowerHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'F' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// WriteFileAtomic replaces path with data, mode perm: a temporary file in
// the same directory renamed over it, so a reader sees the old content or
// the new, never a part. With sync, the file and then its directory are
// synced too (the new content survives a power loss); without, a crash
// may leave the old content or none, never a mix.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode, sync bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if sync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	// The rename reaches the disk with its dir (where the system lets a
	// dir be opened and synced; elsewhere the file's own sync is all).
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
