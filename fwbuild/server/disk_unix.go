//go:build unix

package server

import "syscall"

// diskSpace is the size, free space (for unprivileged users) and used
// space of the file system holding dir; zeros when unknown.
func diskSpace(dir string) (size, free, used int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, 0
	}
	bs := int64(st.Bsize)
	size = int64(st.Blocks) * bs
	free = int64(st.Bavail) * bs
	used = size - int64(st.Bfree)*bs
	return size, free, used
}
