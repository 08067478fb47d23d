// Package execbits decides the Unix mode a file gets in a remote build's
// upload, so that scripts the build runs directly (the mongoose-os module's
// tools/mgos_fw_meta.py) stay executable on the server whatever the disk
// of the client says.
//
// The mode of a file comes from the first source that knows it:
//
//  1. Its entry in the index of the git work tree holding it (the nearest
//     dir upwards with a .git; a deps/<lib> clone is its own work tree):
//     100755 is 0755, 100644 is 0644, whatever the disk says. A Windows
//     checkout, or one made with core.fileMode=false, has no exec bits on
//     disk but keeps them in the index. A symlink entry (120000) is not
//     uploaded at all.
//  2. The file's mode on disk, for a file git does not track, when the
//     disk keeps modes: not on Windows, not in a work tree whose
//     core.fileMode is false, and on Linux not on a file system that makes
//     modes up (see fakesModes in modes_linux.go): any x bit gives 0755.
//  3. Its first two bytes: "#!" gives 0755, also for a file that is 0644
//     on a disk keeping modes (a script that lost its bit on the way, as
//     a copy through a Windows share or a mode-less archive leaves it).
//  4. Anything else is 0644.
//
// Without git on PATH the index is not consulted: rules 2 to 4 decide.
package execbits
