package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/binpatch"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
)

// maxResultBytes caps the result zip the client accepts (its unpacked size
// is capped by archive's defaults).
const maxResultBytes = 1 << 30

// maxErrorBody is how much of a non-zip answer is read for the message.
const maxErrorBody = 64 << 10

// resultStagePrefix names the dirs in the build dir where a result is
// unpacked and the files it replaces are put aside while it is installed.
// Any such dir is garbage of an aborted install: the next install removes
// it, and the listing of build/ sent to the server skips it.
const resultStagePrefix = ".mos-result-"

// ErrFileInUse is wrapped by the error of an install that could not move
// a file of the build dir away, as on Windows when another program (a
// flasher, an editor) holds it open. Nothing of the result was installed.
var ErrFileInUse = errors.New("another program may hold it open")

// spoolResult copies a result body into a new file under tempDir and
// returns its path and size.
func spoolResult(tempDir string, body io.Reader) (path string, n int64, err error) {
	if err := os.MkdirAll(tempDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("creating temp dir: %w", err)
	}
	f, err := os.CreateTemp(tempDir, "tmp_mos_result_*.zip")
	if err != nil {
		return "", 0, fmt.Errorf("saving the build result: %w", err)
	}
	path = f.Name()
	n, err = io.Copy(f, io.LimitReader(body, maxResultBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxResultBytes {
		err = fmt.Errorf("larger than %d bytes", int64(maxResultBytes))
	}
	if err != nil {
		os.Remove(path)
		return "", n, fmt.Errorf("receiving the build result: %w", err)
	}
	return path, n, nil
}

// installer puts a result zip into the build dir, all or nothing: the zip
// is unpacked (safely) into a stage dir inside the build dir, every file
// of build/ that the result replaces or deletes is first moved aside, and
// only when all of them could be moved are the new files moved in. Any
// failure puts back what was moved, so build/ ends as it was.
//
// It uses plain renames and deletes, never the POSIX-style delete that
// os.Root and os.RemoveAll use on Windows, which wine, FAT/exFAT and some
// network drives refuse with "Invalid function". Paths named by the server
// are checked instead: no "..", no absolute names, and no link or other
// non-dir on the way down from build/.
type installer struct {
	buildDir string
	// keep: --keep-build-dir; files of build/ the result does not name
	// stay (a delta's deletions are not applied).
	keep bool
	// failed: the result is a failed build's (418); the last good
	// build's files (protocol.IsLastGood) stay as they are.
	failed bool
	// removeAll and rename are os.RemoveAll and os.Rename when nil. Tests
	// inject failing ones: a removeAll failing as on wine, a rename
	// failing as on a file another program holds open.
	removeAll func(path string) error
	rename    func(oldpath, newpath string) error
	// limits bound the unpacked result; the zero value uses archive's
	// defaults.
	limits archive.ExtractOptions
	// patched counts the files a delta result sent as binary patches.
	patched int
}

// installResult installs a full result (entries build/...).
func installResult(zipPath, buildDir string, keep bool) error {
	return (&installer{buildDir: buildDir, keep: keep}).install(zipPath, false)
}

// installDelta installs a delta result: its files go over the build dir,
// then (unless keep) what the server listed as gone is removed, so the
// build dir ends as a full result would leave it.
func installDelta(zipPath, buildDir string, keep bool) error {
	return (&installer{buildDir: buildDir, keep: keep}).install(zipPath, true)
}

func (in *installer) doRename(oldpath, newpath string) error {
	if in.rename != nil {
		return in.rename(oldpath, newpath)
	}
	return os.Rename(oldpath, newpath)
}

// removeTree removes path and everything below it (filetree.RemoveTree:
// plain deletes where the system's remove is not supported).
func (in *installer) removeTree(p string) error { return filetree.RemoveTree(p, in.removeAll) }

// cleanLeftovers removes the stage dirs of aborted installs.
func (in *installer) cleanLeftovers() {
	ents, err := os.ReadDir(in.buildDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), resultStagePrefix) {
			_ = in.removeTree(filepath.Join(in.buildDir, e.Name()))
		}
	}
}

