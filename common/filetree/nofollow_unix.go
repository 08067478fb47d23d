//go:build unix

package filetree

import "syscall"

// oNoFollow makes open fail on a final symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW
