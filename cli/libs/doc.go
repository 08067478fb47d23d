// Package libs finds the files of the libs and modules a build uses, the
// way stock mos does (local-build.md §7, manifest.md §5.6 and §11.4).
//
// Lookup order for a lib: a `--lib NAME:PATH` dir as is, then
// `<libs-dir>/<name>` for each `--libs-dir`, else a git clone under the deps
// dir (`--lib NAME:URL` replaces the location first). Local locations are
// only made absolute. Modules use `--module`/`--repo` and the modules dir.
//
// A git clone is brought to the wanted version with the git command line:
//
//	missing dir            -> git clone (an error if fetching is not allowed)
//	dirty checkout         -> left alone, reported dirty
//	origin URL changed     -> deleted and cloned again
//	HEAD is the wanted SHA -> done
//	unknown ref            -> git fetch --tags --depth 1 origin REF:REF
//	git checkout REF; for a branch git pull when HEAD moved or the clone's
//	mtime is older than the update interval; git checkout .
//
// Each clone dir is guarded by a file lock beside it, so builds in separate
// processes can share a deps dir. With a cache dir, every repo URL also
// gets a bare mirror there; clones are then made from and updated through
// the mirror, which is the only thing that talks to the network, at most
// once per update interval or when a wanted ref is missing.
//
// Prebuilt binaries of libs are release assets on GitHub or GitLab, cached
// in the binary libs dir with empty files marking absent ones.
package libs
