package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/version"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/config"
	"github.com/mongoose-os/mos/fwbuild/history"
	"github.com/mongoose-os/mos/fwbuild/metrics"
	"github.com/mongoose-os/mos/fwbuild/status"
	"github.com/mongoose-os/mos/fwbuild/visibility"
)

// What the server shows of itself: /metrics, /healthz, /readyz and the
// status page at /, the progress poll of a build (progress.go), and one
// log line per build.

// Monitoring paths; with accounts they need credentials unless
// --metrics-open.
const (
	pathMetrics = "/metrics"
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
)

// statusRefresh is how often the status page reloads itself.
const statusRefresh = 5

func isMonitorPath(p string) bool {
	switch p {
	case "/", pathMetrics, pathHealthz, pathReadyz:
		return true
	}
	return false
}

// isBuildPath: a build request, counted by result even when refused
// before its handler (401).
func isBuildPath(p string) bool {
	return strings.HasPrefix(p, "/api/fwbuild/") && strings.HasSuffix(p, "/build")
}

// needsAuth says whether a request to path must carry an account's
// credentials (with accounts).
func (s *Server) needsAuth(path string) bool {
	return strings.HasPrefix(path, "/api/") || !s.cfg.MetricsOpen && isMonitorPath(path)
}

// setupObserve makes the tracker, the metrics and the readiness checks,
// and routes the monitoring paths on mux.
func (s *Server) setupObserve(mux *http.ServeMux, mosBinary string) {
	s.track = newTracker()
	src := metrics.Sources{
		Running: func() int { r, _ := s.track.counts(); return r },
		Queued:  func() int { _, q := s.track.counts(); return q },
		BlobStore: func() (int, int64, int64) {
			st := s.cas.Stats()
			return st.Blobs, st.Bytes, st.Evicted
		},
		Contexts: func() (int, int64) {
			infos, err := s.contextList()
			if err != nil {
				return 0, 0
			}
			var total int64
			for _, ci := range infos {
				total += ci.Size
			}
			return len(infos), total
		},
		BuildSlots: s.cfg.MaxConcurrentBuilds,
		Verify: func() metrics.VerifyCounts {
			st := s.verify.Stats()
			return metrics.VerifyCounts{Equal: st.Equal, Mismatches: st.Mismatches, Errors: st.Errors, Skipped: st.Skipped}
		},
	}
	s.metrics = metrics.New(src)
	s.ready = []metrics.Check{{Name: "volumes dir " + s.cfg.VolumesDir + " writable", Run: s.checkVolumes}}
	if s.cfg.MinFreeDisk > 0 {
		s.ready = append(s.ready, metrics.Check{
			Name: fmt.Sprintf("free disk on the volumes over %d bytes (--min-free-disk)", s.cfg.MinFreeDisk),
			Run:  func(context.Context) error { return s.quota.CheckFree() },
		})
	}
	if mosBinary != "" {
		s.ready = append(s.ready, metrics.Check{Name: "runner " + s.cfg.BuildRunner, Run: runnerCheck(mosBinary, s.cfg.BuildRunner)})
	}
	s.routeMonitor(mux)
}

func (s *Server) routeMonitor(mux *http.ServeMux) {
	mux.Handle(pathMetrics, s.metrics.Handler())
	mux.Handle(pathHealthz, metrics.Healthz())
	mux.Handle(pathReadyz, metrics.Readyz(s.ready))
	mux.Handle("/{$}", status.Handler(func(r *http.Request) status.Page { return s.statusPage(s.viewer(r)) }))
}

// MonitorHandler serves only the monitoring paths, without credentials
// (--metrics-address).
func (s *Server) MonitorHandler() http.Handler {
	mux := http.NewServeMux()
	s.routeMonitor(mux)
	return s.logRequests(mux)
}

// serveMonitor serves MonitorHandler on --metrics-address until ctx ends.
func (s *Server) serveMonitor(ctx context.Context, ln net.Listener) {
	hs := &http.Server{Handler: s.MonitorHandler(), ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadHeaderTimeout, IdleTimeout: s.cfg.IdleTimeout}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	glog.Infof("serving %s, %s, %s and the status page on %s", pathMetrics, pathHealthz, pathReadyz, ln.Addr())
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		glog.Errorf("--metrics-address %s: %v", s.cfg.MetricsAddress, err)
	}
}

