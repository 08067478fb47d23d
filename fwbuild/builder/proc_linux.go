package builder

import (
	"errors"
	"os/exec"
	"sync/atomic"
	"syscall"

	"github.com/golang/glog"
)

// dieWithServer has the kernel SIGKILL the child when the server dies,
// and with pidNamespace makes it PID 1 of a new PID namespace: when it
// dies, every process left in the namespace (make, compilers, its own
// process groups) is killed too.
func dieWithServer(attr *syscall.SysProcAttr, pidNamespace bool) {
	attr.Pdeathsig = syscall.SIGKILL
	if pidNamespace && !noPIDNamespace.Load() {
		attr.Cloneflags |= syscall.CLONE_NEWPID
	}
}

// noPIDNamespace is set once making one was refused (no privilege, or a
// container forbidding it); builds then run without, and say so once.
var noPIDNamespace atomic.Bool

// startChild starts cmd, without its PID namespace if the system refuses
// one.
func startChild(cmd *exec.Cmd, log string) error {
	err := cmd.Start()
	a := cmd.SysProcAttr
	if err == nil || a == nil || a.Cloneflags&syscall.CLONE_NEWPID == 0 ||
		!(errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC)) {
		return err
	}
	if !noPIDNamespace.Swap(true) {
		glog.Warningf("%s: no PID namespace for builds (%v): a build's processes other than mos may outlive a killed server; its context stays locked until they end", log, err)
	}
	a.Cloneflags &^= syscall.CLONE_NEWPID
	// A Cmd starts once: the same command again, without the namespace.
	fresh := exec.Command(cmd.Path)
	fresh.Args, fresh.Dir, fresh.Env = cmd.Args, cmd.Dir, cmd.Env
	fresh.Stdin, fresh.Stdout, fresh.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	fresh.ExtraFiles, fresh.SysProcAttr = cmd.ExtraFiles, a
	*cmd = *fresh
	return cmd.Start()
}
