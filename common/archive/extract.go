package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/mongoose-os/mos/common/faultpoint"
)

// Limits used by Extract for ExtractOptions fields left at 0. They suit a
// build server unpacking a source upload that includes deps/ (the
// mongoose-os module alone is a few thousand files) and a client unpacking
// a build result (firmware images, an ELF with debug info).
const (
	DefaultMaxEntries    = 50000
	DefaultMaxTotalBytes = 1 << 30   // 1 GiB
	DefaultMaxFileBytes  = 256 << 20 // 256 MiB
	// DefaultMaxNameLength bounds an entry name in bytes and
	// DefaultMaxDepth its number of components: real trees stay far below
	// (a deps/ path is rarely over 150 bytes or 20 levels), and a hostile
	// name of thousands of components is refused before any work.
	DefaultMaxNameLength = 400
	DefaultMaxDepth      = 64
	// MaxComponentLength is the longest name component accepted: NAME_MAX
	// of common file systems.
	MaxComponentLength = 255
)

// HeadSize is how many leading bytes of a file ModeLess policies see.
const HeadSize = 512

// ExtractOptions controls Extract. The zero value is usable: default
// limits, nothing stripped, mode-less files 0644.
type ExtractOptions struct {
	// StripComponents drops this many leading name components (the client
	// drops the "build/" of result entries). A file entry with no more
	// components than that is refused (ErrShortName); a directory entry
	// that strips to nothing is ignored.
	StripComponents int
	// MaxEntries caps the number of entries (directory entries included).
	// 0: DefaultMaxEntries; negative: no limit.
	MaxEntries int
	// MaxTotalBytes caps the bytes written for all files together, and
	// MaxFileBytes for each file. Bytes are counted as they are written;
	// header sizes are only used to refuse early. 0: the defaults;
	// negative: no limit.
	MaxTotalBytes int64
	MaxFileBytes  int64
	// MaxNameLength caps the bytes of an entry name and MaxDepth its
	// components (ErrNameTooLong). 0: DefaultMaxNameLength and
	// DefaultMaxDepth; negative: no limit.
	MaxNameLength int
	MaxDepth      int
	// ModeLess gives the permission bits of a file whose entry carries no
	// Unix mode (host not Unix, or mode 0), as in every stock client's
	// upload. It gets the destination-relative slash path and up to
	// HeadSize leading bytes of the content. nil: 0644 for every such file.
	// The server passes ShebangMode.
	ModeLess func(name string, head []byte) fs.FileMode
}

// Stats tells what an extraction (or AddTree) wrote.
type Stats struct {
	Files int   // regular files written
	Dirs  int   // directory entries processed
	Bytes int64 // content bytes of the files
}

// ShebangMode is a ModeLess policy: 0755 for a file starting with "#!"
// (a script make may run directly), 0644 for anything else.
func ShebangMode(name string, head []byte) fs.FileMode {
	if bytes.HasPrefix(head, []byte("#!")) {
		return 0o755
	}
	return 0o644
}

// ExtractFile unpacks the zip file at zipPath into dest; see Extract.
// Errors start with zipPath.
func ExtractFile(zipPath, dest string, opts ExtractOptions) (Stats, error) {
	f, err := os.Open(zipPath)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, err
	}
	st, err := ExtractReaderAt(f, fi.Size(), dest, opts)
	if err != nil {
		return st, fmt.Errorf("%s: %w", zipPath, err)
	}
	return st, nil
}

// ExtractReaderAt unpacks the zip archive of size bytes read from r into
// dest; see Extract. Input that is not a zip archive gives ErrNotZip.
func ExtractReaderAt(r io.ReaderAt, size int64, dest string, opts ExtractOptions) (Stats, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked by Extract
		return Stats{}, fmt.Errorf("%w: %w", ErrNotZip, err)
	}
	return Extract(zr, dest, opts)
}

