// Package metrics is what fwbuild-manager tells Prometheus
// (prometheus/client_golang, text format at /metrics) and its health
// probes (/healthz: the process answers; /readyz: it can build). The
// server calls the event methods (a build answered, a build ran, bytes
// moved, contexts evicted, a build's compile cache hits and misses);
// levels it already keeps elsewhere (builds running and queued, the blob
// store, the contexts on disk) are read from Sources when scraped.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "fwbuild"

// Sources are read at every scrape. A nil func reports 0.
type Sources struct {
	// Builds running make, and waiting for their context or a slot.
	Running, Queued func() int
	// BlobStore: blobs, bytes, and blobs evicted since start.
	BlobStore func() (blobs int, bytes int64, evicted int64)
	// Contexts on disk and their bytes.
	Contexts func() (n int, bytes int64)
	// BuildSlots is --max-concurrent-builds.
	BuildSlots int
	// Verify: what verification of incremental builds found since start.
	Verify func() VerifyCounts
}

// VerifyCounts are the verifications of incremental builds so far (see
// package verify): equal, mismatched, ended in error, and skipped
// (dropped from a full queue, or at shutdown).
type VerifyCounts struct {
	Equal, Mismatches, Errors, Skipped int64
}

// Transfer directions and kinds, as label values.
const (
	Upload   = "upload"
	Download = "download"
	Full     = "full"  // a whole zip (stock), or a full result
	Delta    = "delta" // a plan and the missing contents, or a delta result
)

// maxPlatforms bounds the platform label's values: a platform name comes
// from an upload, and each value is a series kept for ever.
const maxPlatforms = 32

// Metrics holds the server's metrics in a registry of their own.
type Metrics struct {
	reg       *prometheus.Registry
	builds    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	queueWait *prometheus.HistogramVec
	bytes     *prometheus.CounterVec
	saved     *prometheus.CounterVec
	evicted   prometheus.Counter
	adopted   *prometheus.CounterVec
	adoptedFs prometheus.Counter
	ccHits    prometheus.Counter
	ccMisses  prometheus.Counter

	mu        sync.Mutex
	platforms map[string]bool
}

// New registers the metrics, the Go runtime's and the process's.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), platforms: map[string]bool{}}
	m.builds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "builds_total",
		Help: "Build requests answered, by HTTP status (200 built, 418 build failed, 400 bad request, 401 no or wrong credentials, 403 another account's context, 409 delta contents missing, 413 too large, 5xx server trouble).",
	}, []string{"status"})
	// Builds take from a second (nothing to compile) to many minutes.
	buckets := []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "build_duration_seconds",
		Help:    "Time builds ran (mos build --local, make included), by platform.",
		Buckets: buckets,
	}, []string{"platform"})
	m.queueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "queue_wait_seconds",
		Help:    "Time builds waited for their context's turn and a build slot, by platform.",
		Buckets: append([]float64{0.01, 0.1}, buckets...),
	}, []string{"platform"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "transfer_bytes_total",
		Help: "Bytes of build requests received (direction upload) and of results sent (download), by kind: full (a whole zip) or delta (plan, missing contents, changed result files).",
	}, []string{"direction", "kind"})
	m.saved = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "delta_saved_bytes_total",
		Help: "Bytes of content that delta transfer did not send: files of an upload the server already had, files of a result the client already had (uncompressed sizes).",
	}, []string{"direction"})
	m.evicted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "contexts_evicted_total",
		Help: "Build contexts removed for --context-ttl or --max-contexts-size.",
	})
	m.adopted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "context_adoptions_total",
		Help: "Builds that brought no existing context and got one anyway: how=copy (a new context started as a copy of the nearest one), how=line (a stock client's line of builds back to the context it used last).",
	}, []string{"how"})
	m.adoptedFs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "context_adopted_files_total",
		Help: "Files of an upload that a context copied for a new one already held alike (what the new context did not have to build from scratch).",
	})
	// Counted from each build's own statistics, as its build.log reports
	// them: not from the cache dir's, which other servers sharing it add
	// to, and which needs a ccache binary beside the server (the docker
	// runner's is in the SDK image).
	m.ccHits = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "ccache_hits_total",
		Help: "Compilations of this server's builds served by the compile cache (ccache direct and preprocessed hits), as the builds' logs count them.",
	})
	m.ccMisses = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "ccache_misses_total",
		Help: "Compilations of this server's builds the compile cache (ccache) did not have.",
	})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, f)
	}
	intOf := func(f func() int) func() float64 {
		return func() float64 {
			if f == nil {
				return 0
			}
			return float64(f())
		}
	}
	blob := func(i int) func() float64 {
		return func() float64 {
			if src.BlobStore == nil {
				return 0
			}
			n, b, e := src.BlobStore()
			return [...]float64{float64(n), float64(b), float64(e)}[i]
		}
	}
	ctxs := func(i int) func() float64 {
		return func() float64 {
			if src.Contexts == nil {
				return 0
			}
			n, b := src.Contexts()
			return [...]float64{float64(n), float64(b)}[i]
		}
	}
	m.reg.MustRegister(
		m.builds, m.duration, m.queueWait, m.bytes, m.saved, m.evicted, m.adopted, m.adoptedFs,
		gauge("builds_running", "Builds running make now.", intOf(src.Running)),
		gauge("builds_queued", "Builds waiting for their context's turn or a build slot.", intOf(src.Queued)),
		gauge("build_slots", "Builds that may run at once (--max-concurrent-builds).", func() float64 { return float64(src.BuildSlots) }),
		gauge("blob_store_blobs", "Contents in the blob store of delta uploads.", blob(0)),
		gauge("blob_store_bytes", "Bytes in the blob store of delta uploads.", blob(1)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "blob_store_evictions_total",
			Help: "Contents evicted from the blob store (--cas-max-size) since the server started.",
		}, blob(2)),
		gauge("contexts", "Build contexts on disk.", ctxs(0)),
		gauge("contexts_bytes", "Bytes of all build contexts on disk.", ctxs(1)),
		m.ccHits, m.ccMisses,
		verifyRuns(src.Verify, "equal", func(c VerifyCounts) int64 { return c.Equal }),
		verifyRuns(src.Verify, "mismatch", func(c VerifyCounts) int64 { return c.Mismatches }),
		verifyRuns(src.Verify, "error", func(c VerifyCounts) int64 { return c.Errors }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "verify_mismatches_total",
			Help: "Incremental builds whose clean rebuild (--verify-fraction) gave other firmware, or failed; each marked its context dirty.",
		}, verifyCount(src.Verify, func(c VerifyCounts) int64 { return c.Mismatches })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "verify_skipped_total",
			Help: "Incremental builds chosen for verification but not verified: dropped from the full queue (oldest first), too big to keep, or pending at shutdown.",
		}, verifyCount(src.Verify, func(c VerifyCounts) int64 { return c.Skipped })),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, st := range []string{"200", "418"} {
		m.builds.WithLabelValues(st) // seen as 0 before the first build
	}
	return m
}

