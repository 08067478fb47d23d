// Package verify checks, now and then, that an incremental build in a
// reused context gave what a clean build of the same upload gives
// (fwbuild-manager --verify-fraction).
//
// After a successful incremental build, while the server still holds the
// context's lock, Offer picks the build with probability Fraction. A
// picked build is snapshotted into a dir of its own under the server's
// temp area: the uploaded files as the context's index lists them (each
// hashed on the way and checked against the index), build_params.yml,
// and the result to compare (build/fw.zip, build/gen/, build/fs/). Copies,
// never links, so the context's next build cannot write through them.
// Snapshots wait in a bounded queue (when full, the oldest is dropped and
// counted as skipped; builds never wait for it) and within a bound of
// bytes kept.
//
// One worker takes them in turn. It starts a clean build of a snapshot
// only when a build slot is idle and no build waits for one
// (queue.TryIdleSlot), so a build arriving meanwhile waits for that one
// verification at most. The clean build runs through the server's runner,
// without the compile cache, and its build dir is compared with the
// snapshot by fwcompare.BuildDirs (ELF loaded sections, fw.zip parts,
// generated config, build/fs; build id and timestamp aside).
//
// Outcomes:
//   - equal: counted;
//   - mismatch (a difference, a clean build that failed where the
//     incremental one succeeded, or a context whose files no longer match
//     its index): the context is marked dirty so its next build starts
//     afresh, the first difference is logged (glog Warning), counted and
//     kept for the status page;
//   - error (the snapshot or the clean build could not be made, nothing
//     to compare): counted and logged, the context is left as it is.
//
// Recovery: snapshots live in the server's temp area, which the server
// removes when it stops and, if it died, when a server next starts on the
// same volumes dir; New also removes verify_* dirs it finds in the dir it
// is given. Close drops what is queued (counted as skipped), stops a
// running clean build and removes every snapshot.
package verify
