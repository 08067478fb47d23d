// Package builder runs one build as a child process of our own mos binary:
//
//	mos build -C <ctx> --local --build-params <ctx>/build_params.yml
//	    --build-runner <docker|native> --libs-cache-dir <volumes>/libcache
//	    --temp-dir <ctx>/tmp --confine <ctx> --fetch-allow <hosts>
//	    [--ccache=<volumes>/ccache/ns/<id> --ccache-base <volumes>/ccache/base
//	     --ccache-namespace <id> [--ccache-base-write]
//	     --ccache-max-size 5G --ccache-remote URL]
//	    [--sandbox --sandbox-hide <volumes> --sandbox-memory ...]
//
// so a server build can be repeated by hand with the logged command line.
// The child runs in its own process group with its stdout and stderr in a
// file beside the context. The child dies with the server (Linux
// Pdeathsig), and runs as the first process of its own PID namespace where
// allowed (Mos.PIDNamespace: as root), so that everything it started dies
// with it; it also inherits the context's lock file, so where something
// of a build does outlive the server, the context stays locked until it
// ends and a restarted server never builds in it meanwhile. When the
// build outlives its timeout (or the
// request goes away) the group gets SIGTERM, mos stops its make and its SDK
// container, and after a grace period the group gets SIGKILL. A failed
// build gets the reason, and what mos printed if it left no log, appended
// to build/build.log so the client sees it.
package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/ccachestats"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/cachepolicy"
)

// Request is one build of a context.
type Request struct {
	Dir          string // context dir (absolute); mos -C
	ParamsFile   string // --build-params
	LibsCacheDir string // --libs-cache-dir
	TempDir      string // --temp-dir
	// OutputFile receives the child's stdout and stderr ("" discards).
	OutputFile string
	// Log prefixes glog lines, e.g. "build ctx=ci_main app=hello platform=esp32".
	Log string
	// LockFile, if set, is the context's open lock file: the child and
	// all it starts inherit it, so the lock outlives the server while any
	// of them runs.
	LockFile *os.File
	// NoCcache builds without the compile cache even where Mos has one:
	// a reference build (verification) must not take objects from it.
	NoCcache bool
	// CcacheNamespace is the namespace of the context ("" without
	// accounts); CcacheTrusted says the build fills the shared base
	// cache (its account is in --ccache-trusted-group). See cachepolicy.
	CcacheNamespace string
	CcacheTrusted   bool
	// Progress, if set, receives build/build.log (make's output) as the
	// build writes it, up to the build's end (see follow).
	Progress io.Writer
}

// Result is how a build ended. A build that ran and failed (non-zero exit,
// killed, timed out) is a Result with Failed set, not an error; errors are
// for a build that could not be run at all.
type Result struct {
	Failed bool
	// Refused: mos refused the build's input (exit protocol.ExitRefused:
	// a path outside the context, a value that cannot be passed
	// literally); Reason is mos's message, for a 400.
	Refused  bool
	Reason   string // why it failed, one line, e.g. "build timed out after 15m0s"
	Duration time.Duration
	// Ccache is what the build's compiles did with the compile cache,
	// from the stats log mos had ccache write (build/ccache-stats.log):
	// the counts its build.log reports. Zero without ccache.
	Ccache ccachestats.Stats
}

// Runner runs builds. Mos is the real one; tests use one that blocks on a
// channel to show queueing by state.
type Runner interface {
	Run(ctx context.Context, req Request) (Result, error)
}

// Mos runs builds with the mos binary.
var _ Runner = (*Mos)(nil)

// Mos runs builds with the mos binary.
type Mos struct {
	Binary      string        // absolute path of mos
	BuildRunner string        // --build-runner: docker or native
	Timeout     time.Duration // 0: none
	KillGrace   time.Duration // between SIGTERM and SIGKILL
	// PIDNamespace runs mos as PID 1 of a new PID namespace (Linux, with
	// the privilege for it; else as without): when mos dies, the kernel
	// kills every process of the build.
	PIDNamespace bool
	// Sandbox runs make isolated (mos --sandbox): natively under bwrap,
	// with docker in a container without network or capabilities. Off
	// only with fwbuild-manager --sandbox none.
	Sandbox *Sandbox
	// Ccache compiles through ccache (mos --ccache=DIR ...); nil: off.
	Ccache *Ccache
	// FetchAllow is mos --fetch-allow, always passed: the hosts a build
	// may fetch from ("" none).
	FetchAllow string
}

