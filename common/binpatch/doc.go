// Package binpatch encodes a file as a binary delta against another
// version of it, and back: zstd with the old version as a raw dictionary
// (what `zstd --patch-from` does), through klauspost/compress. The build
// server sends a result file this way when the client holds a version of
// it; the client rebuilds the file and checks its SHA-256.
package binpatch
