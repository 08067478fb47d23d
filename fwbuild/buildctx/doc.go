// Package buildctx keeps the build contexts of the server on disk: where
// they live, how they are named, created, reused, started afresh and
// locked, and how an unpacked upload is brought into one.
//
// Layout under the volumes dir (names are checked, so each is one plain
// path component and a context name, letters, digits and _ only, never
// clashes with the metadata beside it):
//
//	<volumes>/<version>/apps/<app>/<platform>/build_contexts/
//	    <name>/               the context: uploaded files, deps fetched by
//	                          mos, build_params.yml, tmp/, build/
//	    <name>.index.json     listing of the upload last synced into it
//	    <name>.dirty          present while the context is not known to
//	                          match its index; it is then started afresh
//	    <name>.lock           flock held by the build using the context (and
//	                          inherited by the build's processes); its mtime
//	                          is the context's last use
//	    <name>.output.log     stdout and stderr of the last mos run
//	    <name>.owner          namespace the context belongs to ("user:alice",
//	                          "team:fw"); absent for the anonymous namespace
//	                          of a server without accounts (such a context
//	                          is adopted, started afresh, by the first named
//	                          namespace that claims it); kept when the
//	                          context is removed (CollectOptions.OwnerTTL)
//
// Update, in short:
//
//	if clean requested, or <name>.dirty exists, or no usable index, or
//	   the context dir is missing:
//	    mark dirty; delete index and context; rename upload to context;
//	    write index; unmark
//	else:
//	    filetree.Sync(upload -> context, by the two listings)
//	    nothing changed and a conflict -> start afresh as above
//	    failed after changing files   -> mark dirty, fail (next time: afresh)
//	    success                       -> write index
//
// So unchanged files keep their mtimes, paths never uploaded (build/,
// fetched deps, tmp/, build_params.yml) are left alone, and a context is
// never used half-updated.
//
// Collect bounds the contexts by age and total size, least recently used
// first, skipping any whose lock is held; it removes a context with its
// metadata and lock file, and Lock makes sure the lock it takes is on the
// file the path names, so a waiter on a removed lock file locks anew.
package buildctx
