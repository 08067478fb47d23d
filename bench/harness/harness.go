package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binaries are the programs the harness runs.
type Binaries struct {
	Mos     string // bin/mos
	Manager string // bin/fwbuild-manager
}

// RepoBinaries finds bin/mos and bin/fwbuild-manager below the repository
// root, which must be the working dir (make demo and make bench run from it).
func RepoBinaries() (root string, b Binaries, err error) {
	if root, err = os.Getwd(); err != nil {
		return "", b, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", b, ErrNotRepoRoot
	}
	b = Binaries{Mos: filepath.Join(root, "bin", "mos"), Manager: filepath.Join(root, "bin", "fwbuild-manager")}
	for _, p := range []string{b.Mos, b.Manager} {
		if _, err := os.Stat(p); err != nil {
			return "", b, fmt.Errorf("%s is missing; run make build first: %w", p, err)
		}
	}
	return root, b, nil
}

// BuildBinaries builds our mos and fwbuild-manager into dir (for tests
// that run the real binaries); go runs in the module of the working dir.
func BuildBinaries(dir string) (Binaries, error) {
	b := Binaries{Mos: filepath.Join(dir, "mos"), Manager: filepath.Join(dir, "fwbuild-manager")}
	for out, pkg := range map[string]string{b.Mos: "github.com/mongoose-os/mos/cli", b.Manager: "github.com/mongoose-os/mos/fwbuild/manager"} {
		if out, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("building %s: %w\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// WithBinaries builds the binaries into a temp dir named after prefix,
// calls run with them and removes them: a TestMain's body (the exit code
// is run's, or 1 when building failed).
func WithBinaries(prefix string, run func(Binaries) int) int {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	b, err := BuildBinaries(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return run(b)
}

// ServerOptions start a build server.
type ServerOptions struct {
	Manager    string   // fwbuild-manager binary
	Mos        string   // mos binary the server runs builds with
	VolumesDir string   // the server's --volumes-dir
	Runner     string   // --build-runner (native here)
	LogFile    string   // the server's stderr
	Extra      []string // more flags
	Env        []string // more environment (KEY=value)
}

// Server is a running fwbuild-manager behind a counting proxy.
type Server struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended
	waitErr error         // cmd.Wait's result, once exited is closed
	log     *os.File
	proxy   *Proxy
	addr    string // the server's own address

	stopOnce sync.Once
	stopErr  error
}

// StartServer starts fwbuild-manager on a free 127.0.0.1 port and waits
// until it accepts connections.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(o.LogFile)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--port", fmt.Sprint(port), "--volumes-dir", o.VolumesDir, "--build-runner", o.Runner,
		"--mos-binary", o.Mos, "--logtostderr", "--v", "1",
		"--verify-fraction", "0", // a clean rebuild by chance would skew the timings
	}
	args = append(args, o.Extra...)
	cmd := exec.Command(o.Manager, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", o.Manager, err)
	}
	s := &Server{cmd: cmd, log: logf, addr: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	// Wait for the external process to come up, bounded by a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-s.exited:
			logf.Close()
			out, _ := os.ReadFile(o.LogFile)
			return nil, fmt.Errorf("fwbuild-manager exited at start (%v):\n%s", s.waitErr, out)
		case <-ctx.Done():
			s.kill()
			<-s.exited
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			<-s.exited
			return nil, fmt.Errorf("fwbuild-manager did not listen on %s within 30s; see %s", s.addr, o.LogFile)
		}
	}
	s.proxy, err = NewProxy(s.addr)
	if err != nil {
		s.kill()
		<-s.exited
		return nil, err
	}
	return s, nil
}

// URL is the server's URL through the counting proxy.
func (s *Server) URL() string { return "http://" + s.proxy.Addr() }

// Counts are the bytes sent to and received from the server so far.
func (s *Server) Counts() (up, down int64) { return s.proxy.Counts() }

// Trips are the connections made to the server and the HTTP requests
// sent to it so far.
func (s *Server) Trips() (conns, requests int64) { return s.proxy.Trips() }

// SetLink makes the proxy imitate a link for the connections made from
// now on (nil: none).
func (s *Server) SetLink(l *Link) { s.proxy.SetLink(l) }

// ProxyPort is the port of the server's counting proxy.
func (s *Server) ProxyPort() int { return s.proxy.Port() }

// Stop ends the server (SIGTERM, as an operator would) and the proxy.
// Calling it again does nothing.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	s.proxy.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		<-s.exited
	}
	return s.log.Close()
}

func (s *Server) kill() { _ = s.cmd.Process.Kill() }

// Wait waits up to timeout for the server to end by itself and returns how
// it ended (cmd.Wait's error); ok is false if it still runs.
func (s *Server) Wait(timeout time.Duration) (err error, ok bool) {
	select {
	case <-s.exited:
		return s.waitErr, true
	case <-time.After(timeout):
		return nil, false
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Result is what one build cost.
type Result struct {
	Seconds   float64
	BytesUp   int64
	BytesDown int64
	Conns     int64  // connections made to the server
	Requests  int64  // HTTP requests sent to it (progress polls included)
	Compiled  int    // "CC <file>" lines in build/build.log
	Output    string // mos's stdout and stderr
}

// Build runs `mos <args>` in dir with env added to the environment; with a
// server it counts the bytes that crossed the proxy during the build.
func Build(ctx context.Context, mos, dir string, env, args []string, srv *Server) (Result, error) {
	var up0, down0, conns0, reqs0 int64
	if srv != nil {
		up0, down0 = srv.Counts()
		conns0, reqs0 = srv.Trips()
	}
	// Dirty pages of earlier builds (hundreds of MB for full uploads) are
	// written back first, not during the timed build that happens to come
	// next (as hyperfine --prepare sync does).
	syncDisks()
	cmd := exec.CommandContext(ctx, mos, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := Result{Seconds: time.Since(start).Seconds(), Output: out.String()}
	if srv != nil {
		up, down := srv.Counts()
		r.BytesUp, r.BytesDown = up-up0, down-down0
		conns, reqs := srv.Trips()
		r.Conns, r.Requests = conns-conns0, reqs-reqs0
	}
	if err != nil {
		return r, fmt.Errorf("mos %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	n, err := CountCompiled(filepath.Join(dir, "build", "build.log"))
	if err != nil {
		return r, err
	}
	r.Compiled = n
	return r, nil
}

// CountCompiled counts the "CC <file>" lines of a build log (the real
// core's Makefile indents them and says CXX for C++).
func CountCompiled(buildLog string) (int, error) {
	f, err := os.Open(buildLog)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "CC ") || strings.HasPrefix(line, "CXX ") {
			n++
		}
	}
	return n, sc.Err()
}

// CopyTree copies src to dst (files with their modes, dirs, links as links),
// skipping top-level entries named in skip.
func CopyTree(src, dst string, skip ...string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		for _, s := range skip {
			if rel == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// ErrNotRepoRoot means the working dir is not the repository's root.
var ErrNotRepoRoot = errors.New("run this from the repository's root (where go.mod is)")

// HumanBytes formats a byte count for the demo's and the benchmark's tables.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
