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
	"runtime"
	"strings"
	"time"
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
	// Address is the interface to listen on ("" = all).
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
}

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
	}
}

// Register binds every setting to a flag of fs, with c's current values as
// defaults. Use the FlagSet glog registered on (flag.CommandLine), so
// --logtostderr and --v work next to these.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.VolumesDir, "volumes-dir", c.VolumesDir, "directory for build contexts, the lib cache and temp files; must be the same path on the host and in the server's container")
	fs.StringVar(&c.Address, "address", c.Address, "interface address to listen on (empty: all)")
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
	if c.MaxConcurrentBuilds < 1 {
		bad("--max-concurrent-builds %d: must be at least 1", c.MaxConcurrentBuilds)
	}
	return errors.Join(errs...)
}
