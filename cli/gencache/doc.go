// Package gencache keeps, under the user's mos dir, what a remote build
// needs to find its server context again after build/ was wiped: a copy of
// build/gen (build_ctx.txt, build_stat.json and the generated headers an
// IDE indexes) per server, app dir, platform and context name, and the map
// from a client-side context name (--build-context NAME) to the context the
// server actually uses.
//
// Layout under <mos dir>/remote-cache:
//
//	gen/<id>/key.json      the entry's key, for humans
//	gen/<id>/current       names the live version, v-<random>
//	gen/<id>/v-<random>/   a version: the copy of build/gen
//	gen/<id>.lock          lock file of the entry
//	contexts.json          the NAME -> server context map
//	contexts.json.lock     its lock file
//
// <id> is a hash of the key. An entry is replaced under its file lock by
// writing the new copy as a version nothing names yet, then renaming a new
// "current" over the old one, then removing the old version, so a process
// killed at any instant leaves the old copy or the new one readable, and
// the next save removes what it left (see Save). Entries of older mos
// versions (gen/<id>/gen/, no "current") are read and replaced the same
// way. Where the system's delete is refused (Windows: wine, FAT/exFAT,
// some network drives answer "Invalid function"), removal falls back to
// plain deletes. The map is rewritten to a temporary file renamed over the
// old one under its lock, so parallel CI jobs sharing a mos dir never see
// half a copy or lose an update.
package gencache
