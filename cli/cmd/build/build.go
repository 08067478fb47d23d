// Package build implements `mos build`: a local build (--local) or a
// remote one on a build server that reuses the server's build context.
package build

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/cli/remote"
	"github.com/mongoose-os/mos/common/protocol"
)

const defaultServer = "https://build.mongoose-os.com"

// BuildOptions are the inputs of `mos build`.
type BuildOptions struct {
	IO         *cmdutil.IOStreams
	HTTPClient func() (*http.Client, error)
	MosDir     func() (string, error)
	TempDir    func() (string, error)
	Getenv     func(string) string

	Dir           string // project dir (the working dir after -C)
	KeepTempFiles bool

	// What to build (shared with eval-manifest-expr).
	buildflags.Flags
	Local         bool
	BuildDir      string
	GenDir        string
	BinaryLibsDir string
	SourceGlobs   []string

	// Local build only.
	BuildRunner         string
	BuildImage          string
	BuildDockerExtra    []string
	BuildDockerNoMounts bool
	BuildParallelism    int
	BuildCmdExtra       []string
	LibsCacheDir        string
	SandboxOptions      // build server: --confine, --sandbox
	CcacheOptions       // --ccache[=DIR], --ccache-max-size, --ccache-remote

	// Remote build only.
	Server       string
	User, Pass   string // --user/--pass: the server's basic auth, put into Server by validate
	KeepBuildDir bool
	BuildContext string
	NoDelta      bool
	Quiet        bool // --quiet: only the result lines
	// --connect-timeout, --build-timeout (0: the remote package's
	// defaults, the server's own build limit plus a margin).
	ConnectTimeout, BuildTimeout time.Duration
}

