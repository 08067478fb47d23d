package remote

import (
	"io/fs"
)

// modeMatters: Windows keeps no permission bits (but read-only), so a
// kept file's mode never needs correcting.
func modeMatters(have, want fs.FileMode) bool { return false }
