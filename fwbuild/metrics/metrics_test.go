package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestSourcesAndEvents(t *testing.T) {
	m := New(Sources{
		Running:    func() int { return 2 },
		Queued:     func() int { return 5 },
		BlobStore:  func() (int, int64, int64) { return 7, 700, 3 },
		Contexts:   func() (int, int64) { return 4, 4000 },
		BuildSlots: 2,
		Verify:     func() VerifyCounts { return VerifyCounts{Equal: 6, Mismatches: 1, Errors: 2, Skipped: 3} },
	})
	m.BuildAnswered(200)
	m.BuildAnswered(418)
	m.BuildAnswered(200)
	m.BuildRan("esp32", time.Second, 3*time.Second)
	m.Transferred(Upload, Delta, 100, 900)
	m.Transferred(Download, Full, 50, 0)
	m.ContextsEvicted(2)
	m.CcacheCounted(3, 4)
	m.CcacheCounted(1, 0)
	for i := range maxPlatforms + 3 {
		m.BuildRan(fmt.Sprintf("p%d", i), 0, 0)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, labels ...string) float64 {
		for _, mt := range mfs[name].GetMetric() {
			ok := true
			for i := 0; i < len(labels); i += 2 {
				found := false
				for _, lp := range mt.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				ok = ok && found
			}
			if !ok {
				continue
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
		return -1
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fwbuild_builds_total", []string{"status", "200"}, 2},
		{"fwbuild_builds_total", []string{"status", "418"}, 1},
		{"fwbuild_builds_running", nil, 2},
		{"fwbuild_builds_queued", nil, 5},
		{"fwbuild_build_slots", nil, 2},
		{"fwbuild_blob_store_blobs", nil, 7},
		{"fwbuild_blob_store_bytes", nil, 700},
		{"fwbuild_blob_store_evictions_total", nil, 3},
		{"fwbuild_contexts", nil, 4},
		{"fwbuild_contexts_bytes", nil, 4000},
		{"fwbuild_ccache_hits_total", nil, 4},
		{"fwbuild_ccache_misses_total", nil, 4},
		{"fwbuild_contexts_evicted_total", nil, 2},
		{"fwbuild_verify_runs_total", []string{"result", "equal"}, 6},
		{"fwbuild_verify_runs_total", []string{"result", "mismatch"}, 1},
		{"fwbuild_verify_runs_total", []string{"result", "error"}, 2},
		{"fwbuild_verify_mismatches_total", nil, 1},
		{"fwbuild_verify_skipped_total", nil, 3},
		{"fwbuild_transfer_bytes_total", []string{"direction", "upload", "kind", "delta"}, 100},
		{"fwbuild_transfer_bytes_total", []string{"direction", "download", "kind", "full"}, 50},
		{"fwbuild_delta_saved_bytes_total", []string{"direction", "upload"}, 900},
		{"fwbuild_build_duration_seconds", []string{"platform", "esp32"}, 1},
		{"fwbuild_queue_wait_seconds", []string{"platform", "esp32"}, 1},
		// esp32 and p0..p30 fill the 32 platforms; p31..p34 are "other".
		{"fwbuild_build_duration_seconds", []string{"platform", "p30"}, 1},
		{"fwbuild_build_duration_seconds", []string{"platform", "other"}, 4},
	} {
		if got := get(tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if n := len(mfs["fwbuild_build_duration_seconds"].GetMetric()); n != maxPlatforms+1 {
		t.Errorf("%d platform series, want %d", n, maxPlatforms+1)
	}
}

func TestReadyz(t *testing.T) {
	calls := 0
	fail := errors.New("docker: no daemon")
	var err error
	h := Readyz([]Check{
		{Name: "disk", Run: func(context.Context) error { return nil }},
		{Name: "runner", Run: func(context.Context) error { calls++; return err }},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 200 || rec.Body.String() != "disk: ok\nrunner: ok\n" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
	// A second probe right away reuses the answer.
	err = fail
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 200 || calls != 1 {
		t.Errorf("cached answer: %d, %d runs", rec.Code, calls)
	}
	code, body := runChecks(context.Background(), []Check{{Name: "runner", Run: func(context.Context) error { return fail }}})
	if code != http.StatusServiceUnavailable || body != "runner: docker: no daemon\n" {
		t.Errorf("failing check: %d %q", code, body)
	}
}