// install installs the result zip; delta says it carries a delta list.
func (in *installer) install(zipPath string, delta bool) (err error) {
	if err := in.recover(); err != nil {
		return err
	}
	stage, err := in.unpack(zipPath)
	if err != nil {
		return err
	}
	defer in.removeTree(stage)
	var deleted []string
	if delta {
		if deleted, err = in.applyDeltaList(stage); err != nil {
			return err
		}
	}
	files, dirs, err := listStage(stage)
	if err != nil {
		return fmt.Errorf("unpacking the build result: %w", err)
	}
	if in.failed {
		files, dirs, deleted = notLastGood(files), notLastGood(dirs), notLastGood(deleted)
	}
	aside, err := in.toMoveAside(files, dirs, deleted, delta)
	if err != nil {
		return err
	}
	backup, err := os.MkdirTemp(in.buildDir, resultStagePrefix)
	if err != nil {
		return fmt.Errorf("installing the build result: %w", err)
	}
	defer in.removeTree(backup)
	// From here on build/ changes: a process killed before the end leaves
	// the journal, and the next run finishes the install (recover).
	j := &journal{Stage: filepath.Base(stage), Backup: filepath.Base(backup), Aside: aside, Files: files, Dirs: dirs, Keep: in.keep}
	if err := in.writeJournal(j); err != nil {
		return fmt.Errorf("installing the build result: %w", err)
	}
	defer func() {
		if err != nil {
			in.removeJournal() // undone: build/ is as it was
		}
	}()

	// Old files aside; any failure puts them back.
	var moved []string
	undoAside := func() {
		for i := len(moved) - 1; i >= 0; i-- {
			_ = in.doRename(filepath.Join(backup, filepath.FromSlash(moved[i])), in.path(moved[i]))
		}
	}
	for _, p := range aside {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(backup, filepath.FromSlash(p))), 0o755); err != nil {
			undoAside()
			return fmt.Errorf("installing the build result: %w", err)
		}
		faultpoint.Hit("install.aside")
		if err := in.doRename(in.path(p), filepath.Join(backup, filepath.FromSlash(p))); err != nil {
			undoAside()
			return in.inUse(p, err)
		}
		moved = append(moved, p)
	}
	// New files in; any failure takes them out again.
	var placed, created []string
	undoPlaced := func() {
		for i := len(placed) - 1; i >= 0; i-- {
			_ = in.doRename(in.path(placed[i]), filepath.Join(stage, filepath.FromSlash(placed[i])))
		}
		for i := len(created) - 1; i >= 0; i-- {
			_ = filetree.PlainRemoveTree(in.path(created[i]))
		}
	}
	for _, p := range files {
		if top := in.firstMissing(path.Dir(p)); top != "" {
			created = append(created, top)
		}
		faultpoint.Hit("install.place")
		err := os.MkdirAll(filepath.Dir(in.path(p)), 0o755)
		if err == nil {
			err = in.doRename(filepath.Join(stage, filepath.FromSlash(p)), in.path(p))
		}
		if err != nil {
			undoPlaced()
			undoAside()
			return in.inUse(p, err)
		}
		placed = append(placed, p)
	}
	for _, d := range dirs {
		if top := in.firstMissing(d); top != "" {
			created = append(created, top)
		}
		if err := os.MkdirAll(in.path(d), 0o755); err != nil {
			undoPlaced()
			undoAside()
			return fmt.Errorf("installing the build result: %w", err)
		}
	}
	// Installed. Dirs left empty go: a full result has no empty dirs but
	// its own.
	in.pruneAfter(moved, files, dirs)
	in.removeJournal()
	return nil
}

// pruneAfter removes the dirs that moving aside left empty, but those of
// the result (unless keep).
func (in *installer) pruneAfter(moved, files, dirs []string) {
	if in.keep {
		return
	}
	keepDirs := map[string]bool{}
	for _, d := range dirs {
		for ; d != "."; d = path.Dir(d) {
			keepDirs[d] = true
		}
	}
	for _, f := range files {
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			keepDirs[d] = true
		}
	}
	in.removeEmptyDirs(moved, keepDirs)
}

