// Package filetree lists, hashes, compares and synchronises file trees.
//
// The build server uses it to bring an unpacked upload into a reused build
// context file by file: List the upload, read the listing of the previous
// upload (ReadIndex), Sync, then store the new listing (WriteIndex).
// Unchanged files are not touched, so they keep their mtimes (and inodes)
// and make rebuilds only what changed; paths that appear in neither listing
// (build/, fetched deps) are never touched. The client uses List and Diff
// for delta transfer, with a HashCache so unchanged trees are not re-read.
//
// Paths are slash-separated and relative to the tree root. A file's mode is
// its permission bits; a mode change counts as a change (the stock server
// compares content only).
package filetree
