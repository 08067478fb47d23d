// Package server is the HTTP face of fwbuild-manager: the stock routes
// (POST /api/fwbuild/<version>/build), intake of the multipart upload
// within its limits, safe unpacking, the build of a context through the
// queue and a builder.Runner, the result zip, and the mapping of errors to
// 400, 413, 418 and 500 in one place (statusOf). It also shows what it
// does: each build's progress to its client (progress.go), /metrics,
// /healthz, /readyz and the status page at / (observe.go).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/auth"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/cas"
	"github.com/mongoose-os/mos/fwbuild/config"
	"github.com/mongoose-os/mos/fwbuild/history"
	"github.com/mongoose-os/mos/fwbuild/kept"
	"github.com/mongoose-os/mos/fwbuild/metrics"
	"github.com/mongoose-os/mos/fwbuild/possession"
	"github.com/mongoose-os/mos/fwbuild/queue"
	"github.com/mongoose-os/mos/fwbuild/quota"
	"github.com/mongoose-os/mos/fwbuild/verify"
)

// Server serves build requests.
type Server struct {
	cfg      config.Config
	store    *buildctx.Store
	queue    *queue.Queue
	runner   builder.Runner
	scratch  *scratch   // per-request dirs under <volumes>/tmp, same file system as contexts
	libCache string     // <volumes>/libcache
	cas      *cas.Store // blobs of delta uploads, <volumes>/cas
	// owned records which blobs each account uploaded itself; nil
	// without accounts (one namespace, which holds the whole store).
	owned     *possession.Index
	quota     *quota.Policy // disk quotas and the free disk floor
	uploads   *quota.Ledger // what uploads in flight may write
	diskWatch time.Duration // how often free disk is checked while a build runs
	// Plans and recent listings by user, for the next request
	// (listings.go).
	kept      *kept.Store
	mux       *http.ServeMux
	accounts  *auth.Accounts // nil: no --auth-file, one anonymous namespace
	kick      chan struct{}  // asks collectLoop for a pass
	onCollect func(buildctx.CollectStats)
	verify    *verify.Verifier // clean rebuilds of a fraction of incremental builds

	// What the server shows of itself (observe.go, progress.go).
	track    *tracker
	history  *history.File   // the recent builds, kept across restarts
	logins   *history.Logins // refused logins
	metrics  *metrics.Metrics
	ready    []metrics.Check
	ctxCache contextsCache
}

// Option changes how New assembles the server.
type Option func(*options)

type options struct {
	runner    builder.Runner
	storeOpts buildctx.Options
	queueOpts queue.Options
	onCollect func(buildctx.CollectStats)
	onVerify  func(verify.Outcome)
}

// WithRunner runs builds with r instead of the mos binary.
func WithRunner(r builder.Runner) Option { return func(o *options) { o.runner = r } }

// WithStoreOptions sets the options of the context store.
func WithStoreOptions(so buildctx.Options) Option { return func(o *options) { o.storeOpts = so } }

// WithCollectHook has f called after every pass that removes old
// contexts, with what it did.
func WithCollectHook(f func(buildctx.CollectStats)) Option {
	return func(o *options) { o.onCollect = f }
}

// WithVerifyHook has f called after every verification of an
// incremental build ends (--verify-fraction), with its outcome.
func WithVerifyHook(f func(verify.Outcome)) Option {
	return func(o *options) { o.onVerify = f }
}

// WithQueueOptions sets the options of the build queue.
func WithQueueOptions(qo queue.Options) Option { return func(o *options) { o.queueOpts = qo } }

