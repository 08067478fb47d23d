package remote

import "github.com/mongoose-os/mos/common/filetree"

// unsupportedDeleteErr is what wine, FAT/exFAT and some network drives
// answer to the POSIX-style delete of os.Root and os.RemoveAll.
var unsupportedDeleteErr error = filetree.ErrInvalidFunction
