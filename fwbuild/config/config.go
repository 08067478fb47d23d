// Package config holds the settings of fwbuild-manager: their defaults, the
// command-line flags that set them and the check that they make sense.
// Flags that the stock server has keep its names; the stock defaults are
// kept too except where this server needs more (port 8000 as the stock
// docker-compose file uses, a 50 MiB payload limit so deps/ can be
// uploaded).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mongoose-os/mos/common/fetchpolicy"
)

// Build runners understood by `mos build --build-runner`.
const (
	RunnerDocker = "docker" // mos runs make in the platform's SDK image
	RunnerNative = "native" // mos runs make on the host
)

// Config is everything fwbuild-manager needs to run.
type Config struct {
	// VolumesDir holds the build contexts, the lib cache and request temp
	// files. With the docker runner it must be the same path on the host
	// and inside the server's container (bind mounts name host paths).
	VolumesDir string
	// Address is the interface to listen on; "" means 127.0.0.1 without
	// AuthFile (an open server is reachable from this host only unless
	// asked) and all interfaces with it. See ListenAddress.
	Address string
	// Port serves plain HTTP; PortTLS serves HTTPS when CertFile and
	// KeyFile are both given.
	Port, PortTLS     int
	CertFile, KeyFile string

	// PayloadSizeLimit bounds the uploaded source zip (the "file" field)
	// in bytes; the whole request body may exceed it by FormAllowance.
	PayloadSizeLimit int64
	// MaxUnpackedSize bounds the total uncompressed size of an upload.
	MaxUnpackedSize int64
	// MaxUploadFiles bounds the number of entries in an upload.
	MaxUploadFiles int

	// BuildRunner is passed to `mos build --build-runner`.
	BuildRunner string
	// BuildTimeout is how long one build may run before it is killed.
	BuildTimeout time.Duration
	// BuildKillGrace is how long a timed-out build gets between SIGTERM
	// (mos stops its make and container) and SIGKILL of its process group.
	BuildKillGrace time.Duration
	// MaxConcurrentBuilds bounds the builds running at once.
	MaxConcurrentBuilds int
	// MosBinary is the mos executable that runs builds; "" means the mos
	// next to the fwbuild-manager executable, else the one on PATH.
	MosBinary string
	// CASMaxSize bounds the blob store of delta uploads, in bytes.
	CASMaxSize int64

	// AuthFile is the accounts file (see package auth); "" accepts every
	// request, all in one anonymous namespace.
	AuthFile string
	// AllowAnonymous lets a server without AuthFile listen on an address
	// other than loopback; without it Validate refuses, so an open build
	// server on every interface is never one flag away.
	AllowAnonymous bool
	// ContextTTL removes contexts not used for longer (0: never);
	// MaxContextsSize removes the least recently used while all contexts
	// take more bytes (0: no limit). Contexts being built are never
	// removed.
	ContextTTL      time.Duration
	MaxContextsSize int64
	// OwnerTTL is how long the owner record of a removed context is kept
	// after its last use, so that the name stays its namespace's (0: for
	// ever).
	OwnerTTL time.Duration
	// AccountQuota and TeamQuota bound the disk one user's (one group's)
	// contexts take with a new upload, in bytes (0: no quota).
	AccountQuota, TeamQuota int64
	// MinFreeDisk is the floor of free disk on the volumes: collection
	// removes the least recently used contexts to keep it, an upload
	// that would go below it is refused, and /readyz fails under it (0:
	// none).
	MinFreeDisk int64
	// Budgets of what the server keeps in memory for the next request
	// (plans, listings): entries and bytes, in all and per account (0:
	// derived from MaxUploadFiles, see KeptBudgets).
	KeptMaxBytes, KeptAccountBytes     int64
	KeptMaxEntries, KeptAccountEntries int
	// AdminGroup names the accounts file's group whose users see every
	// build on the status page (""; nobody). StatusPublic shows every
	// build to everyone who may see the page.
	AdminGroup   string
	StatusPublic bool
	// HTTP timeouts: for the request headers, for the whole request body
	// (a slow upload is cut; no upload holds a build slot or a context
	// lock meanwhile anyway), for sending the answer, and for an idle
	// keep-alive connection.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// BuildPIDNamespace runs each build as the first process of its own
	// PID namespace (Linux, as root), so all it started dies with it when
	// the server dies; without one, an orphaned build keeps its context
	// locked until it ends.
	BuildPIDNamespace bool

	// Sandbox is SandboxOn (make runs without network, seeing only its
	// context: bwrap for native, a hardened container for docker) or
	// SandboxNone (asked for explicitly; the server warns at start).
	Sandbox string
	// BuildMemory, BuildCPUs and BuildPIDs limit one docker build
	// (docker --memory, --cpus, --pids-limit); "" / 0 for no limit.
	BuildMemory, BuildCPUs string
	BuildPIDs              int

	// FetchAllow is the comma-separated allow-list of hosts builds may
	// fetch libs, modules and prebuilt binaries from (see
	// common/fetchpolicy); "" allows none.
	FetchAllow string

	// Ccache compiles every build through ccache, with the cache in
	// CcacheDir ("" means <volumes>/ccache; see CcachePath), bounded by
	// CcacheMaxSize (ccache's max_size, "" for ccache's default) and
	// shared with other servers through CcacheRemote (ccache's
	// remote_storage: redis://host:port or http://host/path; "" for none).
	Ccache                                 bool
	CcacheDir, CcacheMaxSize, CcacheRemote string
	// CcacheTrustedGroup is the group of the accounts file whose builds
	// fill the shared base cache every build reads ("" none: each
	// namespace's builds only reuse their own; see cachepolicy).
	CcacheTrustedGroup string
	// ServerName is sent as the X-Fwbuild-Server header of every answer,
	// so users of a farm see which server built; default the host name.
	ServerName string

	// MetricsOpen serves /metrics, /healthz, /readyz and the status page
	// without credentials on a server with AuthFile (without AuthFile
	// everything is open anyway). MetricsAddress ("host:port"), if set,
	// serves them, without credentials, on a listener of their own.
	MetricsOpen    bool
	MetricsAddress string

	// VerifyFraction is the share of successful incremental builds that
	// are built again from scratch, when a build slot is idle, and
	// compared with the incremental result (package verify); 0: none.
	VerifyFraction float64
	// AdoptContexts: a build that brings no existing context gets one
	// from the nearest context of its namespace (package adopt).
	AdoptContexts bool
}

