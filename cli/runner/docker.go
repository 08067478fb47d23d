package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Docker runs make in the platform's SDK image, as upstream mos does: the
// app's top dir is mounted at /app, the core at /mongoose-os and at its own
// path, every other dir the build uses at its own path. A sandbox with a
// Root (the server's) mounts its context there instead of at /app, as the
// native sandbox shows it: make runs in the same dir for every context.
type Docker struct {
	Image    string   // SDK image (sdk.version or --build-image)
	Extra    []string // --build-docker-extra, before the image
	NoMounts bool     // --build-docker-no-mounts
	// User is the --user value ("uid:gid"); "" runs as the image's user.
	User   string
	Docker string // docker binary; "docker" when empty
	// Sandbox, when set, runs the container without network and
	// capabilities, as a non-root user, with the sandbox's limits, and
	// mounts only dirs inside Sandbox.Writable (read-write) and
	// Sandbox.ReadOnly (read-only).
	Sandbox *Sandbox
	// Ccache, when set, runs make with ccache in front of the image's
	// compilers (the image must have ccache; else the build says so once
	// and runs without it) and the cache dir mounted.
	Ccache *Ccache
}

const (
	appMount = "/app"
	mosMount = "/mongoose-os"
)

// ErrNoDocker means the docker runner cannot work here.
var ErrNoDocker = errors.New("docker is not available")

func (d *Docker) Path(host string) string {
	if d.atRoot() {
		return dockerPath(d.Sandbox.inside(host))
	}
	return dockerPath(host)
}

// atRoot says the context is mounted at the sandbox's Root, so that every
// context's build names the same paths (in generated files, debug info
// and the compile cache's keys).
func (d *Docker) atRoot() bool {
	return !d.NoMounts && d.Sandbox != nil && d.Sandbox.Root != "" && len(d.Sandbox.Writable) > 0
}

func (d *Docker) MosPath(mosDir string) string {
	if d.NoMounts {
		return dockerPath(mosDir)
	}
	return mosMount
}

func (d *Docker) bin() string {
	if d.Docker != "" {
		return d.Docker
	}
	return "docker"
}

// Args returns the docker argv (after "docker") for job, and the container
// name.
func (d *Docker) Args(job *Job) ([]string, string) {
	return d.args(job, nil)
}

// containerAppDir is the app dir as the container sees it.
func (d *Docker) containerAppDir(job *Job) string {
	dir, _ := d.appMount(job)
	return dir
}

// appMount returns the app dir as the container sees it and the host dir
// mounted at /app ("" when none is: no mounts, or the context at Root).
func (d *Docker) appMount(job *Job) (appDir, top string) {
	switch {
	case d.NoMounts:
		return dockerPath(job.AppDir), ""
	case d.atRoot():
		return d.Path(job.AppDir), ""
	}
	top = job.AppDir
	if d.Sandbox == nil {
		// As upstream: the whole work tree, for git describe and paths
		// above the app. A sandbox shows only the context.
		top = gitTopLevel(job.AppDir)
	}
	sub, err := filepath.Rel(top, job.AppDir)
	if err != nil || sub == "." {
		sub = ""
	}
	return strings.TrimSuffix(appMount+"/"+filepath.ToSlash(sub), "/"), top
}

func (d *Docker) args(job *Job, cc *ccacheRun) ([]string, string) {
	name := fmt.Sprintf("mos_build_%s_%d", time.Now().Format("2006-01-02T15-04-05"), rand.IntN(1<<30))
	args := []string{"run", "--name", name, "--rm", "-i"}
	appDir, top := d.appMount(job)
	if !d.NoMounts {
		m := mounts{}
		if d.atRoot() {
			// The context at Root, and at its own path too, for values a
			// manifest expanded to it (as the native sandbox does).
			m.add(d.Sandbox.Writable[0], d.Sandbox.Root)
			m.add(d.Sandbox.Writable[0], dockerPath(d.Sandbox.Writable[0]))
		} else {
			m.add(top, appMount)
		}
		m.add(job.MosDir, mosMount)
		for _, dir := range append([]string{job.MosDir}, job.Mounts...) {
			if d.atRoot() && within(dir, d.Sandbox.Writable[0]) {
				continue // seen in the context's mounts already
			}
			m.add(dir, dockerPath(dir))
		}
		for _, mp := range m.list {
			spec := mp.host + ":" + mp.container
			if d.Sandbox != nil {
				ro, ok := d.Sandbox.allows(mp.host)
				if !ok {
					continue // confinement refused such paths already; never mount one
				}
				if ro {
					spec += ":ro"
				}
			}
			args = append(args, "-v", spec)
		}
	}
	if cc != nil {
		// Mounted whatever the sandbox allows: the cache is the server's,
		// not the upload's; the forwarding socket's dir read-only.
		args = append(args, "-v", dockerPath(d.Ccache.Dir)+":"+dockerPath(d.Ccache.Dir),
			"-v", dockerPath(cc.tempDir)+":"+dockerPath(cc.tempDir)+":ro")
		if b := d.Ccache.Base; b != "" {
			// Read-only but to the builds trusted to fill it.
			spec := dockerPath(b) + ":" + dockerPath(b)
			if !d.Ccache.BaseWrite {
				spec += ":ro"
			}
			args = append(args, "-v", spec)
		}
		for _, kv := range cc.env {
			args = append(args, "-e", kv)
		}
	}
	if d.Sandbox != nil {
		args = append(args, d.Sandbox.dockerArgs()...)
	}
	if user := d.user(); user != "" {
		args = append(args, "--user", user)
	}
	args = append(args, d.Extra...)
	args = append(args, d.Image)
	if cc != nil {
		args = append(args, "sh", "-c", dockerCcacheScript, "sh")
	}
	args = append(args, "make")
	args = append(args, makeArgs(job, appDir, d.Path(job.Makefile))...)
	return args, name
}

