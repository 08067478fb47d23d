// Package remote is the client of a remote firmware build: it stages the
// app (without copying it), zips it with the Unix mode of every file,
// posts it to a build server (the stock fwbuild-manager or ours) and
// installs the server's answer in the build dir.
//
// Unlike the stock client it reuses the server's build context: the
// context name is read from build/gen/build_ctx.txt before anything in
// build/ is touched (or, after build/ was wiped, from a copy of build/gen
// kept under the mos dir by package gencache), and build/ is only emptied
// once the server answered with a result (200 or 418). --build-context
// NAME works against a stock server through a map from NAME to the
// context the server named, kept in the same cache.
//
// Staging reproduces stock (remote-build-protocol.md §3) minus its holes:
// nested dirs named build and in-tree local libs at any depth are
// uploaded; names are always slash-separated; exec bits come from
// package execbits.
package remote
