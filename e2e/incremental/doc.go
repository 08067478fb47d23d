// Package incremental proves, on the real Mongoose OS core (../shared/real,
// platform ubuntu), that an incremental build through our server gives the
// firmware a clean build gives. A seeded random sequence of edits is made
// to one app: a .c edited, a header many sources include edited, a source
// added, deleted or renamed, cdefs, cflags or a build var changed in
// mos.yml, a lib added or dropped, config_schema changed, a file under fs/
// changed, the app's own lib edited or switched to another version. After
// every edit the app is built twice: incrementally, in one context that
// lives through the whole sequence (the app dir kept, our client in its
// default delta mode), and cleanly, in a fresh context of a second server
// from a fresh copy of the app dir with a fresh mos home, so no state of
// either side is shared. The two results must be equal as package
// fwcompare sees them: the ELF's loaded sections (build id and timestamp
// aside), fw.zip's manifest parts, the generated config and build/fs.
//
// The reference server compiles through a ccache of its own (not the
// incremental server's), so that a short run fits in make test; with
// -incremental.long it runs with --ccache=false and compiles everything
// for every step.
//
// So that equality cannot come from two stale builds, every step whose
// edit must change the firmware also checks that this step's clean result
// differs from the previous step's: the comparison catches a build that
// missed the edit. And so that it cannot come from two clean builds, an
// edit that leaves the final manifest alone (a .c, the header, the app's
// lib's header, fs/) must compile fewer files incrementally than cleanly;
// the others change the final manifest, which makes mos rebuild cleanly
// in the same context (cli/localbuild).
//
// Flags (after the package on the go test command line):
//
//	-incremental.seed N  the sequence's seed (default: from the clock; it
//	                     is logged at the start and in every failure, with
//	                     the go test command that repeats the run)
//	-incremental.long    40 random steps instead of the short run (one of
//	                     each edit kind, in a seeded order), for a run by hand
package incremental
