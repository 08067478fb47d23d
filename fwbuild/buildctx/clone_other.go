//go:build !linux

package buildctx

import "os"

const oNoFollow = 0

// cloneFile: no reflinks here; the caller copies.
func cloneFile(out, in *os.File) bool { return false }