// path is the disk path of the build dir's slash path p.
func (in *installer) path(p string) string {
	return filepath.Join(in.buildDir, filepath.FromSlash(p))
}

// inUse is the error of a file of build/ that could not be moved.
func (in *installer) inUse(p string, err error) error {
	return fmt.Errorf("installing the build result: %s cannot be replaced (%w; %v); nothing of the new result was installed",
		in.path(p), ErrFileInUse, err)
}

// unpack unpacks the result zip (entries build/...), safely, into a fresh
// stage dir inside the build dir and returns it.
func (in *installer) unpack(zipPath string) (stage string, err error) {
	if err := os.MkdirAll(in.buildDir, 0o755); err != nil {
		return "", fmt.Errorf("creating build dir: %w", err)
	}
	dir, err := os.MkdirTemp(in.buildDir, resultStagePrefix)
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	defer func() {
		if err != nil {
			in.removeTree(dir)
		}
	}()
	f, err := os.Open(zipPath)
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	opts := in.limits
	opts.StripComponents = 1
	if _, err := archive.ExtractReaderAt(f, fi.Size(), dir, opts); err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	return dir, nil
}

// applyDeltaList reads and removes the stage's delta list, checks its
// deletions and writes its copies into the stage; it returns the
// deletions.
func (in *installer) applyDeltaList(stage string) ([]string, error) {
	listFile := filepath.Join(stage, filepath.Base(protocol.DeltaListName))
	data, err := os.ReadFile(listFile)
	if err != nil {
		return nil, fmt.Errorf("unpacking the build result: delta without %s: %w", protocol.DeltaListName, err)
	}
	var dl protocol.DeltaList
	if err := json.Unmarshal(data, &dl); err != nil {
		return nil, fmt.Errorf("unpacking the build result: %s: %w", protocol.DeltaListName, err)
	}
	for _, p := range dl.Deleted {
		if err := filetree.CheckPath(p); err != nil {
			return nil, fmt.Errorf("unpacking the build result: %s: %w", protocol.DeltaListName, err)
		}
		if strings.HasPrefix(p, resultStagePrefix) {
			return nil, fmt.Errorf("unpacking the build result: %s: deletes %q, the client's own", protocol.DeltaListName, p)
		}
	}
	if err := os.Remove(listFile); err != nil {
		return nil, err
	}
	for _, p := range dl.Patches {
		if err := applyPatch(stage, in.buildDir, p); err != nil {
			return nil, fmt.Errorf("unpacking the build result: %s: patch of %s: %w", protocol.DeltaListName, p.Path, err)
		}
		in.patched++
	}
	for _, c := range dl.Copies {
		if err := copyInStage(stage, in.buildDir, c); err != nil {
			return nil, fmt.Errorf("unpacking the build result: %s: copy %s of %s: %w", protocol.DeltaListName, c.Path, c.From, err)
		}
	}
	if err := in.correctModes(stage, dl.Modes); err != nil {
		return nil, fmt.Errorf("unpacking the build result: %s: %w", protocol.DeltaListName, err)
	}
	return dl.Deleted, nil
}

// correctModes stages a copy, with the result's mode, of each kept file
// of build/ whose mode differs from it, so that the install puts it in
// with the rest, all or nothing. A path that is not a regular file of
// build/ (a link, a dir, gone) is left to the next full listing.
func (in *installer) correctModes(stage string, modes map[string]fs.FileMode) error {
	for p, m := range modes {
		if err := filetree.CheckPath(p); err != nil {
			return err
		}
		f, err := openIn(in.buildDir, p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() == m.Perm() || !modeMatters(fi.Mode(), m) {
			f.Close()
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("mode of %s: %w", p, err)
		}
		c := protocol.DeltaCopy{Path: p, From: p, Mode: m.Perm(), SHA256: hex.EncodeToString(h.Sum(nil))}
		if err := copyInStage(stage, in.buildDir, c); err != nil {
			return fmt.Errorf("mode of %s: %w", p, err)
		}
	}
	return nil
}

// notLastGood is paths without those of the last good build.
func notLastGood(paths []string) []string {
	out := paths[:0:0]
	for _, p := range paths {
		if !protocol.IsLastGood(p) {
			out = append(out, p)
		}
	}
	return out
}

// listStage lists the stage: its files (and links or other non-dirs) and
// its dirs without files below them, as slash paths, parents first.
func listStage(stage string) (files, emptyDirs []string, err error) {
	err = filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == stage {
			return err
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.IsDir() {
			files = append(files, rel)
			return nil
		}
		ents, err := os.ReadDir(p)
		if err == nil && len(ents) == 0 {
			emptyDirs = append(emptyDirs, rel)
		}
		return err
	})
	return files, emptyDirs, err
}