// verifyRuns is fwbuild_verify_runs_total{result=...}, read at scrape.
func verifyRuns(f func() VerifyCounts, result string, pick func(VerifyCounts) int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: "verify_runs_total",
		Help:        "Verifications of incremental builds (--verify-fraction) done, by result: equal, mismatch (context marked dirty), error (could not be verified).",
		ConstLabels: prometheus.Labels{"result": result},
	}, verifyCount(f, pick))
}

func verifyCount(f func() VerifyCounts, pick func(VerifyCounts) int64) func() float64 {
	return func() float64 {
		if f == nil {
			return 0
		}
		return float64(pick(f()))
	}
}

// CcacheCounted adds a build's compile cache hits and misses.
func (m *Metrics) CcacheCounted(hits, misses int) {
	m.ccHits.Add(float64(hits))
	m.ccMisses.Add(float64(misses))
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the metrics are, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// BuildAnswered counts a build request answered with status.
func (m *Metrics) BuildAnswered(status int) {
	m.builds.WithLabelValues(strconv.Itoa(status)).Inc()
}

// BuildRan records a build that ran make: its time in the queue and its
// run time.
func (m *Metrics) BuildRan(platform string, queueWait, duration time.Duration) {
	p := m.platform(platform)
	m.queueWait.WithLabelValues(p).Observe(queueWait.Seconds())
	m.duration.WithLabelValues(p).Observe(duration.Seconds())
}

// Transferred counts bytes moved in direction (Upload, Download) of kind
// (Full, Delta), and the content bytes a delta did not move.
func (m *Metrics) Transferred(direction, kind string, bytes, saved int64) {
	if bytes > 0 {
		m.bytes.WithLabelValues(direction, kind).Add(float64(bytes))
	}
	if saved > 0 {
		m.saved.WithLabelValues(direction).Add(float64(saved))
	}
}

// ContextsEvicted counts removed contexts.
func (m *Metrics) ContextsEvicted(n int) {
	if n > 0 {
		m.evicted.Add(float64(n))
	}
}

// Adoption kinds, as label values.
const (
	AdoptCopy = "copy"
	AdoptLine = "line"
)

// ContextAdopted counts a build given a context: how (AdoptCopy,
// AdoptLine) and, for a copy, the upload's files the source held alike.
func (m *Metrics) ContextAdopted(how string, shared int) {
	m.adopted.WithLabelValues(how).Inc()
	if shared > 0 {
		m.adoptedFs.Add(float64(shared))
	}
}

// platform is the label value of a platform: itself while fewer than
// maxPlatforms were seen, else "other".
func (m *Metrics) platform(p string) string {
	if p == "" {
		return "unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.platforms[p] {
		return p
	}
	if len(m.platforms) >= maxPlatforms {
		return "other"
	}
	m.platforms[p] = true
	return p
}
