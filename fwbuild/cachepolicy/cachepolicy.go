// Package cachepolicy says which compile cache a build of the server
// uses, so that what one namespace's builds write no other namespace's
// build reads:
//
//	<ccache-dir>/ns/<id>   the namespace's own cache, read-write to its builds
//	<ccache-dir>/base      the shared base cache: read-only to every build
//	                       but those of the trusted group, which fill it
//
// and, on a redis remote, keys under mos:ns:<id>: (read-write) and
// mos:base: (read, written by trusted builds only). <id> is a hash of
// the namespace ("user:alice", "team:fw"; "" without accounts, where all
// builds are one namespace). The model is the one Bazel recommends for
// remote caches: only trusted builders upload to what everybody reads.
package cachepolicy

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// Build is the compile cache of one build.
type Build struct {
	Dir       string // the namespace's cache dir (mos --ccache=DIR)
	Base      string // the shared base cache (mos --ccache-base)
	BaseWrite bool   // the build fills the base (mos --ccache-base-write)
	Namespace string // key namespace on the remote (mos --ccache-namespace)
}

// BaseDir is the shared base cache below the server's cache dir root.
func BaseDir(root string) string { return filepath.Join(root, "base") }

// ID is the name of namespace ns in paths and keys: a hash, so that
// nothing a user chose ends up in a path, and every name fits.
func ID(ns string) string {
	h := sha256.Sum256([]byte("mos-ccache-ns\x00" + ns))
	return hex.EncodeToString(h[:12])
}

// For is the cache of a build in namespace ns under root; trusted says
// the build's account is in the group trusted to fill the base cache.
func For(root, ns string, trusted bool) Build {
	id := ID(ns)
	return Build{
		Dir:       filepath.Join(root, "ns", id),
		Base:      BaseDir(root),
		BaseWrite: trusted,
		Namespace: id,
	}
}
