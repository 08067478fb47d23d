package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/fwbundle"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/progress"
	"github.com/mongoose-os/mos/cli/remote"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/version"
)

// dirs are the build's directories, absolute.
type dirs struct {
	app, build, gen, binLibs string
}

func resolveDirs(opts *BuildOptions) dirs {
	d := dirs{app: opts.Dir}
	d.build = buildflags.AbsFrom(d.app, "build")
	if opts.BuildDir != "" {
		d.build = buildflags.AbsFrom(d.app, opts.BuildDir)
	}
	d.gen = filepath.Join(d.build, "gen")
	if opts.GenDir != "" {
		d.gen = buildflags.AbsFrom(d.app, opts.GenDir)
	}
	if opts.BinaryLibsDir != "" {
		d.binLibs = buildflags.AbsFrom(d.app, opts.BinaryLibsDir)
	}
	return d
}

// buildRun is `mos build`: it picks the local or remote build, then does
// what both share: read the firmware, report, save build_stat.json.
func buildRun(ctx context.Context, opts *BuildOptions) error {
	start := time.Now()
	bp, err := opts.Params(opts.Dir)
	if err != nil {
		return err
	}
	d := resolveDirs(opts)
	if _, err := os.Stat(filepath.Join(d.app, "mos.yml")); err != nil {
		return fmt.Errorf("no mos.yml file in %s", d.app)
	}
	// build/ is not made here: a local build makes it once its runner is
	// there, a remote one once the server has answered.
	var isLib bool
	if opts.Local {
		isLib, err = runLocal(ctx, opts, bp, d)
	} else {
		isLib, err = runRemote(ctx, opts, bp, d)
	}
	if err != nil {
		return refusedExit(err)
	}
	return reportOutcome(opts, bp, d, isLib, time.Since(start))
}

// runLocal runs a local build; isLib says it built a lib archive.
func runLocal(ctx context.Context, opts *BuildOptions, bp *protocol.BuildParams, d dirs) (isLib bool, err error) {
	// Without its runner the build would only wipe build/ (a remote
	// build's fw.zip and context) before failing.
	if chooseRunner(opts) == "docker" && !bp.DryRun {
		if err := (&runner.Docker{}).Check(ctx); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(d.build, 0o755); err != nil {
		return false, err
	}
	logFile, err := os.Create(filepath.Join(d.build, "build.log"))
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	_ = os.Remove(filepath.Join(d.build, "build.local.log"))
	var log io.Writer = logFile
	if opts.Verbose || bp.Verbose {
		log = io.MultiWriter(logFile, opts.IO.ErrOut)
	}

	confine, sandbox, err := opts.SandboxOptions.build()
	if err != nil {
		return false, err
	}
	fetchPolicy, err := opts.SandboxOptions.fetchPolicy()
	if err != nil {
		return false, err
	}
	ccache, err := opts.CcacheOptions.build(opts.Getenv)
	if err != nil {
		return false, err
	}
	if ccache != nil {
		// Beside the objects: a clean build starts it afresh, and the
		// result sent to a client never has it (archive.ResultFilter).
		ccache.ScanState = filepath.Join(d.build, "objs", ".mos-time-macros.json")
	}
	req := &localbuild.Request{
		AppDir:        d.app,
		Params:        bp,
		BuildDir:      d.build,
		GenDir:        d.gen,
		BinaryLibsDir: d.binLibs,
		LibsDirs:      absAll(d.app, opts.LibsDirs),
		LibsCacheDir:  optAbs(d.app, opts.LibsCacheDir),
		DepsDir:       optAbs(d.app, opts.DepsDir),
		ModulesDir:    optAbs(d.app, opts.ModulesDir),
		SourceGlobs:   opts.SourceGlobs,
		MosVersion:    version.Presented(),
		Runner:        chooseRunner(opts),
		Docker: runner.Docker{
			Image:    opts.BuildImage,
			Extra:    opts.BuildDockerExtra,
			NoMounts: opts.BuildDockerNoMounts,
			User:     runner.CurrentUser(),
		},
		Jobs:     opts.BuildParallelism,
		CmdExtra: opts.BuildCmdExtra,
		Log:      log,
		Confine:  confine,
		Sandbox:  sandbox,
		Fetch:    fetchPolicy,
		Ccache:   ccache,
	}
	if opts.BuildDockerNoMounts && len(opts.BuildDockerExtra) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "Warning: --build-docker-no-mounts without --build-docker-extra: the container sees no files")
	}
	res, err := localbuild.Build(ctx, req)
	if err != nil {
		if !(opts.Verbose || bp.Verbose) {
			// As upstream: on failure the whole build log goes to stdout.
			logFile.Sync()
			if data, rerr := os.ReadFile(logFile.Name()); rerr == nil {
				opts.IO.Out.Write(data)
			}
		}
		// The file keeps the reason (a build server returns it); the user
		// sees it once, on stderr, from the caller.
		fmt.Fprintf(logFile, "Error: %v\n", err)
		return false, err
	}
	return res.LibA != "", nil
}

