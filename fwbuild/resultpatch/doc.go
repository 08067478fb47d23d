// Package resultpatch decides which files of a delta result the server
// sends as binary patches (common/binpatch) and keeps, per build context,
// the bases it needs for that: copies of the result files last sent,
// named by SHA-256, in the context's SentDir, bounded in bytes.
//
// A file is patched against
//   - another file of the same result whose content it mostly holds (a
//     firmware zip stores the ELF uncompressed), or
//   - the version the client holds at its path (its have listing), when
//     the server kept that content;
//
// and only when the patch is well below what the file costs deflated.
package resultpatch