// New assembles a server from a validated config: the context store and
// the server's dirs under the volumes dir, the queue, and the runner (the
// mos binary, found now, unless WithRunner gives another).
func New(cfg config.Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	onLockWait := o.storeOpts.OnLockWait
	o.storeOpts.OnLockWait = func(key buildctx.Key, name string) {
		glog.V(1).Infof("build ctx=%s app=%s platform=%s: waiting for the context's lock file (held by another process)", name, key.App, key.Platform)
		if onLockWait != nil {
			onLockWait(key, name)
		}
	}
	store, err := buildctx.NewStore(cfg.VolumesDir, o.storeOpts)
	if err != nil {
		return nil, err
	}
	cfg.VolumesDir = store.Root()
	root := store.Root()
	s := &Server{
		cfg:       cfg,
		store:     store,
		runner:    o.runner,
		libCache:  filepath.Join(store.Root(), buildctx.LibCacheDirName),
		kick:      make(chan struct{}, 1),
		onCollect: o.onCollect,

		kept:      newKept(cfg),
		diskWatch: 2 * time.Second,
		quota: &quota.Policy{
			Account: cfg.AccountQuota, Team: cfg.TeamQuota, MinFree: cfg.MinFreeDisk,
			Free: func() int64 {
				if size, free, _ := diskSpace(root); size > 0 {
					return free
				}
				return -1
			},
		},
	}
	s.uploads = quota.NewLedger(s.quota)
	if cfg.AuthFile != "" {
		if s.accounts, err = auth.Load(cfg.AuthFile); err != nil {
			return nil, err
		}
		glog.Infof("accounts: %d users from %s; a context belongs to its user, team_<group>[_...] to a group", len(s.accounts.Users()), cfg.AuthFile)
		if cfg.AdminGroup != "" && !s.accounts.HasGroup(cfg.AdminGroup) {
			return nil, fmt.Errorf("--admin-group %q: no such group in %s", cfg.AdminGroup, cfg.AuthFile)
		}
		logCacheTrust(cfg, s.accounts)
	} else {
		glog.Warningf("WARNING: no --auth-file: this server accepts every request from anyone who can reach %s, and all share one namespace of contexts (anyone can overwrite any named context)", listenWhere(cfg))
	}
	if err := os.MkdirAll(s.libCache, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", s.libCache, err)
	}
	var mosBinary string // for the readiness check; "" with WithRunner
	if s.runner == nil {
		bin, err := builder.FindMos(cfg.MosBinary)
		if err != nil {
			return nil, err
		}
		mos := &builder.Mos{Binary: bin, BuildRunner: cfg.BuildRunner, Timeout: cfg.BuildTimeout, KillGrace: cfg.BuildKillGrace,
			FetchAllow: cfg.FetchAllow}
		if cfg.Sandbox == config.SandboxNone {
			glog.Warningf("WARNING: --sandbox none: uploaded code (SDK makefiles, tools) runs as this server's user, with its network and files")
		} else {
			if err := builder.CheckSandbox(cfg.BuildRunner); err != nil {
				return nil, err
			}
			mos.Sandbox = &builder.Sandbox{VolumesDir: store.Root(), Memory: cfg.BuildMemory, CPUs: cfg.BuildCPUs, PIDs: cfg.BuildPIDs}
		}
		// A build dies with the server (builder: Pdeathsig on mos) and so
		// does all it starts: the sandbox runs make under bwrap
		// --die-with-parent in a PID namespace of its own; without it, a
		// native build gets its own PID namespace here (bwrap cannot run
		// in one whose /proc is the host's). The docker client is left to
		// run: it holds the context's lock until its container ends.
		mos.PIDNamespace = cfg.BuildPIDNamespace && mos.Sandbox == nil && cfg.BuildRunner == config.RunnerNative
		if mos.Ccache, err = ccacheFor(cfg, store.Root()); err != nil {
			return nil, err
		}
		s.runner = mos
		mosBinary = bin
		glog.Infof("builds run as: %s build ... --build-runner %s (timeout %v)", bin, cfg.BuildRunner, cfg.BuildTimeout)
	}
	onWait := o.queueOpts.OnWait
	o.queueOpts.OnWait = func(key string, kind queue.WaitKind) {
		glog.V(1).Infof("build %s: waiting for a %s", key, kind)
		if onWait != nil {
			onWait(key, kind)
		}
	}
	s.queue = queue.New(cfg.MaxConcurrentBuilds, o.queueOpts)
	if s.cas, err = cas.Open(filepath.Join(store.Root(), buildctx.CASDirName), cfg.CASMaxSize); err != nil {
		return nil, err
	}
	if s.accounts != nil {
		// A few listings of the largest upload per account.
		if s.owned, err = possession.Open(filepath.Join(s.cas.Dir(), possessionDirName), 4*cfg.MaxUploadFiles); err != nil {
			return nil, err
		}
	}
	if s.scratch, err = openScratch(filepath.Join(store.Root(), buildctx.TempDirName)); err != nil {
		return nil, err
	}
	// Snapshots go in the server's temp area: removed with it, and, if the
	// server dies, by the next one to start.
	fraction := cfg.VerifyFraction
	if fraction > 0 && !cfg.BuildPathsFixed() {
		glog.Warningf("WARNING: --verify-fraction %g ignored: with --build-runner native --sandbox none a build writes its context's path into the firmware, so a clean build in another dir never matches; verification is off", fraction)
		fraction = 0
	}
	s.verify, err = verify.New(verify.Options{
		Fraction: fraction, Store: store, Queue: s.queue, Runner: s.runner,
		LibsCacheDir: s.libCache, TempDir: s.scratch.dir, OnDone: o.onVerify,
	})
	if err != nil {
		s.scratch.close()
		return nil, err
	}
	if s.verify.Enabled() {
		glog.Infof("verification: %g%% of successful incremental builds are built again from scratch when a build slot is idle", 100*fraction)
	}

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/api/fwbuild/{version}/{action}", s.handleAPI)
	s.mux.HandleFunc("/api/fwbuild/{version}/"+protocol.ActionProgress+"/{id}", s.handleProgress)
	s.setupObserve(s.mux, mosBinary)
	if err := s.openHistory(); err != nil {
		s.verify.Close()
		s.scratch.close()
		return nil, err
	}
	return s, nil
}