// Extract unpacks the entries of zr into dest, creating dest (0755) if
// needed.
//
// Every entry is checked before anything is written: a bad name (see
// CheckName), a name too long or too deep (ErrNameTooLong), a symbolic
// link (ErrSymlink) or other special entry
// (ErrFileType), a duplicate (ErrDuplicate), a file where a directory is
// needed or the reverse (ErrConflict), too many entries
// (ErrTooManyEntries) or sizes that headers declare over the limits
// (ErrTooLarge) fail the whole extraction with an *EntryError and write
// nothing. While writing, the bytes actually decompressed are counted and
// the limits enforced again (ErrTooLarge), the size and CRC-32 in the
// header are verified (zip.ErrFormat, zip.ErrChecksum), and a symbolic link
// or non-directory already in dest where a directory is needed is refused
// (ErrSymlink, ErrConflict). Nothing is written outside dest: all access
// goes through an os.Root on dest, parents are checked with Lstat and
// never followed, new files are created exclusively, and an existing file
// (or link) is replaced by a temporary file renamed over it, so a link's
// target and hard-linked copies are never modified.
//
// Entries are written in archive order. The directories leading to the
// last entry are kept open, so an entry costs one call per directory it
// does not share with the one before (an archive in tree order, as
// writers make them, creates or checks each directory once): the work is
// linear in the number of entries, not quadratic in their depth.
//
// Directories are created 0755. A file with a Unix mode in its entry gets
// its permission bits without setuid, setgid, sticky and without group and
// other write; a mode-less file gets opts.ModeLess's answer. Times are not
// restored. Names that differ only by case are distinct entries; on a
// case-insensitive file system the later one replaces the earlier.
//
// On an error during writing, dest keeps the entries already written (the
// failing file itself is removed) and the returned Stats count them:
// extract into a fresh directory and delete it on error when a partial
// result must not be used.
func Extract(zr *zip.Reader, dest string, opts ExtractOptions) (Stats, error) {
	st, _, err := extract(zr, dest, opts)
	return st, err
}

// extract is Extract, also returning the extractor so tests can see how
// much file system work it did.
func extract(zr *zip.Reader, dest string, opts ExtractOptions) (Stats, *extractor, error) {
	var st Stats
	lim := opts.limits()
	plan, err := planExtract(zr, opts.StripComponents, lim)
	if err != nil {
		return st, nil, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return st, nil, fmt.Errorf("creating destination: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return st, nil, fmt.Errorf("opening destination: %w", err)
	}
	x := &extractor{opts: opts, lim: lim, stack: []openDir{{root: root}}}
	defer x.closeAll()
	for _, p := range plan {
		faultpoint.Hit("archive.extract")
		if err := x.extract(p, &st); err != nil {
			return st, x, &EntryError{Name: p.f.Name, Err: err}
		}
	}
	return st, x, nil
}

type limits struct {
	entries        int
	total, file    int64
	nameLen, depth int
}

func (o ExtractOptions) limits() limits {
	l := limits{entries: o.MaxEntries, total: o.MaxTotalBytes, file: o.MaxFileBytes}
	switch {
	case l.entries == 0:
		l.entries = DefaultMaxEntries
	case l.entries < 0:
		l.entries = math.MaxInt
	}
	l.total = pickLimit(l.total, DefaultMaxTotalBytes)
	l.file = pickLimit(l.file, DefaultMaxFileBytes)
	l.nameLen = pickCount(o.MaxNameLength, DefaultMaxNameLength)
	l.depth = pickCount(o.MaxDepth, DefaultMaxDepth)
	return l
}

func pickCount(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt
	}
	return v
}

// CheckNameSize reports a slash path longer than maxLen bytes, with more
// than maxDepth components or with a component over MaxComponentLength
// (ErrNameTooLong); a limit below 1 means none. It is cheap: call it
// before anything that walks the components.
func CheckNameSize(name string, maxLen, maxDepth int) error {
	if maxLen > 0 && len(name) > maxLen {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrNameTooLong, len(name), maxLen)
	}
	if depth := strings.Count(name, "/") + 1; maxDepth > 0 && depth > maxDepth {
		return fmt.Errorf("%w: %d components, the limit is %d", ErrNameTooLong, depth, maxDepth)
	}
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > MaxComponentLength {
			return fmt.Errorf("%w: a component of %d bytes, the limit is %d", ErrNameTooLong, len(c), MaxComponentLength)
		}
	}
	return nil
}

func pickLimit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt64 - 1 // room for the +1 probe when copying
	}
	return v
}

// planned is one entry that passed the checks.
type planned struct {
	f   *zip.File
	rel string // destination-relative slash path
	dir bool
}

