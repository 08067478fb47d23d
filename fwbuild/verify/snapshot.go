package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
)

// errTooBig: a snapshot would exceed the bytes it may take.
var errTooBig = errors.New("snapshot exceeds the bytes verification may keep")

// resultFiles are what fwcompare.BuildDirs reads of a build dir: a file
// or a dir, relative to build/. Its objs/*.elf it reads only for build
// info strings, which gen/*build_info.c gives too, so they stay out.
var resultFiles = []string{"fw.zip", "gen", "fs"}

// snap is what take copied.
type snap struct {
	bytes int64
	// deviation names the first uploaded file whose content in the
	// context is not what the context's index says ("" when all match).
	deviation string
}

// take copies context c, as its index lists the upload, with
// build_params.yml, into ctxDir, and the files of c's build dir that are
// compared into gotDir, within budget bytes. Everything in the context is
// read through an os.Root of it: the build may have left links there, and
// none is followed or copied.
func take(c *buildctx.Context, ctxDir, gotDir string, budget int64) (snap, error) {
	var s snap
	index, err := filetree.ReadIndex(c.IndexFile())
	if err != nil {
		return s, fmt.Errorf("reading the context's index: %w", err)
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return s, fmt.Errorf("opening the context: %w", err)
	}
	defer root.Close()
	cp := func(rel, dst string, mode fs.FileMode) (n int64, sum string, err error) {
		n, sum, err = copyFile(root, rel, dst, mode, budget-s.bytes)
		s.bytes += n
		return n, sum, err
	}
	for _, e := range index {
		n, sum, err := cp(filepath.FromSlash(e.Path), filepath.Join(ctxDir, filepath.FromSlash(e.Path)), e.Mode)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNotRegular):
			s.deviation = fmt.Sprintf("%s: uploaded file missing from the context (%v)", e.Path, err)
			return s, nil
		case err != nil:
			return s, err
		case n != e.Size || sum != e.SHA256:
			s.deviation = fmt.Sprintf("%s: the context's copy differs from the upload (%d bytes, sha256 %.12s; the index says %d bytes, %.12s)", e.Path, n, sum, e.Size, e.SHA256)
			return s, nil
		}
	}
	if _, _, err := cp(buildctx.ParamsFileName, filepath.Join(ctxDir, buildctx.ParamsFileName), 0o644); err != nil {
		return s, err
	}
	// tmp/ as Prepare leaves it for a build.
	for _, d := range []string{filepath.Join(ctxDir, buildctx.CtxTempDirName), gotDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return s, fmt.Errorf("creating snapshot dir: %w", err)
		}
	}
	for _, top := range resultFiles {
		rel := path.Join(buildctx.BuildDirName, top)
		err := fs.WalkDir(root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil // dirs are made with their files; links and the like are not compared
			}
			sub := p[len(buildctx.BuildDirName)+1:]
			_, _, err = cp(filepath.FromSlash(p), filepath.Join(gotDir, filepath.FromSlash(sub)), 0o644)
			if errors.Is(err, errNotRegular) {
				return nil // replaced by a link since it was listed
			}
			return err
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return s, fmt.Errorf("copying the result: %w", err)
		}
	}
	return s, nil
}

var errNotRegular = errors.New("not a regular file")

// copyFile copies rel of root to dst (its dirs made), with mode, reading
// at most budget bytes; it returns the bytes copied and their sha256.
func copyFile(root *os.Root, rel, dst string, mode fs.FileMode, budget int64) (int64, string, error) {
	fi, err := root.Lstat(rel)
	if err != nil {
		return 0, "", err
	}
	if !fi.Mode().IsRegular() {
		return 0, "", fmt.Errorf("%s: %w (%v)", rel, errNotRegular, fi.Mode().Type())
	}
	if fi.Size() > budget {
		return 0, "", fmt.Errorf("%s: %w", rel, errTooBig)
	}
	in, err := root.Open(rel)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, "", fmt.Errorf("creating snapshot dir: %w", err)
	}
	perm := mode.Perm() | 0o400
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, "", fmt.Errorf("snapshot of %s: %w", rel, err)
	}
	h := sha256.New()
	// One byte over the budget tells a file that grew since Lstat.
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(in, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, perm) // exact, whatever the umask
	}
	if err != nil {
		return n, "", fmt.Errorf("snapshot of %s: %w", rel, err)
	}
	if n > budget {
		return n, "", fmt.Errorf("%s: %w", rel, errTooBig)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