// Close stops verification (pending snapshots are dropped) and releases
// the server's temp area; call it when the server is done (Run and Serve
// do not).
func (s *Server) Close() error {
	s.verify.Close()
	if s.history != nil {
		s.history.Close()
	}
	return s.scratch.close()
}

// Handler returns the HTTP handler of all routes.
func (s *Server) Handler() http.Handler { return s.nameAnswers(s.logRequests(s.guard(s.mux))) }

// listenWhere says where a server of cfg listens, for its warning.
func listenWhere(cfg config.Config) string {
	if a := cfg.ListenAddress(); a != "" {
		return a
	}
	return "any interface"
}

// Run listens on the configured port (and TLS port) and serves until ctx
// ends, then stops accepting requests and waits for running builds to be
// answered.
func (s *Server) Run(ctx context.Context) error {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.ListenAddress(), strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("--port %d: %w", s.cfg.Port, err)
	}
	lns = append(lns, ln)
	if s.cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			closeAll()
			return fmt.Errorf("--cert-file/--key-file: %w", err)
		}
		tln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.ListenAddress(), strconv.Itoa(s.cfg.PortTLS)))
		if err != nil {
			closeAll()
			return fmt.Errorf("--port-tls %d: %w", s.cfg.PortTLS, err)
		}
		lns = append(lns, tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	if s.cfg.MetricsAddress != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddress)
		if err != nil {
			closeAll()
			return fmt.Errorf("--metrics-address %s: %w", s.cfg.MetricsAddress, err)
		}
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serveMonitor(mctx, mln)
		}()
		defer func() {
			stop()
			<-done
		}()
	}
	return s.Serve(ctx, lns...)
}

// Serve serves on the given listeners until ctx ends or one fails; then it
// shuts down gracefully: listeners close, requests in flight (queued or
// building) run to their answer, bounded by the build timeout.
func (s *Server) Serve(ctx context.Context, lns ...net.Listener) error {
	// The body's read deadline and the answer's write deadline are set
	// per request (guard, send): a server-wide one would also cut builds.
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, IdleTimeout: s.cfg.IdleTimeout}
	cctx, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	go s.collectLoop(cctx)
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		glog.Infof("listening on %s (volumes %s, up to %d builds at once)", ln.Addr(), s.cfg.VolumesDir, s.queue.Max())
		go func() { errc <- hs.Serve(ln) }()
	}
	select {
	case err := <-errc:
		hs.Close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	glog.Infof("shutting down: no new requests; waiting for %d running builds and queued requests", s.queue.Running())
	drain := s.cfg.BuildTimeout + s.cfg.BuildKillGrace + time.Minute
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutting down after %v: %w", drain, err)
	}
	for range lns {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving: %w", err)
		}
	}
	// Nothing is written any more: sync the disks and record it, so the
	// contexts built in this boot are trusted after a reboot too.
	if err := s.store.Synced(); err != nil {
		glog.Warningf("%v: contexts of this boot start afresh after a reboot", err)
	}
	glog.Infof("shut down")
	return nil
}

// handleAPI dispatches /api/fwbuild/<version>/<action> as stock does.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	switch action := r.PathValue("action"); action {
	case "build":
		s.handleBuild(w, r)
	case protocol.ActionPlan:
		s.handlePlan(w, r)
	case "pull":
		// Stock pulls its instance and mos images here; this server runs
		// the mos binary it was given and has nothing to pull.
		writeText(w, http.StatusOK, "Ok\n")
	default:
		s.fail(w, r, "", errorf(http.StatusBadRequest, "wrong action: %q", action))
	}
}

// fail answers an error with its status and message, and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, log string, err error) {
	status := statusOf(err)
	if log == "" {
		log = r.Method + " " + r.URL.Path
	}
	switch {
	case status >= 500 && !errors.Is(err, context.Canceled):
		glog.Errorf("%s: answered %d: %v", log, status, err)
	case errors.Is(err, context.Canceled):
		glog.Infof("%s: client went away: %v", log, err)
	default:
		glog.Infof("%s: refused %d: %v", log, status, err)
	}
	switch status {
	case http.StatusRequestEntityTooLarge:
		drain(r, drainMax)
		w.Header().Set("Connection", "close") // the rest of the body, if any, is not read
	case http.StatusUnauthorized:
		drain(r, s.bodyLimit())
		w.Header().Set("Connection", "close")
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	writeText(w, status, err.Error())
}

func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// logRequests logs each request at V(1): who, what, status, time.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !glog.V(1) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		from := r.Header.Get("X-Real-Ip")
		if from == "" {
			from = r.RemoteAddr
		}
		glog.Infof("%s %s from %s (%s): %d in %v", r.Method, r.URL.Path, from, r.UserAgent(), sw.status, time.Since(start).Round(time.Millisecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

func (sw *statusWriter) WriteHeader(code int) {
	sw.status = code
	sw.ResponseWriter.WriteHeader(code)
}
