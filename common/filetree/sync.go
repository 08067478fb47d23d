package filetree

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mongoose-os/mos/common/faultpoint"
)

// SyncStats tells what Sync did.
type SyncStats struct {
	Added, Changed, Removed, Unchanged int
	// Pruned counts directories removed because removals left them empty.
	Pruned int
	// Touched lists every path of dst that Sync created, replaced, chmodded
	// or removed, in the order it did so; directories it created or pruned
	// end in "/".
	// On error it says what had already changed.
	Touched []string
}

// Sync makes the files of dst listed in dstList equal to the files of src
// listed in srcList (both listings as List makes them; dstList is usually
// the index stored after the previous Sync):
//
//   - files equal in both listings (content and mode) are not touched at
//     all: same inode, same mtime, so make sees them unchanged;
//   - files only in srcList, or whose content differs, are moved in from
//     src (rename; a copy when rename fails, e.g. across file systems),
//     given the listed mode and the current time as mtime, so make sees
//     them as newer than anything built before;
//   - files whose content is equal but mode differs are chmodded in place;
//   - files only in dstList are deleted, and directories that this leaves
//     empty are removed, up to dst itself;
//   - paths in neither listing (build/, fetched deps, the index file) are
//     never touched, nor are directories that still hold such paths.
//
// Sync consumes src: moved files are no longer there. Every source file is
// read and checked against its listing (size and SHA-256) just before it
// becomes visible in dst. dst is created if missing.
//
// Failure contract: before changing anything Sync checks both listings
// (ErrBadPath), that each source file to bring in exists as a regular file
// of the listed size and that no directory, link or file in dst is in the
// way (ErrSourceChanged, ErrConflict); such errors leave dst untouched.
// Later errors (I/O, a source file whose content no longer matches its
// listing) stop Sync at once with a *SyncError for the path at fault, and
// the returned SyncStats.Touched says which paths had already changed. dst
// is then a mix of old and new files: the caller must treat the context as
// dirty (the server does a clean build next) and must not store srcList as
// dst's index.
//
// Sync assumes nothing else writes to dst or src while it runs (the server
// holds the context's lock); all access goes through os.Root, so even then
// nothing outside dst or src is touched, and links inside dst are never
// followed.
func Sync(src, dst string, srcList, dstList []Entry) (SyncStats, error) {
	var st SyncStats
	newList, err := CheckList(srcList)
	if err != nil {
		return st, fmt.Errorf("source listing: %w", err)
	}
	oldList, err := CheckList(dstList)
	if err != nil {
		return st, fmt.Errorf("destination listing: %w", err)
	}
	ch := Diff(oldList, newList)
	st.Unchanged = ch.Unchanged

	if err := os.MkdirAll(dst, 0o755); err != nil {
		return st, fmt.Errorf("creating %s: %w", dst, err)
	}
	dr, err := os.OpenRoot(dst)
	if err != nil {
		return st, err
	}
	defer dr.Close()
	sr, err := os.OpenRoot(src)
	if err != nil {
		return st, err
	}
	defer sr.Close()
	s := &syncer{src: src, dst: dst, sr: sr, dr: dr, st: &st, dirs: map[string]bool{}}

	old := make(map[string]Entry, len(oldList))
	for _, e := range oldList {
		old[e.Path] = e
	}
	// What to bring in, in path order; chmodOnly when only the mode differs
	// and the old file is really there.
	type job struct {
		e         Entry
		added     bool
		chmodOnly bool
	}
	var jobs []job
	for _, e := range ch.Added {
		jobs = append(jobs, job{e: e, added: true})
	}
	for _, e := range ch.Changed {
		jobs = append(jobs, job{e: e, chmodOnly: sameContent(old[e.Path], e)})
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].e.Path < jobs[j].e.Path })

	// Preflight: nothing changes unless all of this holds.
	for _, e := range ch.Removed {
		if err := s.checkTarget(e.Path); err != nil {
			return st, &SyncError{Path: e.Path, Err: err}
		}
	}
	for i, j := range jobs {
		if err := s.checkTarget(j.e.Path); err != nil {
			return st, &SyncError{Path: j.e.Path, Err: err}
		}
		if j.chmodOnly {
			fi, err := dr.Lstat(filepath.FromSlash(j.e.Path))
			if err == nil && fi.Mode().IsRegular() {
				continue
			}
			jobs[i].chmodOnly = false
		}
		if err := s.checkSource(j.e); err != nil {
			return st, &SyncError{Path: j.e.Path, Err: err}
		}
	}

	for _, e := range ch.Removed {
		faultpoint.Hit("sync.remove")
		if err := s.remove(e.Path); err != nil {
			return st, &SyncError{Path: e.Path, Err: err}
		}
	}
	if err := s.prune(ch.Removed, newList); err != nil {
		return st, err
	}
	for _, j := range jobs {
		var err error
		faultpoint.Hit("sync.bringin")
		if j.chmodOnly {
			err = s.chmod(j.e)
		} else {
			err = s.bringIn(j.e)
		}
		if err != nil {
			return st, &SyncError{Path: j.e.Path, Err: err}
		}
		if j.added {
			st.Added++
		} else {
			st.Changed++
		}
	}
	return st, nil
}