// Ccache is the compile cache of the server's builds: its root dir (each
// namespace's cache and the shared base below it, see cachepolicy), the
// size limit of each and the remote storage other servers share ("" none).
type Ccache struct {
	Dir, MaxSize, Remote string
}

// Sandbox is how builds are isolated from the server's host.
type Sandbox struct {
	// VolumesDir is hidden from make (other contexts, the blob store,
	// the lib cache); only the build's context is seen.
	VolumesDir string
	// Docker limits of one build: Memory ("2g"), CPUs ("2"), PIDs.
	Memory, CPUs string
	PIDs         int
}

// Args returns the command line of req, binary first. Every build is
// confined to its context: mos refuses paths that lead outside. The lib
// cache is not among the dirs the build may read: its mirrors may hold
// what only other accounts' credentials can fetch, and the libs a build
// uses are self-contained clones in its context (mos checks access before
// it clones from a mirror).
func (m *Mos) Args(req Request) []string {
	args := []string{
		m.Binary, "build",
		"-C", req.Dir,
		"--local",
		"--build-params", req.ParamsFile,
		"--build-runner", m.BuildRunner,
		"--libs-cache-dir", req.LibsCacheDir,
		"--temp-dir", req.TempDir,
		"--confine", req.Dir,
		"--fetch-allow", m.FetchAllow,
	}
	if cc := m.Ccache; cc != nil && !req.NoCcache {
		// The namespace's own cache dir and redis keys, the shared base
		// read-only unless the build is trusted to fill it.
		p := cachepolicy.For(cc.Dir, req.CcacheNamespace, req.CcacheTrusted)
		// --ccache=DIR: a bare --ccache means the default dir.
		args = append(args, "--ccache="+p.Dir, "--ccache-base", p.Base, "--ccache-namespace", p.Namespace)
		if p.BaseWrite {
			args = append(args, "--ccache-base-write")
		}
		if cc.MaxSize != "" {
			args = append(args, "--ccache-max-size", cc.MaxSize)
		}
		if cc.Remote != "" {
			args = append(args, "--ccache-remote", cc.Remote)
		}
	}
	if sb := m.Sandbox; sb != nil {
		args = append(args, "--sandbox")
		if sb.VolumesDir != "" {
			args = append(args, "--sandbox-hide", sb.VolumesDir)
		}
		if sb.Memory != "" {
			args = append(args, "--sandbox-memory", sb.Memory)
		}
		if sb.CPUs != "" {
			args = append(args, "--sandbox-cpus", sb.CPUs)
		}
		if sb.PIDs > 0 {
			args = append(args, "--sandbox-pids", strconv.Itoa(sb.PIDs))
		}
	}
	return args
}

// FindMos returns the mos binary to use: explicit if given (it must
// exist), else the mos next to the running executable, else mos on PATH.
func FindMos(explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("--mos-binary %s: %w", explicit, err)
		}
		return filepath.Abs(p)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "mos")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath("mos")
	if err != nil {
		return "", fmt.Errorf("no mos next to this executable nor on PATH; give --mos-binary: %w", err)
	}
	return filepath.Abs(p)
}