// checkVolumes: a file can be made and removed in the volumes dir.
func (s *Server) checkVolumes(context.Context) error {
	f, err := os.CreateTemp(s.scratch.dir, "ready_")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// runnerCheck: the mos binary is there, and docker answers (the docker
// runner) or make runs (native).
func runnerCheck(mosBinary, runner string) func(context.Context) error {
	return func(ctx context.Context) error {
		fi, err := os.Stat(mosBinary)
		if err != nil {
			return fmt.Errorf("mos binary: %w", err)
		}
		if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("mos binary %s is not an executable file", mosBinary)
		}
		argv := []string{"make", "--version"}
		if runner == config.RunnerDocker {
			argv = []string{"docker", "version", "--format", "{{.Server.Version}}"}
		}
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if len(msg) > 200 {
				msg = msg[:200] + "..."
			}
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
		}
		return nil
	}
}

// contextsCacheFor is how long a listing of the contexts is reused: it
// walks every context changed since the last listing.
const contextsCacheFor = 10 * time.Second

type contextsCache struct {
	mu    sync.Mutex
	at    time.Time
	infos []buildctx.ContextInfo
	err   error
}

// stale makes the next contextList list again (a build or a collection
// pass changed the contexts).
func (c *contextsCache) stale() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

// contextList returns the contexts on disk, listed at most
// contextsCacheFor ago or since the last build.
func (s *Server) contextList() ([]buildctx.ContextInfo, error) {
	c := &s.ctxCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > contextsCacheFor {
		c.infos, c.err = s.store.List()
		c.at = time.Now()
	}
	return c.infos, c.err
}

// viewer is what the status page shows to r's account: with
// --metrics-open (or on --metrics-address) no credentials are asked, but
// valid ones given are taken.
func (s *Server) viewer(r *http.Request) visibility.Viewer {
	p := visibility.Policy{Accounts: s.accounts, AdminGroup: s.cfg.AdminGroup, Public: s.cfg.StatusPublic}
	user := userOf(r)
	if u, pass, ok := r.BasicAuth(); user == "" && ok && s.accounts != nil && s.accounts.Check(u, pass) {
		user = u
	}
	return p.For(user)
}

func (s *Server) statusPage(viewer visibility.Viewer) status.Page {
	p := status.Page{
		Server:  "fwbuild-manager (mos " + version.Version + ")",
		Now:     time.Now(),
		Refresh: statusRefresh,
		Slots:   s.cfg.MaxConcurrentBuilds,
	}
	live, recent := s.track.snapshot()
	inUse := map[string]bool{}
	var hiddenBuilds, hiddenContexts int
	for _, v := range live {
		inUse[v.Version+"/"+v.App+"/"+v.Platform+"/"+v.Context] = true
		if !viewer.Build(v.User, v.Context) {
			hiddenBuilds++
			continue
		}
		b := v.status()
		b.Position = v.Position
		p.Live = append(p.Live, b)
	}
	for _, v := range recent {
		if !viewer.Build(v.User, v.Context) {
			hiddenBuilds++
			continue
		}
		p.Recent = append(p.Recent, v.status())
	}
	infos, err := s.contextList()
	if err != nil {
		p.Notes = append(p.Notes, "listing the build contexts: "+err.Error())
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].LastUse.After(infos[j].LastUse) })
	for _, ci := range infos {
		p.Disk.Contexts += ci.Size
		if !viewer.All() && !viewer.Namespace(ci.Owner()) {
			hiddenContexts++
			continue
		}
		p.Contexts = append(p.Contexts, status.Context{
			Version: ci.Key.Version, App: ci.Key.App, Platform: ci.Key.Platform, Name: ci.Name,
			Size: ci.Size, LastUse: ci.LastUse, Owner: ci.Owner(),
			InUse: inUse[ci.Key.Version+"/"+ci.Key.App+"/"+ci.Key.Platform+"/"+ci.Name],
		})
	}
	if hiddenBuilds > 0 || hiddenContexts > 0 {
		who := "other accounts"
		if viewer.CountsOnly() {
			who = "accounts (log in to see yours)"
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%d builds and %d contexts of %s are not shown", hiddenBuilds, hiddenContexts, who))
	}
	if s.verify.Enabled() {
		vs := s.verify.Stats()
		p.Verify = &status.Verify{
			Fraction: s.verify.Fraction(), Equal: vs.Equal, Mismatches: vs.Mismatches, Errors: vs.Errors,
			Skipped: vs.Skipped, Queued: int64(vs.Queued),
		}
		for _, m := range vs.Recent {
			if !viewer.All() {
				break // names other accounts' contexts
			}
			p.Verify.Recent = append(p.Verify.Recent, status.Mismatch{
				At: m.At, Version: m.Key.Version, App: m.Key.App, Platform: m.Key.Platform, Name: m.Name,
				First: m.First, Diffs: m.Diffs,
			})
		}
	}
	if s.accounts != nil {
		n, last := s.logins.Snapshot()
		p.Logins = &status.Logins{Refused: n}
		for _, l := range last {
			p.Logins.Last = append(p.Logins.Last, status.Login{User: l.User, At: l.At, From: l.From})
		}
	}
	st := s.cas.Stats()
	p.Disk.BlobStore, p.Disk.BlobStoreMax = st.Bytes, s.cfg.CASMaxSize
	p.Disk.FSSize, p.Disk.FSFree, p.Disk.FSUsed = diskSpace(s.cfg.VolumesDir)
	return p
}