// toMoveAside decides which paths of build/ are moved away before the
// result goes in: without keep, a full result replaces everything; else
// each file the result brings replaces what is at its path (or a non-dir
// where it needs a dir), and a delta's deletions go unless keep. A path
// under a link or other non-dir of build/ is refused: it may lead out.
func (in *installer) toMoveAside(files, dirs, deleted []string, delta bool) ([]string, error) {
	set := map[string]bool{}
	if !delta && !in.keep {
		ents, err := os.ReadDir(in.buildDir)
		if err != nil {
			return nil, fmt.Errorf("installing the build result: %w", err)
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), resultStagePrefix) && !(in.failed && protocol.IsLastGood(e.Name())) {
				set[e.Name()] = true
			}
		}
	} else {
		for _, p := range files {
			if err := in.displaceFor(p, false, set); err != nil {
				return nil, err
			}
		}
		for _, p := range dirs {
			if err := in.displaceFor(p, true, set); err != nil {
				return nil, err
			}
		}
		if !in.keep {
			for _, p := range deleted {
				where, fi, err := in.lstatInside(p)
				if err != nil {
					return nil, fmt.Errorf("unpacking the build result: %s: deleting %s: %w", protocol.DeltaListName, p, err)
				}
				if where == p && fi != nil {
					set[p] = true
				}
			}
		}
	}
	// Nothing below a path already moved: it goes with it.
	out := make([]string, 0, len(set))
	for p := range set {
		under := false
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if set[d] {
				under = true
				break
			}
		}
		if !under {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// displaceFor adds to set what must leave build/ for the result's path p
// (a dir when isDir): the first non-dir on the way to p, or what is at p,
// unless both are dirs (they merge).
func (in *installer) displaceFor(p string, isDir bool, set map[string]bool) error {
	parts := strings.Split(p, "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		fi, err := os.Lstat(in.path(sub))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("installing the build result: %w", err)
		}
		last := i == len(parts)-1
		if !fi.IsDir() || (last && !isDir) {
			set[sub] = true
			return nil
		}
	}
	return nil
}

// firstMissing returns the first of dir's components (a slash path)
// missing in build/, "" when all exist.
func (in *installer) firstMissing(dir string) string {
	if dir == "." {
		return ""
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		if _, err := os.Lstat(in.path(sub)); errors.Is(err, fs.ErrNotExist) {
			return sub
		}
	}
	return ""
}

// lstatInside walks p's components below the build dir without following
// links. It returns the part of p that exists (p itself, with its info,
// when it exists). A link or other non-dir before the last component is
// an error: the server's path would lead through it.
func (in *installer) lstatInside(p string) (string, fs.FileInfo, error) {
	parts := strings.Split(p, "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		fi, err := os.Lstat(in.path(sub))
		if errors.Is(err, fs.ErrNotExist) {
			return path.Dir(sub), nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if i == len(parts)-1 {
			return p, fi, nil
		}
		if !fi.IsDir() {
			return "", nil, fmt.Errorf("%s is not a directory (a link?): refusing to go through it", in.path(sub))
		}
	}
	return p, nil, nil
}

// removeEmptyDirs removes, deepest first, the dirs of build/ that held
// the moved paths and are now empty, unless the result has them. Failure
// is harmless (an empty dir stays).
func (in *installer) removeEmptyDirs(moved []string, keep map[string]bool) {
	cand := map[string]bool{}
	for _, p := range moved {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			cand[d] = true
		}
	}
	list := make([]string, 0, len(cand))
	for d := range cand {
		if !keep[d] {
			list = append(list, d)
		}
	}
	sort.Slice(list, func(i, j int) bool { return strings.Count(list[i], "/") > strings.Count(list[j], "/") })
	for _, d := range list {
		_ = os.Remove(in.path(d)) // a plain delete: fails when not empty
	}
}

