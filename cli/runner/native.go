package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Native runs make directly with the toolchain on PATH: used with
// --build-runner native and inside an SDK container (MGOS_SDK_REVISION set).
type Native struct {
	Make string // make binary; "make" when empty
	// Sandbox, when set, runs make under bwrap (see Sandbox).
	Sandbox *Sandbox
	// Ccache, when set, puts ccache in front of the compilers (see Ccache).
	Ccache *Ccache
}

func (n *Native) Path(host string) string      { return host }
func (n *Native) MosPath(mosDir string) string { return mosDir }

func (n *Native) Run(ctx context.Context, job *Job) error {
	mk := n.Make
	if mk == "" {
		mk = "make"
	}
	args := makeArgs(job, job.AppDir, job.Makefile)
	fmt.Fprintf(job.Log, "Make arguments: %s\n", strings.Join(args, " "))
	if job.DryRun {
		return nil
	}
	path, err := exec.LookPath(mk)
	if err != nil {
		return fmt.Errorf("%s not found on PATH: %w", mk, err)
	}
	var cc *ccacheRun
	if n.Ccache != nil {
		cc = n.Ccache.prepare(job, job.AppDir, true, n.Sandbox != nil, func(p string) string { return p })
		defer cc.close()
	}
	cmd := exec.Command(path, args...)
	if cc != nil {
		cmd.Env = cc.environ(os.Environ())
	}
	if n.Sandbox != nil {
		bin, err := exec.LookPath(n.Sandbox.bwrap())
		if err != nil {
			return fmt.Errorf("%w: %s not found (install the bubblewrap package)", ErrNoSandbox, n.Sandbox.bwrap())
		}
		cmd = exec.Command(bin, n.Sandbox.bwrapArgs(job.AppDir, append([]string{path}, args...), cc.sandboxed(n.Ccache))...)
		fmt.Fprintf(job.Log, "Sandbox: bwrap, no network, writable: %s\n", strings.Join(n.Sandbox.Writable, " "))
	}
	defer cc.report(job.Log)
	cmd.Stdout = job.Log
	cmd.Stderr = job.Log
	if err := runKillable(ctx, cmd); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%w: %v", ErrMakeFailed, err)
		}
		return fmt.Errorf("running make: %w", err)
	}
	return nil
}
