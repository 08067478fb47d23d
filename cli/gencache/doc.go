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
//	gen/<id>/gen/...       the copy of build/gen
//	gen/<id>.lock          lock file of the entry
//	contexts.json          the NAME -> server context map
//	contexts.json.lock     its lock file
//
// <id> is a hash of the key. An entry is replaced by building the new copy
// beside it and renaming it in under the entry's file lock, and the map is
// rewritten to a temporary file renamed over the old one under its lock, so
// parallel CI jobs sharing a mos dir never see half a copy or lose an
// update.
package gencache
