//go:build unix

package harness

import "syscall"

func syncDisks() { syscall.Sync() }