func (d *Docker) Run(ctx context.Context, job *Job) error {
	if d.Image == "" {
		return fmt.Errorf("no SDK image for the docker runner")
	}
	var cc *ccacheRun
	if d.Ccache != nil && !job.DryRun {
		// No network in a sandboxed container, and its loopback is not
		// the host's: a redis remote goes through a forwarded socket.
		// Depend mode, as in the native sandbox, where every context is at
		// the same path.
		cc = d.Ccache.prepare(job, d.containerAppDir(job), false, true, d.atRoot(), dockerPath)
		defer cc.close()
		defer cc.report(job.Log)
	}
	args, name := d.args(job, cc)
	fmt.Fprintf(job.Log, "Docker arguments: %s\n", strings.Join(args, " "))
	if job.DryRun {
		return nil
	}
	if err := d.check(ctx); err != nil {
		return err
	}
	if d.Sandbox != nil && d.user() == NobodyUser && os.Getuid() == 0 {
		writes := job.Writes
		if cc != nil {
			writes = append(append([]string(nil), writes...), d.Ccache.Dir)
			if d.Ccache.Base != "" && d.Ccache.BaseWrite {
				writes = append(writes, d.Ccache.Base)
			}
		}
		if err := giveTo(NobodyUser, writes); err != nil {
			return err
		}
	}
	cmd := exec.Command(d.bin(), args...)
	cmd.Stdout = job.Log
	cmd.Stderr = job.Log
	err := runKillable(ctx, cmd)
	if ctx.Err() != nil {
		// Killing the docker client leaves the container running: kill it.
		kctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = exec.CommandContext(kctx, d.bin(), "kill", name).Run()
		return ctx.Err()
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%w: in docker image %s: %v", ErrMakeFailed, d.Image, err)
		}
		return fmt.Errorf("running docker: %w", err)
	}
	return nil
}

// user is the --user of the container: a sandbox never runs as root.
func (d *Docker) user() string {
	if d.Sandbox != nil && (d.User == "" || strings.HasPrefix(d.User, "0:") || d.User == "0") {
		return NobodyUser
	}
	return d.User
}

// Check fails with a hint when there is no docker client or daemon, so a
// build can ask before it touches build/.
func (d *Docker) Check(ctx context.Context) error { return d.check(ctx) }

// check fails with a hint when there is no docker client or daemon.
func (d *Docker) check(ctx context.Context) error {
	if _, err := exec.LookPath(d.bin()); err != nil {
		return fmt.Errorf("%w: %s not found on PATH; install Docker or use --build-runner native", ErrNoDocker, d.bin())
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, d.bin(), "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: the Docker daemon does not answer (%s); start it or use --build-runner native",
			ErrNoDocker, strings.TrimSpace(string(out)))
	}
	return nil
}

// CurrentUser is the --user value that makes files in build/ belong to the
// calling user ("" where that does not apply).
func CurrentUser() string {
	uid, gid := os.Getuid(), os.Getgid()
	if uid < 0 {
		return "" // Windows: Docker Desktop maps ownership itself
	}
	return fmt.Sprintf("%d:%d", uid, gid)
}

// gitTopLevel returns the top of the git work tree holding dir, or dir.
func gitTopLevel(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return dir
	}
	top := strings.TrimSpace(string(out))
	if top == "" {
		return dir
	}
	return filepath.FromSlash(top)
}

type mount struct{ host, container string }

// mounts keeps the first host path for each container path, skipping host
// paths that do not exist, as upstream does.
type mounts struct{ list []mount }

func (m *mounts) add(host, container string) {
	if host == "" {
		return
	}
	if _, err := os.Stat(host); err != nil {
		return
	}
	for _, e := range m.list {
		if e.container == container {
			return
		}
	}
	m.list = append(m.list, mount{dockerPath(host), container})
}
