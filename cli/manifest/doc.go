// Package manifest is the manifest engine: it reads an app's mos.yml, its
// platform submanifest, the built-in root manifest and every lib's
// manifest, resolves libs, conds and ${...} expressions with upstream mos's
// semantics, and produces the final manifest that a platform build consumes.
//
// Where lib and module files come from is not its business: a Provider
// supplies their dirs (package libs in real builds).
//
// Resolve works in these steps (shared/spec/manifest.md has the details):
//
//	app := read mos.yml + mos_<platform>.yml + CLI build vars
//	add core, --lib-extra, MGOS, --cdef, extra flags
//	loop:
//	    discover libs level by level (each read like the app)
//	    libs order := post-order of the deps graph; init order from the
//	                  init graph with globs matched against the libs
//	    aggregate := root manifest, libs in libs order, app, merged in turn
//	    while the aggregate has conds:
//	        apply the app's conds, then each lib's, decided against it;
//	        if one added libs: continue loop
//	        rebuild the aggregate
//	finalize: expand texts, prepare modules, resolve path lists to files,
//	          lib sources or prebuilt binaries, deps manifest, deps init C
//
// Nothing depends on the process state: relative paths resolve against
// Request.Cwd, and the engine writes no file (package genfiles does).
package manifest