func (v buildView) status() status.Build {
	return status.Build{
		App: v.App, Platform: v.Platform, Context: v.Context, User: v.User,
		State: v.State, Step: v.LastLine, Arrived: v.Arrived, Ended: v.Ended,
		QueueWait: v.QueueWait, BuildTime: v.BuildTime, Took: v.Took, Status: v.Status,
		BytesIn: v.BytesIn, BytesOut: v.BytesOut, Files: v.Files, Sent: v.Sent, Delta: v.Delta,
		Compiled: v.Compiled, Total: v.Total, Estimated: v.Estimated, Cached: v.Cached, Adopted: v.Adopted,
	}
}

// bodyBytes is how much of r's body was read.
func bodyBytes(r *http.Request) int64 {
	if b, ok := r.Context().Value(bodyKey{}).(*readCounter); ok {
		return b.n
	}
	return 0
}

// buildAnswered closes a build's record: the metrics, and the one log
// line every build gets.
func (s *Server) buildAnswered(req *request, status int, out int64) {
	in := bodyBytes(req.r)
	rec := req.rec
	rec.end(status, in, out)
	s.track.finish(rec)
	s.ctxCache.stale()
	v := rec.view()
	s.metrics.BuildAnswered(status)
	if v.Ran {
		s.metrics.BuildRan(v.Platform, v.QueueWait, v.BuildTime)
	}
	up, down := metrics.Full, metrics.Full
	if req.deltaUpload {
		up = metrics.Delta
	}
	if req.have != nil {
		down = metrics.Delta
	}
	s.metrics.Transferred(metrics.Upload, up, in, req.uploadSaved)
	s.metrics.Transferred(metrics.Download, down, out, req.downloadSaved)
	glog.Infof("build done: app=%s platform=%s ctx=%s user=%s result=%d queue=%v build=%v files=%d uploaded=%d compiled=%d cached=%d bytes_in=%d bytes_out=%d took=%v",
		orDash(v.App), orDash(v.Platform), orDash(v.Context), orDash(v.User), status,
		v.QueueWait.Round(time.Millisecond), v.BuildTime.Round(time.Millisecond),
		v.Files, v.Sent, v.Compiled, v.Cached, in, out, v.Took.Round(time.Millisecond))
	if err := s.history.Save(s.track.history()); err != nil {
		glog.Warningf("%v (the status page's recent builds will not survive a restart)", err)
	}
}

// Refused logins kept for the status page (besides their count).
const loginsKept = 8

// openHistory loads the recent builds of the server's last run from the
// volumes dir. A file that cannot be read is logged and replaced by the
// next build's save; the server starts anyway.
func (s *Server) openHistory() error {
	s.logins = history.NewLogins(loginsKept)
	f, err := history.Open(s.store.Root(), recentMax)
	if err != nil {
		return err
	}
	s.history = f
	builds, err := f.Load()
	if err != nil {
		glog.Warningf("%v: starting with no recent builds", err)
		return nil
	}
	s.track.restore(builds)
	if len(builds) > 0 {
		glog.Infof("status page: %d recent builds from %s", len(builds), history.FileName)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
