// Package runner runs a platform build's make: natively with the toolchain
// on PATH, or in the SDK's Docker image with the app, the core and every
// dir the build reads mounted, as upstream mos does.
package runner

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// Job is one run of make for a platform build. Paths are host paths; a
// runner maps them to what make sees.
type Job struct {
	AppDir   string   // make -C
	MosDir   string   // the mongoose-os module (MGOS_PATH)
	Makefile string   // platforms/<p>/Makefile.build
	Target   string   // make goal
	Jobs     int      // make -j
	Vars     []string // NAME=value arguments (or MGOS_VARS_FILE=<file>)
	Extra    []string // --build-cmd-extra, appended last
	Mounts   []string // dirs make reads or writes besides AppDir and MosDir
	Writes   []string // dirs make writes (build and gen dirs); a sandboxed container's user gets them
	Log      io.Writer
	DryRun   bool // log what would run, run nothing
}

// Runner runs make for a Job.
type Runner interface {
	// Path maps a host path to the path make sees (what vars.mk must say).
	Path(host string) string
	// MosPath is the MGOS_PATH make sees for the host mos dir.
	MosPath(mosDir string) string
	// Run runs make and returns an error if it fails or ctx ends first.
	Run(ctx context.Context, job *Job) error
}

// makeArgs is the argv after "make" (local-build.md §4.2).
func makeArgs(job *Job, appDir, makefile string) []string {
	args := []string{"-j", strconv.Itoa(job.Jobs), "-C", appDir, "-f", makefile, job.Target}
	args = append(args, job.Vars...)
	return append(args, job.Extra...)
}

// ErrMakeFailed is returned (wrapped) when make ran and exited non-zero.
var ErrMakeFailed = fmt.Errorf("make failed")
