//go:build unix

package builder

import (
	"os/exec"
	"syscall"
)

const oNoFollow = syscall.O_NOFOLLOW

type signal = syscall.Signal

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// setProcessGroup makes the child the leader of a new process group, so
// signals reach mos and everything it started (make, compilers, docker),
// and makes it die with the server (see dieWithServer).
func setProcessGroup(cmd *exec.Cmd, pidNamespace bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithServer(cmd.SysProcAttr, pidNamespace)
}

// signalGroup signals the child's process group; a group already gone is
// not an error.
func signalGroup(cmd *exec.Cmd, sig signal) {
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
