package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Sandbox keeps make and everything it runs (SDK makefiles and tools are
// arbitrary code on a build server) away from the host: no network, no
// writes outside Writable, no view of other builds. The native runner runs
// make under bubblewrap (bwrap), the docker runner hardens its container.
type Sandbox struct {
	// Writable are the dirs make may write: the build context.
	Writable []string
	// ReadOnly are further dirs make may read (mos --confine-ro; the
	// server passes none: its lib cache may hold other accounts' libs).
	ReadOnly []string
	// Hide are dirs made empty before Writable and ReadOnly are bound, so
	// that nothing else below them is seen: the server's volumes dir,
	// where the other contexts are.
	Hide []string
	// SystemDirs are the host dirs bwrap shows read-only besides the
	// ones make needs (/usr, /bin, /lib..., a few files of /etc); nil
	// means DefaultSystemDirs. Missing ones are skipped.
	SystemDirs []string
	// Docker limits: Memory ("2g", docker's --memory), CPUs ("1.5"),
	// PIDs (0: no limit).
	Memory, CPUs string
	PIDs         int
	// Bwrap is the bwrap binary; "bwrap" when empty.
	Bwrap string
	// Root, when set, is a second place where the native sandbox shows
	// Writable[0] (the context), and the one make is given: every context
	// is then built at the same path, so what the build records of its
	// paths does not tell contexts apart and the compile cache serves a
	// new context. The real path stays bound too, for values a manifest
	// expanded to it.
	Root string
}

// inside is where make sees host path p: below Root for the context,
// else p itself.
func (s *Sandbox) inside(p string) string {
	if s == nil || s.Root == "" || len(s.Writable) == 0 {
		return p
	}
	ctx := filepath.Clean(s.Writable[0])
	if p == ctx {
		return s.Root
	}
	if rel, ok := strings.CutPrefix(p, ctx+string(filepath.Separator)); ok {
		return s.Root + "/" + filepath.ToSlash(rel)
	}
	return p
}

// DefaultSystemDirs are what a native sandboxed build sees of the host,
// read-only: the toolchain and the interpreters, the dynamic linker's
// config and Debian's alternatives. Not the rest of /etc (hostname,
// passwd, keys), nor /home, /root, /srv, /var, /tmp, /run or /opt.
var DefaultSystemDirs = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/localtime", "/etc/python3", "/etc/python3.11",
}

// ErrNoSandbox means the sandbox cannot be set up on this machine.
var ErrNoSandbox = errors.New("the build sandbox is not available")

func (s *Sandbox) bwrap() string {
	if s.Bwrap != "" {
		return s.Bwrap
	}
	return "bwrap"
}

// CheckBwrap fails with a hint when bwrap is missing or cannot make a
// sandbox here (no user namespaces), so a server can say so at start.
func (s *Sandbox) CheckBwrap() error {
	bin, err := exec.LookPath(s.bwrap())
	if err != nil {
		return fmt.Errorf("%w: %s not found (install the bubblewrap package, or run without a sandbox)", ErrNoSandbox, s.bwrap())
	}
	out, err := exec.Command(bin, "--unshare-all", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s cannot create a sandbox here: %v: %s", ErrNoSandbox, bin, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// BwrapArgs is the bwrap argv (without the binary) that runs argv in the
// sandbox, in dir.
func (s *Sandbox) BwrapArgs(dir string, argv []string) []string {
	return s.bwrapArgs(dir, argv, nil)
}

// sandboxExtra is what ccache adds to a sandbox: dirs bound writable and
// read-only after the rest, and environment variables.
type sandboxExtra struct {
	writable, readOnly []string
	env                []string // NAME=value; PATH among them replaces sandboxPATH
}

func (s *Sandbox) bwrapArgs(dir string, argv []string, x *sandboxExtra) []string {
	args := []string{
		"--die-with-parent", "--new-session",
		"--unshare-all", "--cap-drop", "ALL",
		"--clearenv",
		"--setenv", "PATH", sandboxPATH,
		"--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
		"--setenv", "LANG", "C.UTF-8",
	}
	sys := s.SystemDirs
	if sys == nil {
		sys = DefaultSystemDirs
	}
	for _, d := range sys {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			// Merged /usr: /bin -> usr/bin and the like stay links.
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		default:
			args = append(args, "--ro-bind", d, d)
		}
	}
	args = append(args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	for _, d := range s.Hide {
		args = append(args, "--tmpfs", d)
	}
	for _, d := range s.ReadOnly {
		args = append(args, "--ro-bind", d, d)
	}
	for _, d := range s.Writable {
		args = append(args, "--bind", d, d)
	}
	if s.Root != "" && len(s.Writable) > 0 {
		args = append(args, "--bind", s.Writable[0], s.Root)
	}
	if x != nil {
		for _, d := range x.writable {
			args = append(args, "--bind", d, d)
		}
		for _, d := range x.readOnly {
			args = append(args, "--ro-bind", d, d)
		}
		for _, kv := range x.env {
			k, v, _ := strings.Cut(kv, "=")
			args = append(args, "--setenv", k, v)
		}
	}
	args = append(args, "--chdir", dir, "--")
	return append(args, argv...)
}

// sandboxPATH is PATH inside the native sandbox: the system dirs only
// (the environment is cleared, so no secret of the caller's reaches make).
const sandboxPATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

// dockerArgs are the docker run flags of the sandbox: no network, no
// capabilities, no privilege gain, the limits.
func (s *Sandbox) dockerArgs() []string {
	args := []string{"--network", "none", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
	if s.Memory != "" {
		args = append(args, "--memory", s.Memory, "--memory-swap", s.Memory)
	}
	if s.CPUs != "" {
		args = append(args, "--cpus", s.CPUs)
	}
	if s.PIDs > 0 {
		args = append(args, "--pids-limit", strconv.Itoa(s.PIDs))
	}
	return args
}

// allows says how host dir may be mounted: writable, read-only, or not
// at all (ok false).
func (s *Sandbox) allows(dir string) (readOnly, ok bool) {
	real := dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		real = r
	}
	for _, d := range s.Writable {
		if within(real, d) {
			return false, true
		}
	}
	for _, d := range s.ReadOnly {
		if within(real, d) {
			return true, true
		}
	}
	return false, false
}

func within(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// NobodyUser is the uid:gid of sandboxed containers of a root caller.
const NobodyUser = "65534:65534"

// giveTo makes dirs (recursively) belong to user "uid:gid", so a
// container running as nobody can write the build dir a root caller made.
func giveTo(user string, dirs []string) error {
	uidS, gidS, _ := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(uidS)
	gid, err2 := strconv.Atoi(gidS)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad user %q", user)
	}
	for _, d := range dirs {
		err := filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("handing %s to %s: %w", d, user, err)
		}
	}
	return nil
}