// copyInStage writes the copy c into the stage, from the stage's file From
// or, where the result did not carry From, the build dir's. Its content
// must have the SHA-256 the server stated.
func copyInStage(stage, buildDir string, c protocol.DeltaCopy) error {
	for _, p := range []string{c.Path, c.From} {
		if err := filetree.CheckPath(p); err != nil {
			return err
		}
	}
	src, err := openIn(stage, c.From)
	if errors.Is(err, fs.ErrNotExist) {
		src, err = openIn(buildDir, c.From)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(stage, filepath.FromSlash(c.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, c.Mode.Perm()|0o200)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != c.SHA256 {
		return fmt.Errorf("content has SHA-256 %s, the server said %s", got, c.SHA256)
	}
	return os.Chmod(dst, c.Mode.Perm())
}

// applyPatch replaces the stage's patch p.Path by the content it
// rebuilds from its base: a file of the result (the stage's, else the
// build dir's) or of the build dir. Base and outcome must have the
// SHA-256 the server stated.
func applyPatch(stage, buildDir string, p protocol.DeltaPatch) error {
	for _, q := range []string{p.Path, p.Base} {
		if err := filetree.CheckPath(q); err != nil {
			return err
		}
	}
	patch, err := readIn(stage, p.Path)
	if err != nil {
		return err
	}
	var base []byte
	if p.InResult {
		base, err = readIn(stage, p.Base)
		if errors.Is(err, fs.ErrNotExist) {
			base, err = readIn(buildDir, p.Base)
		}
	} else {
		base, err = readIn(buildDir, p.Base)
	}
	if err != nil {
		return fmt.Errorf("base %s: %w", p.Base, err)
	}
	if got := binpatch.Sum(base); got != p.BaseSHA256 {
		return fmt.Errorf("base %s has SHA-256 %s, the server patched %s", p.Base, got, p.BaseSHA256)
	}
	out, err := binpatch.Apply(base, patch, p.Size, p.SHA256)
	if err != nil {
		return err
	}
	dst := filepath.Join(stage, filepath.FromSlash(p.Path))
	tmp := dst + ".patched"
	if err := os.WriteFile(tmp, out, p.Mode.Perm()|0o200); err != nil {
		return err
	}
	if err := os.Chmod(tmp, p.Mode.Perm()); err != nil {
		os.Remove(tmp)
		return err
	}
	// The patch goes first: a rename over a file is not what every file
	// system does (see installer); a failure here drops the whole stage.
	if err := os.Remove(dst); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// readIn reads the regular file rel below dir (see openIn).
func readIn(dir, rel string) ([]byte, error) {
	f, err := openIn(dir, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, binpatch.MaxWindow))
}

// openIn opens the regular file rel below dir, never following a link out
// of dir (opening through os.Root works on every file system).
func openIn(dir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", rel)
		}
		return nil, err
	}
	return f, nil
}

// errorBody reads the start of an error answer for the message.
func errorBody(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	return strings.TrimSpace(string(data))
}

// CutErrorLine splits off a build log's last line when it is the
// "Error: ..." line of the mos that ran the build, and returns its text.
func CutErrorLine(log []byte) (body []byte, reason string) {
	s := strings.TrimRight(string(log), "\r\n")
	i := strings.LastIndexByte(s, '\n')
	if msg, ok := strings.CutPrefix(s[i+1:], "Error: "); ok {
		return []byte(s[:i+1]), strings.TrimSpace(msg)
	}
	return log, ""
}