// planExtract checks every entry and returns what to write, in order.
func planExtract(zr *zip.Reader, strip int, lim limits) ([]planned, error) {
	if len(zr.File) > lim.entries {
		return nil, entryErr(zr.File[lim.entries].Name, ErrTooManyEntries,
			"archive has %d entries, the limit is %d", len(zr.File), lim.entries)
	}
	var (
		plan     []planned
		files    = map[string]bool{}
		dirs     = map[string]bool{} // explicit and implied
		explicit = map[string]bool{}
		total    uint64
	)
	for _, f := range zr.File {
		name := f.Name
		isDir := strings.HasSuffix(name, "/") || f.Mode().IsDir()
		clean := name
		if isDir && name != "/" {
			clean = strings.TrimSuffix(name, "/")
		}
		if err := CheckNameSize(clean, lim.nameLen, lim.depth); err != nil {
			return nil, &EntryError{Name: name, Err: err}
		}
		if err := CheckName(clean); err != nil {
			return nil, &EntryError{Name: name, Err: err}
		}
		switch m := f.Mode(); {
		case m&fs.ModeSymlink != 0:
			return nil, entryErr(name, ErrSymlink, "link entries are not allowed")
		case m.Type()&^fs.ModeDir != 0:
			return nil, entryErr(name, ErrFileType, "%v", m.Type())
		}
		comps := strings.Split(clean, "/")
		if len(comps) <= strip {
			if isDir {
				continue
			}
			return nil, entryErr(name, ErrShortName, "%d components, %d to strip", len(comps), strip)
		}
		rel := strings.Join(comps[strip:], "/")
		switch {
		case isDir && explicit[rel], !isDir && files[rel]:
			return nil, entryErr(name, ErrDuplicate, "")
		case files[rel]:
			return nil, entryErr(name, ErrConflict, "%q is also a file", rel)
		case !isDir && dirs[rel]:
			return nil, entryErr(name, ErrConflict, "%q is also a directory", rel)
		}
		parents := parentDirs(rel)
		for _, d := range parents {
			if files[d] {
				return nil, entryErr(name, ErrConflict, "%q is also a file", d)
			}
		}
		for _, d := range parents {
			dirs[d] = true
		}
		if isDir {
			dirs[rel], explicit[rel] = true, true
		} else {
			files[rel] = true
			if f.UncompressedSize64 > uint64(lim.file) {
				return nil, entryErr(name, ErrTooLarge, "header says %d bytes, the limit per file is %d", f.UncompressedSize64, lim.file)
			}
			total += f.UncompressedSize64
			if total > uint64(lim.total) {
				return nil, entryErr(name, ErrTooLarge, "headers say %d bytes so far, the limit is %d", total, lim.total)
			}
		}
		plan = append(plan, planned{f: f, rel: rel, dir: isDir})
	}
	return plan, nil
}

type extractor struct {
	opts    ExtractOptions
	lim     limits
	written int64
	// stack holds the open directories from dest down to the one last
	// entered; stack[0] is dest itself.
	stack []openDir
	// ops counts file system calls made through a Root, each naming one
	// component relative to an open directory.
	ops int
}

// openDir is a directory of dest known to be real (not a link), open.
type openDir struct {
	rel  string // slash path from dest, "" for dest
	root *os.Root
}

func (x *extractor) closeAll() {
	for _, d := range x.stack {
		d.root.Close()
	}
	x.stack = nil
}

func (x *extractor) extract(p planned, st *Stats) error {
	if p.dir {
		if _, err := x.enter(p.rel); err != nil {
			return err
		}
		st.Dirs++
		return nil
	}
	dir, base := "", p.rel
	if i := strings.LastIndexByte(p.rel, '/'); i >= 0 {
		dir, base = p.rel[:i], p.rel[i+1:]
	}
	parent, err := x.enter(dir)
	if err != nil {
		return err
	}
	n, err := x.writeFile(parent, base, p)
	if err != nil {
		return err
	}
	st.Files++
	st.Bytes += n
	return nil
}

// enter returns the open directory rel of dest, leaving directories that
// are not its ancestors and creating (or checking) the missing ones one
// component at a time: a link or a non-directory on the way is refused.
func (x *extractor) enter(rel string) (*os.Root, error) {
	for len(x.stack) > 1 {
		top := x.stack[len(x.stack)-1].rel
		if rel == top || strings.HasPrefix(rel, top+"/") {
			break
		}
		x.stack[len(x.stack)-1].root.Close()
		x.stack = x.stack[:len(x.stack)-1]
	}
	top := x.stack[len(x.stack)-1]
	rest := strings.TrimPrefix(strings.TrimPrefix(rel, top.rel), "/")
	for rest != "" {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		d := c
		if top.rel != "" {
			d = top.rel + "/" + c
		}
		r, err := x.child(top.root, c, d)
		if err != nil {
			return nil, err
		}
		top = openDir{rel: d, root: r}
		x.stack = append(x.stack, top)
	}
	return top.root, nil
}

// child opens directory name of parent (d is its path from dest, for
// errors), creating it when missing.
func (x *extractor) child(parent *os.Root, name, d string) (*os.Root, error) {
	x.ops++
	fi, err := parent.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		x.ops += 2
		if err = parent.Mkdir(name, 0o755); err == nil {
			err = parent.Chmod(name, 0o755) // exact bits whatever the umask
		}
		if err != nil {
			return nil, fmt.Errorf("creating directory %q: %w", d, err)
		}
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%w: %q in the destination is a link, not followed", ErrSymlink, d)
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %q in the destination is not a directory", ErrConflict, d)
	}
	x.ops++
	r, err := parent.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("opening directory %q: %w", d, err)
	}
	return r, nil
}

