package archive

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinels wrapped by the errors of this package; test with errors.Is.
var (
	// ErrNotZip: the input is not a readable zip archive.
	ErrNotZip = errors.New("not a zip archive")
	// ErrUnsafeName: an entry name that is empty, absolute, has a drive
	// letter, a backslash, a "..", "." or empty component, or cannot be a
	// file name on this system.
	ErrUnsafeName = errors.New("unsafe name")
	// ErrNameTooLong: an entry name with more bytes or components than
	// allowed, or a component longer than MaxComponentLength.
	ErrNameTooLong = errors.New("name too long")
	// ErrShortName: an entry has no more components than StripComponents.
	ErrShortName = errors.New("too few path components to strip")
	// ErrSymlink: a symbolic link entry, or a symbolic link in the
	// destination where an entry needs a directory.
	ErrSymlink = errors.New("symbolic link")
	// ErrFileType: an entry (or a file on disk) that is neither a regular
	// file nor a directory: device, pipe, socket.
	ErrFileType = errors.New("not a regular file or directory")
	// ErrDuplicate: two entries name the same path.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrConflict: a file where a directory is needed, or the reverse,
	// within the archive or against what is already in the destination.
	ErrConflict = errors.New("file and directory clash")
	// ErrTooManyEntries: the archive has more entries than allowed.
	ErrTooManyEntries = errors.New("too many entries")
	// ErrTooLarge: an entry or the whole archive unpacks to more bytes than
	// allowed.
	ErrTooLarge = errors.New("too large")
	// ErrMode: a mode given to the Writer has bits other than permissions.
	ErrMode = errors.New("not a plain permission mode")
)

// EntryError is the error for one entry of an archive being read or written.
type EntryError struct {
	Name string // the entry name as it is (or would be) in the archive
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %s: %v", QuotePrefix(e.Name), e.Err) }

// quoteMax is how many bytes of a name an error message quotes.
const quoteMax = 100

// QuotePrefix quotes s as %q does, or only its first bytes followed by
// "..." and its length when it is long, so a hostile name never fills a
// message or a log line.
func QuotePrefix(s string) string {
	if len(s) <= quoteMax {
		return fmt.Sprintf("%q", s)
	}
	cut := quoteMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

func (e *EntryError) Unwrap() error { return e.Err }

func entryErr(name string, sentinel error, format string, args ...any) *EntryError {
	if format == "" {
		return &EntryError{Name: name, Err: sentinel}
	}
	return &EntryError{Name: name, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}