// NewCmdBuild returns the build command; runF replaces the run in tests.
func NewCmdBuild(f *cmdutil.Factory, runF func(context.Context, *BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{
		IO:         f.IO,
		HTTPClient: f.HTTPClient,
		MosDir:     f.MosDir,
		TempDir:    f.TempDir,
		Getenv:     f.Getenv,
	}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build a firmware from the sources in the current directory",
		Long: `Build a firmware from the app in the current directory (or -C DIR).

Without --local the build runs on a build server (--server). The server's
build context is reused: its name is read from build/gen/build_ctx.txt
before anything in build/ is touched, and build/gen is also cached under
~/.mos, so a wiped build dir still finds its context.`,
		Example: `  mos build --local --platform esp32
  mos build --platform esp32 --server http://buildsrv:8000 --keep-build-dir
  mos build --platform esp32 --server http://buildsrv:8000 --build-context ci_main`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			wd, err := f.WorkDir()
			if err != nil {
				return err
			}
			opts.Dir = wd
			opts.Verbose = f.Global.Verbose
			opts.KeepTempFiles = f.Global.KeepTempFiles
			if err := validate(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}

	fl := cmd.Flags()
	opts.Flags.Register(fl)
	fl.BoolVar(&opts.Local, "local", false, "build locally instead of on a build server")
	fl.StringVar(&opts.BuildDir, "build-dir", "", "build output directory (default <app>/build)")
	fl.StringVar(&opts.GenDir, "gen-dir", "", "generated files directory (default <build>/gen)")
	fl.StringVar(&opts.BinaryLibsDir, "binary-libs-dir", "", "prebuilt libs cache directory (default <build>/objs)")
	fl.StringSliceVar(&opts.SourceGlobs, "source-glob", []string{"*.c", "*.cpp"}, "globs for source dirs")

	fl.StringVar(&opts.BuildRunner, "build-runner", "", "how a local build runs make: docker (the SDK image) or native (toolchain on PATH); default docker, native inside an SDK container")
	fl.StringVar(&opts.BuildImage, "build-image", "", "Docker image for the build (default from the platform's sdk.version)")
	fl.StringArrayVar(&opts.BuildDockerExtra, "build-docker-extra", nil, "extra docker run flag, before the image; repeatable")
	fl.BoolVar(&opts.BuildDockerNoMounts, "build-docker-no-mounts", false, "add no bind mounts to docker run (provide them with --build-docker-extra)")
	fl.IntVar(&opts.BuildParallelism, "build-parallelism", 0, "make -j value (default: number of CPUs)")
	fl.StringArrayVar(&opts.BuildCmdExtra, "build-cmd-extra", nil, "extra make argument, appended last; repeatable")
	fl.StringVar(&opts.LibsCacheDir, "libs-cache-dir", "", "share fetched git libs through mirrors in this dir (used by the build server)")
	opts.SandboxOptions.register(fl)
	opts.CcacheOptions.register(fl)

	fl.StringVar(&opts.Server, "server", defaultServer, "build server URL (user:password@ in it sets basic auth)")
	fl.BoolVar(&opts.KeepBuildDir, "keep-build-dir", false, "remote build: do not wipe build/ first; unzip the server's result over it")
	fl.StringVar(&opts.BuildContext, "build-context", "", "remote build: build in the named server context (letters, digits, _)")
	fl.BoolVar(&opts.Quiet, "quiet", false, "remote build: print only the result (no progress, no messages)")
	fl.BoolVar(&opts.NoDelta, "no-delta", false, "remote build: always upload the whole source zip, as stock mos does, even to a server that takes delta uploads")
	fl.StringVar(&opts.User, "user", "", "remote build: the build server's basic auth user (default: from --server, else test, as stock)")
	fl.StringVar(&opts.Pass, "pass", "", "remote build: the build server's basic auth password (default: from --server, else test)")
	fl.DurationVar(&opts.ConnectTimeout, "connect-timeout", remote.DefaultConnectTimeout, "remote build: give up connecting to the build server after this long")
	fl.DurationVar(&opts.BuildTimeout, "build-timeout", remote.DefaultBuildTimeout,
		"remote build: give up when the build server has sent nothing (no result byte, no progress) for this long; default: the server's own 15m limit plus a margin")
	// Every other stock flag is accepted by the root command, with no
	// effect here (--use-shell-git, --use-go-git: git is always the git
	// command).
	return cmd
}

func validate(opts *BuildOptions) error {
	if opts.Platform == "" && opts.Arch != "" {
		opts.Platform = opts.Arch // stock's deprecated spelling
		fmt.Fprintln(opts.IO.ErrOut, "Warning: --arch is deprecated, use --platform")
	}
	if opts.User != "" || opts.Pass != "" {
		s, err := serverWithAuth(opts.Server, opts.User, opts.Pass)
		if err != nil {
			return cmdutil.FlagErrorf("--server %q: %w", opts.Server, err)
		}
		opts.Server = s
	}
	if opts.Quiet && opts.Verbose {
		return cmdutil.FlagErrorf("--quiet and --verbose: choose one")
	}
	if opts.BuildContext != "" && !protocol.ValidContextName(opts.BuildContext) {
		return cmdutil.FlagErrorf("--build-context %q: use letters, digits and _ only", opts.BuildContext)
	}
	switch opts.BuildRunner {
	case "", "docker", "native":
	default:
		return cmdutil.FlagErrorf("--build-runner %q: want docker or native", opts.BuildRunner)
	}
	if opts.BuildParallelism < 0 {
		return cmdutil.FlagErrorf("--build-parallelism must not be negative")
	}
	if err := opts.SandboxOptions.validate(); err != nil {
		return err
	}
	if err := opts.CcacheOptions.validate(); err != nil {
		return err
	}
	return nil
}

// serverWithAuth puts user and pass into the server URL as user info; an
// empty one keeps the URL's, else stock's default "test". A server given
// without a scheme is http, as the remote client reads it.
func serverWithAuth(server, user, pass string) (string, error) {
	s := strings.TrimSpace(server)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	oldUser, oldPass := "test", "test"
	if u.User != nil {
		oldUser = u.User.Username()
		oldPass, _ = u.User.Password()
	}
	if user == "" {
		user = oldUser
	}
	if pass == "" {
		pass = oldPass
	}
	u.User = url.UserPassword(user, pass)
	return u.String(), nil
}
