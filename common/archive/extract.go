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
	"path/filepath"
	"strconv"
	"strings"
)

// Limits used by Extract for ExtractOptions fields left at 0. They suit a
// build server unpacking a source upload that includes deps/ (the
// mongoose-os module alone is a few thousand files) and a client unpacking
// a build result (firmware images, an ELF with debug info).
const (
	DefaultMaxEntries    = 50000
	DefaultMaxTotalBytes = 1 << 30   // 1 GiB
	DefaultMaxFileBytes  = 256 << 20 // 256 MiB
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
// CheckName), a symbolic link (ErrSymlink) or other special entry
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
	var st Stats
	lim := opts.limits()
	plan, err := planExtract(zr, opts.StripComponents, lim)
	if err != nil {
		return st, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return st, fmt.Errorf("creating destination: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return st, fmt.Errorf("opening destination: %w", err)
	}
	defer root.Close()
	x := &extractor{root: root, opts: opts, lim: lim, dirs: map[string]bool{}}
	for _, p := range plan {
		if err := x.extract(p, &st); err != nil {
			return st, &EntryError{Name: p.f.Name, Err: err}
		}
	}
	return st, nil
}

type limits struct {
	entries     int
	total, file int64
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
	return l
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
	root    *os.Root
	opts    ExtractOptions
	lim     limits
	written int64
	dirs    map[string]bool // known to be real directories in dest
}

func (x *extractor) extract(p planned, st *Stats) error {
	if p.dir {
		if err := x.mkdirs(p.rel); err != nil {
			return err
		}
		st.Dirs++
		return nil
	}
	if i := strings.LastIndexByte(p.rel, '/'); i >= 0 {
		if err := x.mkdirs(p.rel[:i]); err != nil {
			return err
		}
	}
	n, err := x.writeFile(p)
	if err != nil {
		return err
	}
	st.Files++
	st.Bytes += n
	return nil
}

// mkdirs makes sure every component of rel is a real directory in dest,
// creating missing ones, refusing links and non-directories.
func (x *extractor) mkdirs(rel string) error {
	comps := strings.Split(rel, "/")
	for i := range comps {
		d := strings.Join(comps[:i+1], "/")
		if x.dirs[d] {
			continue
		}
		osd := filepath.FromSlash(d)
		fi, err := x.root.Lstat(osd)
		if errors.Is(err, fs.ErrNotExist) {
			if err = x.root.Mkdir(osd, 0o755); err == nil {
				err = x.root.Chmod(osd, 0o755) // exact bits whatever the umask
			}
			if err != nil {
				return fmt.Errorf("creating directory %q: %w", d, err)
			}
			x.dirs[d] = true
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: %q in the destination is a link, not followed", ErrSymlink, d)
		case !fi.IsDir():
			return fmt.Errorf("%w: %q in the destination is not a directory", ErrConflict, d)
		}
		x.dirs[d] = true
	}
	return nil
}

// writeFile writes one file entry and returns its size.
func (x *extractor) writeFile(p planned) (n int64, err error) {
	target := filepath.FromSlash(p.rel)
	fi, err := x.root.Lstat(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if exists && fi.IsDir() {
		return 0, fmt.Errorf("%w: %q in the destination is a directory", ErrConflict, p.rel)
	}
	// A new file is created exclusively in place; an existing one (or a
	// link) is replaced by renaming a fresh file over it.
	path := target
	var out *os.File
	if exists {
		out, path, err = x.createTemp(target)
	} else {
		out, err = x.root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			x.root.Remove(path)
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
		if err = x.root.Rename(path, target); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (x *extractor) createTemp(target string) (*os.File, string, error) {
	dir, base := filepath.Split(target)
	for range 100 {
		p := dir + "." + base + ".tmp" + strconv.FormatUint(rand.Uint64(), 36)
		f, err := x.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, p, err
	}
	return nil, "", fmt.Errorf("no free temporary name next to %q", target)
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
