package build

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/cli/runner"
)

// CcacheOptions put ccache in front of a local build's compilers:
// `--ccache` (ccache's own default dir), `--ccache=DIR`, and the cache's
// size and remote storage. The build server passes all three.
type CcacheOptions struct {
	Ccache        string // --ccache[=DIR]; "" or "false": off
	CcacheMaxSize string // --ccache-max-size
	CcacheRemote  string // --ccache-remote URL
}

// ccacheDefault is the value of a bare --ccache.
const ccacheDefault = "true"

func (o *CcacheOptions) register(fl *pflag.FlagSet) {
	fl.StringVar(&o.Ccache, "ccache", "", "local build: compile through ccache, with the cache in DIR (--ccache alone: $CCACHE_DIR, else ~/.cache/ccache); shared by all apps and build dirs")
	fl.Lookup("ccache").NoOptDefVal = ccacheDefault
	fl.StringVar(&o.CcacheMaxSize, "ccache-max-size", "", "with --ccache: the cache's size limit (ccache max_size, e.g. 5G)")
	fl.StringVar(&o.CcacheRemote, "ccache-remote", "", "with --ccache: ccache remote storage shared by many machines (redis://host:port or http://host/path)")
}

func (o *CcacheOptions) validate() error {
	if !o.enabled() && (o.CcacheMaxSize != "" || o.CcacheRemote != "") {
		return cmdutil.FlagErrorf("--ccache-max-size and --ccache-remote need --ccache")
	}
	return nil
}

func (o *CcacheOptions) enabled() bool { return o.Ccache != "" && o.Ccache != "false" }

// build returns the ccache settings (nil when off); getenv reads
// CCACHE_DIR for a bare --ccache.
func (o *CcacheOptions) build(getenv func(string) string) (*runner.Ccache, error) {
	if !o.enabled() {
		return nil, nil
	}
	dir := o.Ccache
	if dir == ccacheDefault {
		dir = getenv("CCACHE_DIR")
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("--ccache: no cache dir here (%w); give --ccache=DIR", err)
			}
			dir = filepath.Join(base, "ccache")
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("--ccache %s: %w", dir, err)
	}
	return &runner.Ccache{Dir: abs, MaxSize: o.CcacheMaxSize, Remote: o.CcacheRemote}, nil
}