type syncer struct {
	src, dst string
	sr, dr   *os.Root
	st       *SyncStats
	dirs     map[string]bool // slash paths known to be real directories in dst
}

func (s *syncer) touched(p string) { s.st.Touched = append(s.st.Touched, p) }

// checkTarget: every existing parent of p in dst is a real directory and
// p itself, if present, is not a directory.
func (s *syncer) checkTarget(p string) error {
	comps := strings.Split(p, "/")
	for i := range comps {
		sub := strings.Join(comps[:i+1], "/")
		last := i == len(comps)-1
		if !last && s.dirs[sub] {
			continue
		}
		fi, err := s.dr.Lstat(filepath.FromSlash(sub))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case last && fi.IsDir():
			return fmt.Errorf("%w: %q in %s is a directory", ErrConflict, sub, s.dst)
		case last:
			return nil
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: %q in %s is a link, not followed", ErrConflict, sub, s.dst)
		case !fi.IsDir():
			return fmt.Errorf("%w: %q in %s is not a directory", ErrConflict, sub, s.dst)
		}
		s.dirs[sub] = true
	}
	return nil
}

// checkSource: the source file exists, is regular, has the listed size.
func (s *syncer) checkSource(e Entry) error {
	fi, err := s.sr.Lstat(filepath.FromSlash(e.Path))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrSourceChanged, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file in %s", ErrSourceChanged, e.Path, s.src)
	case fi.Size() != e.Size:
		return fmt.Errorf("%w: %s is %d bytes in %s, listed as %d", ErrSourceChanged, e.Path, fi.Size(), s.src, e.Size)
	}
	return nil
}