// Values of --sandbox.
const (
	SandboxOn   = "on"
	SandboxNone = "none"
)

// FormAllowance is how many bytes a request body may carry besides the
// source zip: the text fields (build_params, build_ctx, build_stat, ...)
// and the multipart framing. Each text field is bounded by it too.
const FormAllowance = 1 << 20

// Default returns the configuration used when no flag is given.
func Default() Config {
	return Config{
		VolumesDir:          "/var/tmp/fwbuild-volumes",
		Port:                8000,
		PortTLS:             443,
		PayloadSizeLimit:    50 << 20,
		MaxUnpackedSize:     1 << 30,
		MaxUploadFiles:      50000,
		BuildRunner:         RunnerDocker,
		BuildTimeout:        15 * time.Minute,
		BuildKillGrace:      10 * time.Second,
		MaxConcurrentBuilds: runtime.NumCPU(),
		CASMaxSize:          10 << 30,
		ContextTTL:          14 * 24 * time.Hour,
		MaxContextsSize:     20 << 30,
		OwnerTTL:            365 * 24 * time.Hour,
		AccountQuota:        5 << 30,
		TeamQuota:           10 << 30,
		MinFreeDisk:         2 << 30,
		KeptMaxBytes:        512 << 20,
		KeptAccountBytes:    64 << 20,
		ReadHeaderTimeout:   30 * time.Second,
		ReadTimeout:         10 * time.Minute,
		WriteTimeout:        10 * time.Minute,
		IdleTimeout:         2 * time.Minute,
		BuildPIDNamespace:   true,
		Sandbox:             SandboxOn,
		BuildMemory:         "4g",
		BuildCPUs:           "",
		BuildPIDs:           1024,
		FetchAllow:          strings.Join(fetchpolicy.Default, ","),
		Ccache:              true,
		CcacheMaxSize:       "5G",
		ServerName:          hostname(),
		VerifyFraction:      0.02,
		AdoptContexts:       true,
	}
}

