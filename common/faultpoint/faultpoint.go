// Package faultpoint kills this process at a named point of its work, for
// the fault-injection tests (e2e/faults): with MOS_FAULTPOINT=name:N in
// the environment, the Nth call of Hit(name) sends SIGKILL to the process
// itself, as a crash, an OOM kill or a power cut would stop it: nothing
// deferred runs, nothing is flushed. With MOS_FAULTPOINT_TRACE=file, each
// Hit appends its name to file, so a test can count the points of a run
// and pick where to kill the next one.
//
// Both variables are read once and removed from the environment, so the
// processes this one starts (the build's mos, make) do not inherit them.
// Unset, as outside those tests, Hit costs one atomic load.
package faultpoint

import (
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	// EnvKill is name:N: die at the Nth Hit(name).
	EnvKill = "MOS_FAULTPOINT"
	// EnvTrace is a file each Hit appends its name to.
	EnvTrace = "MOS_FAULTPOINT_TRACE"
)

var (
	armed atomic.Bool
	mu    sync.Mutex
	name  string
	left  int
	trace *os.File
)

func init() {
	spec, tr := os.Getenv(EnvKill), os.Getenv(EnvTrace)
	os.Unsetenv(EnvKill)
	os.Unsetenv(EnvTrace)
	if n, count, ok := strings.Cut(spec, ":"); ok {
		if c, err := strconv.Atoi(count); err == nil && c > 0 && n != "" {
			name, left = n, c
			armed.Store(true)
		}
	}
	if tr != "" {
		if f, err := os.OpenFile(tr, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
			trace = f
			armed.Store(true)
		}
	}
}

// Hit marks that the process reached point p.
func Hit(p string) {
	if !armed.Load() {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if trace != nil {
		trace.WriteString(p + "\n")
	}
	if p == name {
		left--
		if left == 0 {
			die()
		}
	}
}

// Reader hits p before each Read of r.
func Reader(p string, r io.Reader) io.Reader {
	if !armed.Load() {
		return r
	}
	return &reader{p, r}
}

type reader struct {
	p string
	r io.Reader
}

func (r *reader) Read(b []byte) (int, error) {
	Hit(r.p)
	return r.r.Read(b)
}
