package buildctx

import (
	"os"
	"strings"
	"syscall"
)

// bootID names this boot of the machine; a power loss always ends one.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func syncDisks() { syscall.Sync() }
