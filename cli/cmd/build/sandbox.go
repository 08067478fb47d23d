package build

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/cli/genfiles"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/fetchpolicy"
	"github.com/mongoose-os/mos/common/protocol"
)

// SandboxOptions are the build server's flags of a local build: confine
// it to its context and run make isolated. Hidden: the server passes them.
type SandboxOptions struct {
	Confine        string   // --confine DIR: the context
	ConfineRO      []string // --confine-ro DIR: further readable dirs
	Sandbox        bool     // --sandbox
	SandboxHide    []string // --sandbox-hide DIR: dirs make must not see (the volumes dir)
	SandboxMemory  string   // --sandbox-memory (docker)
	SandboxCPUs    string   // --sandbox-cpus (docker)
	SandboxPIDs    int      // --sandbox-pids (docker)
	SandboxBwrap   string   // --sandbox-bwrap: the bwrap binary
	SandboxSysDirs []string // --sandbox-system-dir: host dirs bwrap shows read-only (default: runner.DefaultSystemDirs)
	// FetchAllow (--fetch-allow) is the server's allow-list of hosts libs,
	// modules and prebuilt binaries may come from; none: no list.
	FetchAllow []string
}

func (o *SandboxOptions) register(fl *pflag.FlagSet) {
	fl.StringVar(&o.Confine, "confine", "", "refuse any path of the build that leads outside DIR (build server)")
	fl.StringArrayVar(&o.ConfineRO, "confine-ro", nil, "with --confine: a further dir the build may read; repeatable")
	fl.BoolVar(&o.Sandbox, "sandbox", false, "with --confine: run make with no network, writing only the --confine dir (native: under bwrap; docker: hardened container)")
	fl.StringArrayVar(&o.SandboxHide, "sandbox-hide", nil, "with --sandbox: a dir make sees empty (the volumes dir); repeatable")
	fl.StringVar(&o.SandboxMemory, "sandbox-memory", "", "with --sandbox and docker: the container's memory limit (docker --memory)")
	fl.StringVar(&o.SandboxCPUs, "sandbox-cpus", "", "with --sandbox and docker: the container's CPU limit (docker --cpus)")
	fl.IntVar(&o.SandboxPIDs, "sandbox-pids", 0, "with --sandbox and docker: the container's process limit (docker --pids-limit)")
	fl.StringVar(&o.SandboxBwrap, "sandbox-bwrap", "", "with --sandbox and native: the bwrap binary (default bwrap on PATH)")
	fl.StringArrayVar(&o.SandboxSysDirs, "sandbox-system-dir", nil, "with --sandbox and native: a host dir make sees read-only, replacing the default list (/usr, /bin, /lib*, parts of /etc); repeatable")
	fl.StringArrayVar(&o.FetchAllow, "fetch-allow", nil, "fetch libs, modules and prebuilt binaries only from these hosts (HOST[:PORT], *.DOMAIN, IP or CIDR; comma-separated or repeated); build server")
	for _, n := range []string{"fetch-allow", "confine", "confine-ro", "sandbox", "sandbox-hide", "sandbox-memory", "sandbox-cpus", "sandbox-pids", "sandbox-bwrap", "sandbox-system-dir"} {
		_ = fl.MarkHidden(n)
	}
}

func (o *SandboxOptions) validate() error {
	if o.Confine == "" && (o.Sandbox || len(o.ConfineRO) > 0) {
		return cmdutil.FlagErrorf("--sandbox and --confine-ro need --confine")
	}
	if o.SandboxPIDs < 0 {
		return cmdutil.FlagErrorf("--sandbox-pids must not be negative")
	}
	if _, err := o.fetchPolicy(); err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	return nil
}

// build returns the confinement and sandbox the options ask for (nil, nil
// when none).
func (o *SandboxOptions) build() (*manifest.Confinement, *runner.Sandbox, error) {
	if o.Confine == "" {
		return nil, nil, nil
	}
	c, err := manifest.NewConfinement(append([]string{o.Confine}, o.ConfineRO...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("--confine: %w", err)
	}
	if !o.Sandbox {
		return c, nil, nil
	}
	dirs := c.Dirs()
	return c, &runner.Sandbox{
		Writable:   dirs[:1],
		ReadOnly:   dirs[1:],
		Hide:       o.SandboxHide,
		SystemDirs: o.SandboxSysDirs,
		Memory:     o.SandboxMemory,
		CPUs:       o.SandboxCPUs,
		PIDs:       o.SandboxPIDs,
		Bwrap:      o.SandboxBwrap,
		Root:       protocol.SandboxContextRoot,
	}, nil
}

// fetchPolicy is the --fetch-allow list, nil without one.
func (o *SandboxOptions) fetchPolicy() (*fetchpolicy.Policy, error) {
	if len(o.FetchAllow) == 0 {
		return nil, nil
	}
	return fetchpolicy.Parse(o.FetchAllow, nil)
}

// refusedExit gives a refused input (a path outside --confine, a value
// that cannot be passed literally) its own exit code, which the build
// server turns into a 400.
func refusedExit(err error) error {
	if errors.Is(err, manifest.ErrOutside) || errors.Is(err, genfiles.ErrUnsafeValue) || errors.Is(err, fetchpolicy.ErrNotAllowed) {
		return &cmdutil.ExitError{Code: protocol.ExitRefused, Err: err}
	}
	return err
}
