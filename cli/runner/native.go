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

// Path is where make sees host path: itself, or below the sandbox's Root.
func (n *Native) Path(host string) string      { return n.Sandbox.inside(host) }
func (n *Native) MosPath(mosDir string) string { return n.Path(mosDir) }

func (n *Native) Run(ctx context.Context, job *Job) error {
	mk := n.Make
	if mk == "" {
		mk = "make"
	}
	appDir := n.Path(job.AppDir)
	args := makeArgs(job, appDir, n.Path(job.Makefile))
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
		cc = n.Ccache.prepare(job, appDir, true, n.Sandbox != nil, n.Sandbox != nil && n.Sandbox.Root != "", n.Path)
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
		cmd = exec.Command(bin, n.Sandbox.bwrapArgs(appDir, append([]string{path}, args...), cc.sandboxed(n.Ccache))...)
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