func (s *syncer) remove(p string) error {
	if err := s.checkTarget(p); err != nil {
		return err
	}
	err := s.dr.Remove(filepath.FromSlash(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // already gone: nothing to do
	}
	if err != nil {
		return err
	}
	s.st.Removed++
	s.touched(p)
	return nil
}

// prune removes directories left empty by removals, deepest first, but
// never one that a listed source file needs.
func (s *syncer) prune(removed, keep []Entry) error {
	needed := map[string]bool{}
	for _, e := range keep {
		for _, d := range parentDirs(e.Path) {
			needed[d] = true
		}
	}
	cands := map[string]bool{}
	for _, e := range removed {
		for _, d := range parentDirs(e.Path) {
			if !needed[d] {
				cands[d] = true
			}
		}
	}
	var dirs []string
	for d := range cands {
		dirs = append(dirs, d)
	}
	// Deeper first; a parent is tried after all its children.
	sort.Slice(dirs, func(i, j int) bool {
		ci, cj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if ci != cj {
			return ci > cj
		}
		return dirs[i] < dirs[j]
	})
	for _, d := range dirs {
		empty, err := s.emptyDir(d)
		if err != nil {
			return &SyncError{Path: d, Err: err}
		}
		if !empty {
			continue
		}
		if err := s.dr.Remove(filepath.FromSlash(d)); err != nil {
			return &SyncError{Path: d, Err: err}
		}
		delete(s.dirs, d)
		s.st.Pruned++
		s.touched(d + "/")
	}
	return nil
}

// emptyDir reports whether d is a real, empty directory in dst; a missing
// path, a link or a file is "not empty" (left alone).
func (s *syncer) emptyDir(d string) (bool, error) {
	if err := s.checkTarget(d + "/x"); err != nil {
		return false, nil // a parent is not a real directory: leave it
	}
	fi, err := s.dr.Lstat(filepath.FromSlash(d))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, nil
	}
	f, err := s.dr.Open(filepath.FromSlash(d))
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

func (s *syncer) chmod(e Entry) error {
	if err := s.checkTarget(e.Path); err != nil {
		return err
	}
	if err := s.dr.Chmod(filepath.FromSlash(e.Path), e.Mode.Perm()); err != nil {
		return err
	}
	s.touched(e.Path)
	return nil
}

// bringIn verifies the source file against e and moves it to dst.
func (s *syncer) bringIn(e Entry) error {
	osPath := filepath.FromSlash(e.Path)
	if i := strings.LastIndexByte(e.Path, '/'); i >= 0 {
		if err := s.mkdirs(e.Path[:i]); err != nil {
			return err
		}
	}
	if err := s.checkTarget(e.Path); err != nil {
		return err
	}
	f, err := s.sr.OpenFile(osPath, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSourceChanged, err)
	}
	verr := verify(f, e)
	if verr == nil {
		verr = f.Chmod(e.Mode.Perm()) // the inode moves with the rename
	}
	f.Close()
	if verr != nil {
		return verr
	}
	if err := os.Rename(filepath.Join(s.src, osPath), filepath.Join(s.dst, osPath)); err != nil {
		if cerr := s.copyIn(e); cerr != nil {
			return fmt.Errorf("moving in failed (%v), and so did copying: %w", err, cerr)
		}
	}
	s.touched(e.Path)
	now := time.Now()
	return s.dr.Chtimes(osPath, now, now)
}

// verify reads f to the end and checks size and SHA-256 against e.
func verify(f io.Reader, e Entry) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading source: %w", err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Size || sum != e.SHA256 {
		return fmt.Errorf("%w: %d bytes with sha256 %s, listed as %d bytes with %s", ErrSourceChanged, n, sum, e.Size, e.SHA256)
	}
	return nil
}

// copyIn copies the source file to a temporary file next to the target,
// checks it against e while copying, and renames it over the target.
func (s *syncer) copyIn(e Entry) (err error) {
	osPath := filepath.FromSlash(e.Path)
	in, err := s.sr.OpenFile(osPath, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	dir, base := filepath.Split(osPath)
	var out *os.File
	var tmp string
	for range 100 {
		tmp = dir + "." + base + ".sync" + strconv.FormatUint(rand.Uint64(), 36)
		out, err = s.dr.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			s.dr.Remove(tmp)
		}
	}()
	if err = verify(io.TeeReader(in, out), e); err != nil {
		return err
	}
	if err = out.Chmod(e.Mode.Perm()); err != nil {
		return err
	}
	err = out.Close()
	out = nil
	if err != nil {
		return err
	}
	return s.dr.Rename(tmp, osPath)
}

// mkdirs makes sure each component of d is a real directory in dst,
// creating missing ones 0755.
func (s *syncer) mkdirs(d string) error {
	comps := strings.Split(d, "/")
	for i := range comps {
		sub := strings.Join(comps[:i+1], "/")
		if s.dirs[sub] {
			continue
		}
		osd := filepath.FromSlash(sub)
		fi, err := s.dr.Lstat(osd)
		if errors.Is(err, fs.ErrNotExist) {
			if err = s.dr.Mkdir(osd, 0o755); err == nil {
				err = s.dr.Chmod(osd, 0o755)
			}
			if err != nil {
				return err
			}
			s.touched(sub + "/")
			s.dirs[sub] = true
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
			return fmt.Errorf("%w: %q in %s is not a real directory", ErrConflict, sub, s.dst)
		}
		s.dirs[sub] = true
	}
	return nil
}

// parentDirs returns "a", "a/b" for "a/b/c".
func parentDirs(p string) []string {
	var out []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}
