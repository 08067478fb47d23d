//go:build unix && !linux

package builder

import (
	"os/exec"
	"syscall"
)

// dieWithServer: no Pdeathsig here; an orphaned build keeps its context
// locked (it holds the lock file) until it ends.
func dieWithServer(attr *syscall.SysProcAttr, pidNamespace bool) {}

func startChild(cmd *exec.Cmd, log string) error { return cmd.Start() }