// BuildPathsFixed reports whether builds see their context at a path that
// does not depend on where it is (the sandbox's /mos/ctx, under both
// runners), so two builds of one upload in two dirs give the same
// firmware; a build without the sandbox writes its dir into it
// (__FILE__, debug info, make's dependency files).
func (c *Config) BuildPathsFixed() bool {
	return c.Sandbox == SandboxOn
}

// KeptBudgets are the entry budgets of what the server keeps for clients'
// next requests (in all, per account): the flags, else 40 and 4 listings
// of the largest upload.
func (c *Config) KeptBudgets() (all, account int) {
	all, account = c.KeptMaxEntries, c.KeptAccountEntries
	if all == 0 {
		all = 40 * c.MaxUploadFiles
	}
	if account == 0 {
		account = 4 * c.MaxUploadFiles
	}
	return all, account
}

// CcachePath is the ccache dir: CcacheDir, else <volumesRoot>/ccache.
func (c *Config) CcachePath(volumesRoot string) string {
	if c.CcacheDir != "" {
		return c.CcacheDir
	}
	return filepath.Join(volumesRoot, "ccache")
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// ListenAddress is the interface to listen on: Address if given, else
// 127.0.0.1 for a server without accounts, else all interfaces ("").
func (c *Config) ListenAddress() string {
	if c.Address == "" && c.AuthFile == "" {
		return "127.0.0.1"
	}
	return c.Address
}

// IsLoopback reports whether a listen address reaches this host only: a
// loopback IP or "localhost". "" and 0.0.0.0 mean every interface; any
// other host name is not trusted to stay loopback.
func IsLoopback(address string) bool {
	if strings.EqualFold(address, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(address, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Register binds every setting to a flag of fs, with c's current values as
// defaults. Use the FlagSet glog registered on (flag.CommandLine), so
// --logtostderr and --v work next to these.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.VolumesDir, "volumes-dir", c.VolumesDir, "directory for build contexts, the lib cache and temp files; must be the same path on the host and in the server's container")
	fs.StringVar(&c.Address, "address", c.Address, "interface address to listen on (default: all with --auth-file, else 127.0.0.1 only; 0.0.0.0 for all, which without --auth-file needs --allow-anonymous)")
	fs.IntVar(&c.Port, "port", c.Port, "HTTP port")
	fs.IntVar(&c.PortTLS, "port-tls", c.PortTLS, "HTTPS port, served when --cert-file and --key-file are given")
	fs.StringVar(&c.CertFile, "cert-file", c.CertFile, "TLS certificate file (PEM)")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, "TLS key file (PEM)")
	fs.Int64Var(&c.PayloadSizeLimit, "payload-size-limit", c.PayloadSizeLimit, "maximum size of the uploaded source zip, in bytes; larger uploads get 413")
	fs.Int64Var(&c.MaxUnpackedSize, "max-unpacked-size", c.MaxUnpackedSize, "maximum total uncompressed size of an upload, in bytes")
	fs.IntVar(&c.MaxUploadFiles, "max-upload-files", c.MaxUploadFiles, "maximum number of entries in an uploaded zip")
	fs.StringVar(&c.BuildRunner, "build-runner", c.BuildRunner, "how mos runs make: docker (one SDK container per build) or native (make on this host)")
	fs.DurationVar(&c.BuildTimeout, "build-timeout", c.BuildTimeout, "a build running longer is killed and answered 418")
	fs.DurationVar(&c.BuildKillGrace, "build-kill-grace", c.BuildKillGrace, "time between SIGTERM and SIGKILL when a build is stopped")
	fs.IntVar(&c.MaxConcurrentBuilds, "max-concurrent-builds", c.MaxConcurrentBuilds, "maximum number of builds running at once; the default is the number of CPUs")
	fs.StringVar(&c.MosBinary, "mos-binary", c.MosBinary, "mos executable that runs builds (default: the mos next to fwbuild-manager, else mos on PATH)")
	fs.Int64Var(&c.CASMaxSize, "cas-max-size", c.CASMaxSize, "maximum size of the blob store of delta uploads, in bytes (least recently used blobs are evicted)")
	fs.StringVar(&c.AuthFile, "auth-file", c.AuthFile, "accounts file (user:bcrypt-hash lines as htpasswd -nB prints them, and group NAME: user, ... lines); without it the server accepts anyone")
	fs.BoolVar(&c.AllowAnonymous, "allow-anonymous", c.AllowAnonymous, "without --auth-file, listen on --address even when it is not a loopback address (anyone reaching the port may build and overwrite any named context)")
	fs.DurationVar(&c.ContextTTL, "context-ttl", c.ContextTTL, "remove build contexts not used for this long (0: never)")
	fs.Int64Var(&c.MaxContextsSize, "max-contexts-size", c.MaxContextsSize, "remove the least recently used build contexts while all take more bytes than this (0: no limit)")
	fs.DurationVar(&c.OwnerTTL, "owner-ttl", c.OwnerTTL, "keep the owner record of a removed build context this long after its last use, so its name stays its account's (0: for ever)")
	fs.Int64Var(&c.AccountQuota, "account-quota", c.AccountQuota, "disk quota of one user's build contexts with an upload being unpacked, in bytes (0: none)")
	fs.Int64Var(&c.TeamQuota, "team-quota", c.TeamQuota, "disk quota of one group's team_<group>_... build contexts, in bytes (0: none)")
	fs.Int64Var(&c.MinFreeDisk, "min-free-disk", c.MinFreeDisk, "free disk floor of the volumes, in bytes: least recently used contexts are removed to keep it, uploads that would go below it are refused, /readyz fails under it (0: none)")
	fs.Int64Var(&c.KeptMaxBytes, "kept-max-bytes", c.KeptMaxBytes, "memory budget of the plans and listings kept for clients' next requests, in bytes, all accounts together")
	fs.Int64Var(&c.KeptAccountBytes, "kept-account-bytes", c.KeptAccountBytes, "memory budget of the plans and listings kept for one account, in bytes")
	fs.IntVar(&c.KeptMaxEntries, "kept-max-entries", c.KeptMaxEntries, "budget of listing entries kept for clients' next requests, all accounts together (0: 40 x --max-upload-files)")
	fs.IntVar(&c.KeptAccountEntries, "kept-account-entries", c.KeptAccountEntries, "budget of listing entries kept for one account (0: 4 x --max-upload-files)")
	fs.StringVar(&c.AdminGroup, "admin-group", c.AdminGroup, "group of the --auth-file whose users see every account's builds and contexts on the status page")
	fs.BoolVar(&c.StatusPublic, "status-public", c.StatusPublic, "show every account's builds and contexts on the status page to everyone who may see it (default: an account sees its own and its groups'; without credentials, only counts)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "time allowed to read a request's headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "time allowed to read a whole request (the upload)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "time allowed to send an answer (the result zip), counted once the build is done")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "time an idle keep-alive connection is kept")
	fs.BoolVar(&c.BuildPIDNamespace, "build-pid-namespace", c.BuildPIDNamespace, "run each build in its own PID namespace where allowed (Linux, root), so every process of a build dies with the server")
	fs.StringVar(&c.Sandbox, "sandbox", c.Sandbox, "on: builds run make with no network and see only their context (native: under bwrap; docker: no network, no capabilities, non-root, limits); none: no sandbox (uploaded code runs as this server's user)")
	fs.StringVar(&c.BuildMemory, "build-memory", c.BuildMemory, "memory limit of one docker build (docker --memory; empty: none)")
	fs.StringVar(&c.BuildCPUs, "build-cpus", c.BuildCPUs, "CPU limit of one docker build (docker --cpus; empty: none)")
	fs.IntVar(&c.BuildPIDs, "build-pids", c.BuildPIDs, "process limit of one docker build (docker --pids-limit; 0: none)")
	fs.StringVar(&c.FetchAllow, "fetch-allow", c.FetchAllow, "hosts builds may fetch libs, modules and prebuilt binaries from, comma-separated: HOST[:PORT] (no port: the scheme's default), *.DOMAIN, IP[:PORT] or CIDR; loopback, private and link-local addresses only when listed as such; empty: none")
	fs.BoolVar(&c.Ccache, "ccache", c.Ccache, "compile every build through ccache, one cache per namespace (account or team) shared by its contexts, plus a base cache filled by --ccache-trusted-group (--ccache=false: off)")
	fs.StringVar(&c.CcacheDir, "ccache-dir", c.CcacheDir, "ccache's cache dir (default <volumes-dir>/ccache)")
	fs.StringVar(&c.CcacheMaxSize, "ccache-max-size", c.CcacheMaxSize, "size limit of the ccache dir (ccache max_size: 5G, 500M)")
	fs.StringVar(&c.CcacheRemote, "ccache-remote", c.CcacheRemote, "ccache remote storage shared by several servers: redis://host:port or http://host/path")
	fs.StringVar(&c.CcacheTrustedGroup, "ccache-trusted-group", c.CcacheTrustedGroup, "group of --auth-file whose builds (e.g. CI accounts) fill the shared base compile cache that every build reads; others' builds write their namespace's cache only")
	fs.StringVar(&c.ServerName, "server-name", c.ServerName, "this server's name in the X-Fwbuild-Server header of every answer (default: the host name)")
	fs.BoolVar(&c.MetricsOpen, "metrics-open", c.MetricsOpen, "with --auth-file: serve /metrics, /healthz, /readyz and the status page / without credentials (without --auth-file they are open anyway)")
	fs.Float64Var(&c.VerifyFraction, "verify-fraction", c.VerifyFraction, "share of successful incremental builds (0 to 1) built again from scratch when a build slot is idle and compared with the incremental result; a mismatch marks the context dirty and is logged, counted in /metrics and shown on the status page (0: off)")
	fs.BoolVar(&c.AdoptContexts, "adopt-contexts", c.AdoptContexts, "a build that brings no existing context starts from the nearest one of its account (a copy of the context of the same app and platform sharing the most files; a stock client's line of builds goes back to its last context); where builds see their context at a fixed path (sandbox on, or docker)")
	fs.StringVar(&c.MetricsAddress, "metrics-address", c.MetricsAddress, "also serve /metrics, /healthz, /readyz and the status page, without credentials, on this host:port (e.g. 127.0.0.1:9100)")
}

// Validate reports every setting that cannot work, each message naming its
// flag.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(c.VolumesDir) == "" {
		bad("--volumes-dir is empty")
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("--port %d: must be between 1 and 65535", c.Port)
	}
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		bad("--cert-file and --key-file must be given together")
	case c.CertFile != "":
		if c.PortTLS < 1 || c.PortTLS > 65535 {
			bad("--port-tls %d: must be between 1 and 65535", c.PortTLS)
		} else if c.PortTLS == c.Port {
			bad("--port-tls %d: same as --port", c.PortTLS)
		}
	}
	if c.AuthFile == "" && !c.AllowAnonymous && !IsLoopback(c.ListenAddress()) {
		bad("--address %q without --auth-file: anyone reaching it could build and overwrite any context; give accounts with --auth-file (README: \"Running the server for a team\"), listen on 127.0.0.1, or add --allow-anonymous", c.Address)
	}
	if c.PayloadSizeLimit <= 0 {
		bad("--payload-size-limit %d: must be positive", c.PayloadSizeLimit)
	}
	if c.MaxUnpackedSize <= 0 {
		bad("--max-unpacked-size %d: must be positive", c.MaxUnpackedSize)
	}
	if c.MaxUploadFiles <= 0 {
		bad("--max-upload-files %d: must be positive", c.MaxUploadFiles)
	}
	if c.BuildRunner != RunnerDocker && c.BuildRunner != RunnerNative {
		bad("--build-runner %q: use %s or %s", c.BuildRunner, RunnerDocker, RunnerNative)
	}
	if c.BuildTimeout <= 0 {
		bad("--build-timeout %v: must be positive", c.BuildTimeout)
	}
	if c.BuildKillGrace < 0 {
		bad("--build-kill-grace %v: must not be negative", c.BuildKillGrace)
	}
	if c.CASMaxSize <= 0 {
		bad("--cas-max-size %d: must be positive", c.CASMaxSize)
	}
	if c.Sandbox != SandboxOn && c.Sandbox != SandboxNone {
		bad("--sandbox %q: use %s or %s", c.Sandbox, SandboxOn, SandboxNone)
	}
	if c.BuildPIDs < 0 {
		bad("--build-pids %d: must not be negative", c.BuildPIDs)
	}
	if _, err := fetchpolicy.Parse([]string{c.FetchAllow}, nil); err != nil {
		errs = append(errs, err)
	}
	if c.ContextTTL < 0 {
		bad("--context-ttl %v: must not be negative", c.ContextTTL)
	}
	if c.MaxContextsSize < 0 {
		bad("--max-contexts-size %d: must not be negative", c.MaxContextsSize)
	}
	for _, n := range []struct {
		flag string
		v    int64
	}{{"account-quota", c.AccountQuota}, {"team-quota", c.TeamQuota}, {"min-free-disk", c.MinFreeDisk},
		{"kept-account-entries", int64(c.KeptAccountEntries)}, {"kept-max-entries", int64(c.KeptMaxEntries)}} {
		if n.v < 0 {
			bad("--%s %d: must not be negative", n.flag, n.v)
		}
	}
	if c.OwnerTTL < 0 {
		bad("--owner-ttl %v: must not be negative", c.OwnerTTL)
	}
	if c.KeptMaxBytes <= 0 || c.KeptAccountBytes <= 0 {
		bad("--kept-max-bytes %d, --kept-account-bytes %d: must be positive", c.KeptMaxBytes, c.KeptAccountBytes)
	}
	if c.AdminGroup != "" && c.AuthFile == "" {
		bad("--admin-group %q needs --auth-file (where the group is defined)", c.AdminGroup)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"idle-timeout", c.IdleTimeout}} {
		if d.v <= 0 {
			bad("--%s %v: must be positive", d.flag, d.v)
		}
	}
	if c.MetricsAddress != "" {
		host, port, err := net.SplitHostPort(c.MetricsAddress)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			bad("--metrics-address %q: want host:port, e.g. 127.0.0.1:9100", c.MetricsAddress)
		} else if host == c.ListenAddress() && n == c.Port {
			bad("--metrics-address %q: same as --address and --port", c.MetricsAddress)
		}
	}
	if c.CcacheRemote != "" {
		if !c.Ccache {
			bad("--ccache-remote needs --ccache")
		}
		if u, err := url.Parse(c.CcacheRemote); err != nil || (u.Scheme != "redis" && u.Scheme != "http") || u.Host == "" {
			bad("--ccache-remote %q: want redis://host:port or http://host/path", c.CcacheRemote)
		}
	}
	if c.CcacheTrustedGroup != "" && (c.AuthFile == "" || !c.Ccache) {
		bad("--ccache-trusted-group needs --auth-file and --ccache")
	}
	if c.CcacheMaxSize != "" && strings.Trim(c.CcacheMaxSize, "0123456789.kKMGTi") != "" {
		bad("--ccache-max-size %q: want a size such as 5G or 500M", c.CcacheMaxSize)
	}
	if strings.ContainsAny(c.ServerName, "\r\n") {
		bad("--server-name: must be one line")
	}
	if !(c.VerifyFraction >= 0 && c.VerifyFraction <= 1) { // NaN fails both
		bad("--verify-fraction %v: must be between 0 and 1", c.VerifyFraction)
	}
	if c.MaxConcurrentBuilds < 1 {
		bad("--max-concurrent-builds %d: must be at least 1", c.MaxConcurrentBuilds)
	}
	return errors.Join(errs...)
}
