package remote

// unsupportedDeleteErr is what wine, FAT/exFAT and some network drives
// answer to the POSIX-style delete of os.Root and os.RemoveAll.
var unsupportedDeleteErr error = errInvalidFunction