// chooseRunner: --build-runner, else native inside an SDK container (as
// upstream, MGOS_SDK_REVISION is set there), else docker.
func chooseRunner(opts *BuildOptions) string {
	if opts.BuildRunner != "" {
		return opts.BuildRunner
	}
	if opts.Getenv("MGOS_SDK_REVISION") != "" || opts.Getenv("MIOT_SDK_REVISION") != "" {
		return "native"
	}
	return "docker"
}

// runRemote runs the build on a build server; isLib says it built a lib
// archive.
func runRemote(ctx context.Context, opts *BuildOptions, bp *protocol.BuildParams, d dirs) (isLib bool, err error) {
	client, err := opts.HTTPClient()
	if err != nil {
		return false, err
	}
	mosDir, err := opts.MosDir()
	if err != nil {
		return false, err
	}
	tempDir, err := opts.TempDir()
	if err != nil {
		return false, err
	}
	// An updating line on a terminal, plain lines in CI or with
	// --verbose; --quiet: only the result lines.
	var log io.Writer
	var disp *progress.Display
	if !opts.Quiet {
		disp = progress.New(opts.IO.ErrOut, progress.IsTerminal(opts.IO.ErrOut, opts.Getenv) && !(opts.Verbose || bp.Verbose))
		log = disp
	}
	res, err := remote.Build(ctx, &remote.Request{
		AppDir:         d.app,
		BuildDir:       d.build,
		GenDir:         d.gen,
		Params:         bp,
		LibsDirs:       absAll(d.app, opts.LibsDirs),
		DepsDir:        optAbs(d.app, opts.DepsDir),
		ModulesDir:     optAbs(d.app, opts.ModulesDir),
		Server:         opts.Server,
		KeepBuildDir:   opts.KeepBuildDir,
		BuildContext:   opts.BuildContext,
		MosDir:         mosDir,
		TempDir:        tempDir,
		KeepTempFiles:  opts.KeepTempFiles,
		HTTPClient:     client,
		Log:            log,
		Progress:       disp,
		Verbose:        opts.Verbose,
		NoDelta:        opts.NoDelta,
		ConnectTimeout: opts.ConnectTimeout,
		BuildTimeout:   opts.BuildTimeout,
	})
	disp.Close()
	if errors.Is(err, remote.ErrBuildFailed) && !(opts.Verbose || bp.Verbose) && res != nil {
		// As upstream: the server's build log goes to stdout on failure;
		// its last line, the server's "Error:", is in err (printed once,
		// on stderr).
		if data, rerr := os.ReadFile(res.BuildLog); rerr == nil {
			data, _ = remote.CutErrorLine(data)
			opts.IO.Out.Write(data)
		}
	}
	if err != nil {
		return false, err
	}
	return res.IsLib, nil
}

// reportOutcome prints what was built and saves build_stat.json, for local
// and remote builds alike.
func reportOutcome(opts *BuildOptions, bp *protocol.BuildParams, d dirs, isLib bool, took time.Duration) error {
	if bp.DryRun {
		return nil
	}
	switch {
	case isLib:
		fmt.Fprintf(opts.IO.ErrOut, "Lib saved to %s\n", filepath.Join(d.build, "lib.a"))
	case bp.BuildTarget == buildflags.DefaultTarget:
		fwZip := filepath.Join(d.build, "fw.zip")
		fw, err := fwbundle.Read(fwZip)
		if err != nil {
			return err
		}
		if bp.SaveBuildStat {
			if err := writeBuildStat(d.gen, fw, took); err != nil {
				return err
			}
		}
		fmt.Fprintf(opts.IO.ErrOut, "Success, built %s/%s version %s (%s).\n", fw.Name, fw.Platform, fw.Version, fw.BuildID)
		fmt.Fprintf(opts.IO.ErrOut, "Firmware saved to %s\n", fwZip)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "Target %s is built successfully\n", bp.BuildTarget)
	}
	return nil
}

// buildStat is build/gen/build_stat.json, keys in upstream's order.
type buildStat struct {
	Arch        string `json:"arch"`
	Platform    string `json:"platform"`
	AppName     string `json:"app_name"`
	BuildTimeMS int64  `json:"build_time_ms"`
}

func writeBuildStat(genDir string, fw *fwbundle.Manifest, took time.Duration) error {
	data, err := json.MarshalIndent(buildStat{
		Arch: fw.Platform, Platform: fw.Platform, AppName: fw.Name, BuildTimeMS: took.Milliseconds(),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(genDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(genDir, protocol.BuildStatFile), data, 0o644)
}

func absAll(dir string, ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = buildflags.AbsFrom(dir, p)
	}
	return out
}

func optAbs(dir, p string) string {
	if p == "" {
		return ""
	}
	return buildflags.AbsFrom(dir, p)
}
