package build

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/cli/runner"
)

// CcacheOptions put ccache in front of a local build's compilers:
// `--ccache` (ccache's own default dir), `--ccache=DIR`, and the cache's
// size and remote storage. The build server passes them, and the
// namespace's isolation: the shared base cache (read-only unless the
// build is trusted to fill it) and the namespace of its redis keys.
type CcacheOptions struct {
	Ccache          string // --ccache[=DIR]; "" or "false": off
	CcacheMaxSize   string // --ccache-max-size
	CcacheRemote    string // --ccache-remote URL
	CcacheBase      string // --ccache-base DIR
	CcacheBaseWrite bool   // --ccache-base-write
	CcacheNamespace string // --ccache-namespace ID
}

// ccacheDefault is the value of a bare --ccache.
const ccacheDefault = "true"

func (o *CcacheOptions) register(fl *pflag.FlagSet) {
	fl.StringVar(&o.Ccache, "ccache", "", "local build: compile through ccache, with the cache in DIR (--ccache alone: $CCACHE_DIR, else ~/.cache/ccache); shared by all apps and build dirs")
	fl.Lookup("ccache").NoOptDefVal = ccacheDefault
	fl.StringVar(&o.CcacheMaxSize, "ccache-max-size", "", "with --ccache: the cache's size limit (ccache max_size, e.g. 5G)")
	fl.StringVar(&o.CcacheRemote, "ccache-remote", "", "with --ccache: ccache remote storage shared by many machines (redis://host:port or http://host/path)")
	fl.StringVar(&o.CcacheBase, "ccache-base", "", "with --ccache: a second cache dir, shared, that the build reads and does not write (ccache file: storage; the sandbox shows it read-only)")
	fl.BoolVar(&o.CcacheBaseWrite, "ccache-base-write", false, "with --ccache-base: the build writes the base cache too (a build server's trusted builds)")
	fl.StringVar(&o.CcacheNamespace, "ccache-namespace", "", "with --ccache-remote redis://: the sandboxed build's keys are under this namespace (letters, digits, _ and -), and it reads no other's but the base cache's")
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (o *CcacheOptions) validate() error {
	if !o.enabled() && (o.CcacheMaxSize != "" || o.CcacheRemote != "" || o.CcacheBase != "" || o.CcacheNamespace != "") {
		return cmdutil.FlagErrorf("--ccache-max-size, --ccache-remote, --ccache-base and --ccache-namespace need --ccache")
	}
	if o.CcacheBaseWrite && o.CcacheBase == "" {
		return cmdutil.FlagErrorf("--ccache-base-write needs --ccache-base")
	}
	if o.CcacheNamespace != "" && !namespaceRE.MatchString(o.CcacheNamespace) {
		return cmdutil.FlagErrorf("--ccache-namespace %q: use 1 to 64 letters, digits, _ and -", o.CcacheNamespace)
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
	cc := &runner.Ccache{Dir: abs, MaxSize: o.CcacheMaxSize, Remote: o.CcacheRemote, BaseWrite: o.CcacheBaseWrite, Namespace: o.CcacheNamespace}
	if o.CcacheBase != "" {
		if cc.Base, err = filepath.Abs(o.CcacheBase); err != nil {
			return nil, fmt.Errorf("--ccache-base %s: %w", o.CcacheBase, err)
		}
	}
	return cc, nil
}