// Run runs one build; see the package comment.
func (m *Mos) Run(ctx context.Context, req Request) (Result, error) {
	argv := m.Args(req)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = req.Dir
	// A file (not a pipe): Wait returns when mos does, even if something
	// it started still holds its stdout. Without one, the null device.
	if req.OutputFile != "" {
		f, err := os.OpenFile(req.OutputFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return Result{}, fmt.Errorf("%s: creating output file: %w", req.Log, err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if req.LockFile != nil {
		cmd.ExtraFiles = []*os.File{req.LockFile}
	}
	setProcessGroup(cmd, m.PIDNamespace)
	// build/ and build.log are written here, outside the sandbox: never
	// through a link an earlier build left.
	if err := realBuildLog(req.Dir); err != nil {
		return Result{}, fmt.Errorf("%s: %w", req.Log, err)
	}
	var stopFollow func()
	if req.Progress != nil {
		// The last build's log goes first, so what is followed is this
		// build's (mos writes a new one anyway).
		logPath := filepath.Join(req.Dir, "build", "build.log")
		if err := os.Remove(logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			glog.Warningf("%s: removing the last build.log: %v", req.Log, err)
		}
		stopFollow = follow(logPath, req.Progress)
	}
	statsLog := filepath.Join(req.Dir, "build", ccachestats.File)
	if m.Ccache != nil {
		// The last build's, were this one to fail before ccache runs.
		if err := os.Remove(statsLog); err != nil && !errors.Is(err, os.ErrNotExist) {
			glog.Warningf("%s: removing the last %s: %v", req.Log, ccachestats.File, err)
		}
	}
	glog.Infof("%s: running %s", req.Log, shellLine(argv))
	start := time.Now()
	if err := startChild(cmd, req.Log); err != nil {
		if stopFollow != nil {
			stopFollow()
		}
		return Result{}, fmt.Errorf("%s: starting mos: %w", req.Log, err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if stopFollow != nil {
			stopFollow() // before Run adds the failure to build.log
		}
		done <- err
	}()

	var timeout <-chan time.Time
	if m.Timeout > 0 {
		t := time.NewTimer(m.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var res Result
	var err error
	select {
	case err = <-done:
	case <-timeout:
		res.Reason = fmt.Sprintf("build timed out after %v", m.Timeout)
		err = m.stop(cmd, done, req.Log)
	case <-ctx.Done():
		res.Reason = fmt.Sprintf("build stopped: %v", context.Cause(ctx))
		err = m.stop(cmd, done, req.Log)
	}
	res.Duration = time.Since(start)
	if m.Ccache != nil {
		st, serr := ccachestats.Read(statsLog)
		switch {
		case serr == nil:
			res.Ccache = st
		case !errors.Is(serr, os.ErrNotExist): // none: nothing went through ccache
			glog.Warningf("%s: compile cache statistics: %v", req.Log, serr)
		}
	}
	if res.Reason == "" && err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return res, fmt.Errorf("%s: waiting for mos: %w", req.Log, err)
		}
		res.Reason = "build failed: mos " + exitText(ee)
		if ee.ExitCode() == protocol.ExitRefused {
			res.Failed, res.Refused = true, true
			if msg := refusal(req.OutputFile); msg != "" {
				res.Reason = msg
			}
			return res, nil // nothing was built: build.log stays as it was
		}
	}
	res.Failed = res.Reason != ""
	if res.Failed {
		if err := appendFailure(req, res.Reason); err != nil {
			glog.Warningf("%s: adding the failure to build.log: %v", req.Log, err)
		}
	}
	return res, nil
}

// followInterval is how often a growing build.log is read for progress.
const followInterval = 200 * time.Millisecond

// follow copies what is appended to the file at path into w until the
// returned stop is called, which reads to the end once more and returns
// when the copying is over. The file may appear later. Reading the file
// (rather than a pipe on mos's output) keeps mos's output a plain file,
// so a build's end never waits for a pipe held open by what it started.
func follow(path string, w io.Writer) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var f *os.File
		defer func() {
			if f != nil {
				f.Close()
			}
		}()
		buf := make([]byte, 32<<10)
		drain := func() {
			if f == nil {
				var err error
				if f, err = os.OpenFile(path, os.O_RDONLY|oNoFollow, 0); err != nil {
					return
				}
			}
			for {
				n, err := f.Read(buf)
				if n > 0 {
					_, _ = w.Write(buf[:n])
				}
				if err != nil || n == 0 {
					return
				}
			}
		}
		t := time.NewTicker(followInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				drain()
				return
			case <-t.C:
				drain()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
		})
	}
}

// stop ends a running build: SIGTERM to its group, SIGKILL after the grace
// period, and SIGKILL again once mos is gone for anything it left behind.
func (m *Mos) stop(cmd *exec.Cmd, done <-chan error, log string) error {
	pid := cmd.Process.Pid
	glog.Infof("%s: stopping mos (pid %d): SIGTERM to its process group", log, pid)
	signalGroup(cmd, sigTerm)
	grace := time.NewTimer(m.KillGrace)
	defer grace.Stop()
	var err error
	select {
	case err = <-done:
	case <-grace.C:
		glog.Infof("%s: mos (pid %d) still running after %v: SIGKILL to its process group", log, pid, m.KillGrace)
		signalGroup(cmd, sigKill)
		err = <-done
	}
	signalGroup(cmd, sigKill)
	return err
}

func exitText(ee *exec.ExitError) string {
	if code := ee.ExitCode(); code >= 0 {
		return fmt.Sprintf("exited with status %d", code)
	}
	return "was killed (" + ee.String() + ")"
}

// lastLine is the last non-empty line of b.
func lastLine(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// refusal is the message of a refused build: the last "Error: " line mos
// printed ("" when there is none).
func refusal(outputFile string) string {
	if outputFile == "" {
		return ""
	}
	tail, _, err := readTail(outputFile, 64<<10)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(tail), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "Error: "); ok {
			return msg
		}
	}
	return ""
}

