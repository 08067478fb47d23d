package gencache

import "github.com/mongoose-os/mos/common/filetree"

// unsupportedDeleteErr is what wine, FAT/exFAT and some network drives
// answer to the POSIX-style delete of os.RemoveAll.
var unsupportedDeleteErr error = filetree.ErrInvalidFunction