// writeFile writes one file entry, named base in parent, and returns its
// size.
func (x *extractor) writeFile(parent *os.Root, base string, p planned) (n int64, err error) {
	x.ops++
	fi, err := parent.Lstat(base)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if exists && fi.IsDir() {
		return 0, fmt.Errorf("%w: %q in the destination is a directory", ErrConflict, p.rel)
	}
	// A new file is created exclusively in place; an existing one (or a
	// link) is replaced by renaming a fresh file over it.
	path := base
	var out *os.File
	x.ops++
	if exists {
		out, path, err = x.createTemp(parent)
	} else {
		out, err = parent.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			parent.Remove(path)
		}
	}()
	head, n, err := x.copyContent(out, p.f)
	if err != nil {
		return n, err
	}
	if err = out.Chmod(x.mode(p, head)); err != nil {
		return n, err
	}
	err = out.Close()
	out = nil
	if err != nil {
		return n, err
	}
	if exists {
		x.ops++
		if err = parent.Rename(path, base); err != nil {
			return n, err
		}
	}
	return n, nil
}

// createTemp creates a temporary file in parent; its name does not grow
// with the name it replaces, so it fits wherever that one does.
func (x *extractor) createTemp(parent *os.Root) (*os.File, string, error) {
	for range 100 {
		p := ".extract" + strconv.FormatUint(rand.Uint64(), 36) + ".tmp"
		f, err := parent.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, p, err
	}
	return nil, "", errors.New("no free temporary file name")
}

// copyContent decompresses f into out itself (so no header field limits
// or sizes the read), counting bytes against the limits and checking the
// header's size and CRC-32 at the end. It returns the first HeadSize bytes.
func (x *extractor) copyContent(out io.Writer, f *zip.File) ([]byte, int64, error) {
	if f.Flags&0x1 != 0 {
		return nil, 0, fmt.Errorf("encrypted entry: %w", zip.ErrAlgorithm)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, 0, err
	}
	var r io.Reader
	switch f.Method {
	case zip.Store:
		r = raw
	case zip.Deflate:
		fr := flate.NewReader(raw)
		defer fr.Close()
		r = fr
	default:
		return nil, 0, fmt.Errorf("compression method %d: %w", f.Method, zip.ErrAlgorithm)
	}
	limit, perFile := x.lim.file, true
	if left := x.lim.total - x.written; left < limit {
		limit, perFile = left, false
	}
	crc := crc32.NewIEEE()
	head := &headWriter{}
	n, err := io.Copy(io.MultiWriter(out, crc, head), io.LimitReader(r, limit+1))
	x.written += n
	if err != nil {
		return nil, n, fmt.Errorf("reading content: %w", err)
	}
	if n > limit {
		if perFile {
			return nil, n, fmt.Errorf("%w: more than %d bytes, the limit per file", ErrTooLarge, x.lim.file)
		}
		return nil, n, fmt.Errorf("%w: the archive unpacks to more than %d bytes, the limit", ErrTooLarge, x.lim.total)
	}
	if uint64(n) != f.UncompressedSize64 {
		return nil, n, fmt.Errorf("%w: content is %d bytes, header says %d", zip.ErrFormat, n, f.UncompressedSize64)
	}
	if f.CRC32 != 0 && crc.Sum32() != f.CRC32 {
		return nil, n, fmt.Errorf("content: %w", zip.ErrChecksum)
	}
	return head.b, n, nil
}

// mode gives the permission bits of a file entry.
func (x *extractor) mode(p planned, head []byte) fs.FileMode {
	if hasUnixMode(p.f) {
		return p.f.Mode().Perm() &^ 0o022
	}
	if x.opts.ModeLess == nil {
		return 0o644
	}
	return x.opts.ModeLess(p.rel, head).Perm()
}

// hasUnixMode reports an entry made on a Unix-like host that records a
// mode, the kind archive/zip's FileHeader.Mode decodes from Unix bits.
func hasUnixMode(f *zip.File) bool {
	const creatorUnix, creatorMacOSX = 3, 19
	host := f.CreatorVersion >> 8
	return (host == creatorUnix || host == creatorMacOSX) && f.ExternalAttrs>>16 != 0
}

// headWriter keeps the first HeadSize bytes written to it.
type headWriter struct{ b []byte }

func (h *headWriter) Write(p []byte) (int, error) {
	if room := HeadSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
