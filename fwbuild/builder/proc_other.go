//go:build !unix

package builder

import (
	"os"
	"os/exec"
)

const oNoFollow = 0

type signal int

const (
	sigTerm signal = iota
	sigKill
)

func setProcessGroup(cmd *exec.Cmd, pidNamespace bool) {}

func startChild(cmd *exec.Cmd, log string) error { return cmd.Start() }

// signalGroup kills the child itself: there are no process groups here.
func signalGroup(cmd *exec.Cmd, sig signal) {
	_ = cmd.Process.Signal(os.Kill)
}
