// Package archive writes and reads the zip files of the remote build: the
// source zip the client uploads and the result zip the server sends back.
//
// The Writer gives every entry an explicit slash-separated name and an
// explicit Unix mode, recorded the way a stock unzip applies it (creator host
// Unix, "version made by" 0x0314, mode in the external attributes), and
// produces the same bytes for the same inputs. AddTree packs a directory; a
// ResultFilter reproduces the stock server's choice of result files.
//
// Extract unpacks an untrusted zip into a directory and refuses, as a whole,
// any archive that could write outside it or exhaust the disk: entries with
// ".." components, absolute or drive-letter names, backslashes, symbolic
// links or other special files, duplicates, file/directory clashes, too many
// entries or too many bytes (counted as they are written, whatever the
// headers claim). It never follows a symbolic link found in the
// destination. Entries without a Unix mode (every stock client writes them
// so) get their permissions from a caller's policy such as ShebangMode.
//
// Errors about one entry are *EntryError values wrapping one of the Err*
// sentinels (or a zip.ErrFormat / zip.ErrChecksum / zip.ErrAlgorithm from
// archive/zip), so callers decide with errors.Is and print the message.
package archive