// How much of mos's own output goes into build.log on failure: all of it
// (up to outputCopyMax) when mos left no log, else the last few lines,
// which hold its error message (the rest is the log itself).
const (
	outputCopyMax   = 256 << 10
	outputTailLines = 10
)

// appendFailure adds what the client needs to see to build/build.log.
func appendFailure(req Request, reason string) error {
	if err := realBuildLog(req.Dir); err != nil {
		return err
	}
	buildDir := filepath.Join(req.Dir, "build")
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(buildDir, "build.log")
	var b strings.Builder
	// mos's own "Error: ..." line names the cause: build.log ends with it,
	// once, instead of the exit status (the client shows a log's last
	// "Error:" line as the error, and the rest of the log without it).
	errLine := ""
	if msg := refusal(req.OutputFile); msg != "" {
		errLine = "Error: " + msg
	}
	if req.OutputFile != "" {
		tail, truncated, err := readTail(req.OutputFile, outputCopyMax)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(logPath); err == nil && fi.Size() > 0 {
			// Lines build.log has already (mos writes its messages to
			// both) are not repeated.
			logTail, _, err := readTail(logPath, outputCopyMax)
			if err != nil {
				return err
			}
			inLog := map[string]bool{}
			for _, l := range strings.Split(string(logTail), "\n") {
				inLog[l] = true
			}
			if last := lastLine(logTail); errLine != "" && last == errLine {
				inLog[errLine], errLine, reason = true, "", ""
			}
			var fresh []string
			for _, l := range strings.Split(strings.TrimRight(string(lastLines(tail, outputTailLines)), "\n"), "\n") {
				if l != "" && !inLog[l] && l != errLine {
					fresh = append(fresh, l)
				}
			}
			tail, truncated = nil, false
			if len(fresh) > 0 {
				b.WriteString("\n--- last lines mos printed ---\n")
				tail = []byte(strings.Join(fresh, "\n") + "\n")
			}
		} else if len(tail) > 0 {
			b.WriteString("--- mos output ---\n")
			if truncated {
				b.WriteString("[...]\n")
			}
		}
		b.Write(tail)
		if len(tail) > 0 && !bytes.HasSuffix(tail, []byte("\n")) {
			b.WriteString("\n")
		}
	}
	switch {
	case errLine != "" && !strings.HasSuffix(b.String(), errLine+"\n"):
		b.WriteString(errLine + "\n")
	case errLine == "" && reason != "":
		b.WriteString(reason + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|oNoFollow, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readTail returns up to max trailing bytes of a file and whether it was
// longer.
func readTail(path string, max int64) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	return b, off > 0, err
}

func lastLines(b []byte, n int) []byte {
	trimmed := strings.TrimRight(string(b), "\n")
	if trimmed == "" {
		return nil
	}
	lines := strings.Split(trimmed, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// shellLine quotes argv for a shell, for logs.
func shellLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// realBuildLog makes sure dir's build/ is a real dir and build/build.log
// not a link (each such link is removed, never followed), so that what
// the server writes there stays in the context.
func realBuildLog(dir string) error {
	if _, err := filetree.RealDirs(dir, "build"); err != nil {
		return err
	}
	p := filepath.Join(dir, "build", "build.log")
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("removing %s (not a regular file): %w", p, err)
		}
	}
	return nil
}
