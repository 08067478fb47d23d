// Package suite is the benchmark of `make bench`: it generates a large app
// (package gen), starts the build server with the native runner, and times
// the scenarios of issue 6 — stock (fresh context, full upload), reuse
// (context reuse, full upload), delta (context reuse, delta transfer) and
// local (mos build --local, the compiler's floor) — each run several times,
// with the bytes that crossed the network and the files compiled.
package suite

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"

	"github.com/mongoose-os/mos/bench/gen"
	"github.com/mongoose-os/mos/bench/harness"
)

// Changes between the builds of a scenario.
const (
	ChangeNone  = "none"        // the same tree again
	ChangeOneC  = "one_c_file"  // one lib .c file's content changed
	ChangeClean = "clean"       // a fresh context, everything built
	ChangeFirst = "first_build" // a context name never used before
)

// Scenario names.
const (
	Stock = "stock"
	Reuse = "reuse"
	Delta = "delta"
	Local = "local"
	// NewCtx is a new branch's first build: a context name the server has
	// never seen, for an app it has built before (its blobs are in the
	// store, its objects are not in the new context).
	NewCtx = "new_context"
	// The compile cache (issue 12), on a second server with ccache on:
	// NewCtxCached is new_context there after one build of the app filled
	// the cache; DeltaCached is delta there (a rebuild must not get slower
	// with ccache). OtherServer is the farm case: the app built on server
	// A, its next build on a fresh server B (its own volumes, an empty
	// local cache) sharing A's Redis. NewCtxEmpty is the cold build with
	// an empty cache: new_context on a third server with ccache on, its
	// cache dir emptied before each run (its blob store kept, as for
	// new_context): what a team's first build of a context costs on a
	// server run as shipped before anything was cached.
	NewCtxCached = "new_context_cached"
	NewCtxEmpty  = "new_context_empty_cache"
	DeltaCached  = "delta_cached"
	OtherServer  = "other_server"
	// StockClient is a stock client's rebuild (issue 21): build/ deleted
	// before each build, the whole zip uploaded, no context named; the
	// server gives it a copy of the nearest context (the one it used
	// before: the bench's server has no accounts, so no build line).
	StockClient = "stock_client"
)

// All is every scenario, in the order they run.
var All = []string{Stock, Reuse, StockClient, DeltaCached, Delta, NewCtx, NewCtxEmpty, NewCtxCached, OtherServer, Local}

// Extended are the scenarios only the real-core workload runs (each of
// their runs compiles the whole tree, or reads it from the cache).
var Extended = map[string]bool{NewCtx: true, NewCtxEmpty: true, NewCtxCached: true, DeltaCached: true, OtherServer: true, StockClient: true}

// Results is bench/results.json.
type Results struct {
	Tree      TreeSize   `json:"tree"`
	Scenarios []Scenario `json:"scenarios"`
	// Real is the same benchmark on the real-core workload, when run.
	Real *Results `json:"real,omitempty"`
	// MCU is the benchmark on the MCU workload (STM32F746 firmware in its
	// SDK image, the servers' docker runner), when run.
	MCU *Results `json:"mcu,omitempty"`
	// Kept: these figures are from an earlier run (make bench with
	// -real-only or -mcu-only ran one workload alone).
	Kept bool `json:"kept_from_earlier_run,omitempty"`
	// Farm is the farm scenario (farm_20), when run.
	Farm *FarmResults `json:"farm,omitempty"`
	// Links are the runs of the link scenarios (-links), one per pair
	// of binaries measured; kept across runs of the other scenarios.
	Links []LinkRun `json:"links,omitempty"`
}

// TreeSize is the generated app's size.
type TreeSize struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Scenario is the figures of one scenario and change: medians over the
// runs (time also min and max).
type Scenario struct {
	Name      string  `json:"name"`
	Change    string  `json:"change"`
	MedianS   float64 `json:"median_s"`
	MinS      float64 `json:"min_s"`
	MaxS      float64 `json:"max_s"`
	BytesUp   int64   `json:"bytes_up"`
	BytesDown int64   `json:"bytes_down"`
	Compiled  int     `json:"compiled"`
	// RunsS are the timed runs' seconds in the order they ran: run i of
	// every scenario is in round i, so two scenarios compare run by run.
	RunsS []float64 `json:"runs_s,omitempty"`
}

// Find returns the figures of name/change, or nil.
func (r *Results) Find(name, change string) *Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name && r.Scenarios[i].Change == change {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// Options are a benchmark run.
type Options struct {
	Bins    harness.Binaries
	SDK     string // the host SDK to copy (examples/sdk-host)
	CoreLib string // the core lib the generated app carries (examples/hello/libs/core)
	Work    string // scratch dir (created)
	Gen     gen.Options
	Runs    int // timed runs per scenario and change
	// RebuildRuns, when set, is the number of runs of the rebuilds (the
	// changes none and one_c_file): cheap runs, whose comparisons of a
	// few percent need more of them than the builds of everything.
	RebuildRuns int
	Scenarios   []string // subset of All; nil: all
	Log         io.Writer
	// Real, when set, is a copy of ../shared/real: the workload is then an
	// app of ours on the real Mongoose OS core (platform ubuntu, the libs
	// rpc-common, http-server and rpc-service-config) instead of the
	// generated one; Gen and SDK are not used. Only the real workload
	// runs the Extended scenarios.
	Real string
	// MCU, with Real, makes the workload the MCU app (MCUApp, platform
	// stm32) built in its SDK image: the servers run the docker runner
	// (their default) and local builds --build-runner docker.
	MCU bool
}

// MCUScenarios are the scenarios of the MCU workload: stock-like, delta,
// a new context without ccache, with an empty cache and with a warm one,
// and local (each cold STM32 build is about a minute here).
var MCUScenarios = []string{Stock, Delta, NewCtx, NewCtxEmpty, NewCtxCached, Local}

// RealAppLogLine is what the real-core app's one source logs at init.
const RealAppLogLine = "real-core app up"

// RealApp is the real-core workload's app (also the real-core tests'):
// mos.yml and its one source.
var RealApp = map[string]string{
	"mos.yml": `author: mos bench
description: an app of ours on the real Mongoose OS core
version: 1.0
platform: ubuntu
sources:
  - src
libs:
  - origin: https://github.com/mongoose-os-libs/rpc-common
  - origin: https://github.com/mongoose-os-libs/http-server
  - origin: https://github.com/mongoose-os-libs/rpc-service-config
manifest_version: 2017-09-29
`,
	"src/main.c": `#include "mgos.h"

enum mgos_app_init_result mgos_app_init(void) {
  LOG(LL_INFO, ("` + RealAppLogLine + `"));
  return MGOS_APP_INIT_SUCCESS;
}
`,
}

// RealFlags are the flags a build on the real core needs
// (../shared/real/README.md).
func RealFlags(real string) []string {
	return coreFlags(real, "ubuntu", "-Wno-implicit-const-int-float-conversion")
}

// coreFlags build on platform of the core, libs and mbedTLS module in
// real (a copy of ../shared/real), with cflagsExtra.
func coreFlags(real, platform, cflagsExtra string) []string {
	return []string{
		"--platform", platform,
		"--repo", filepath.Join(real, "mongoose-os"),
		"--libs-dir", filepath.Join(real, "libs"),
		"--module", "mbedtls_module:" + filepath.Join(real, "modules", "mbedtls"),
		"--no-libs-update",
		"--cflags-extra=" + cflagsExtra,
	}
}

// Commands are the mos command lines of each scenario, for the report.
func Commands() map[string]string {
	return map[string]string{
		Stock:        "mos build --server URL --repo ../sdk-host --build-context bench_stock --clean --no-delta",
		Reuse:        "mos build --server URL --repo ../sdk-host --build-context bench_reuse --no-delta",
		Delta:        "mos build --server URL --repo ../sdk-host --build-context bench_delta",
		NewCtx:       "mos build --server URL --repo ../sdk-host --build-context bench_new_<run>",
		StockClient:  "rm -rf build; mos build --server URL --repo ../sdk-host --no-delta",
		NewCtxEmpty:  "mos build --server URL_WITH_EMPTIED_CCACHE --repo ../sdk-host --build-context bench_newe_<run>",
		NewCtxCached: "mos build --server URL_WITH_CCACHE --repo ../sdk-host --build-context bench_newc_<run>",
		DeltaCached:  "mos build --server URL_WITH_CCACHE --repo ../sdk-host --build-context bench_deltac",
		OtherServer:  "mos build --server URL_OF_A_FRESH_SERVER_SHARING_REDIS --repo ../sdk-host --build-context bench_farm",
		Local:        "mos build --local --build-runner native --repo ../sdk-host",
	}
}

// Run runs the benchmark.
func Run(ctx context.Context, o Options) (*Results, error) {
	if o.Runs < 1 {
		return nil, fmt.Errorf("runs %d: want at least 1", o.Runs)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	want := map[string]bool{}
	for _, s := range o.Scenarios {
		want[s] = true
	}
	if len(want) == 0 {
		for _, s := range All {
			want[s] = true
		}
	}
	template := filepath.Join(o.Work, "template")
	var res *Results
	var edited string
	// sdkArgs say where the core is: the host SDK copied beside each app,
	// or the real core and libs.
	sdkArgs := []string{"--repo", "../sdk-host"}
	runner := "native"
	local := []string{"build", "--local", "--build-runner", "native"}
	if o.MCU && o.Real == "" {
		return nil, fmt.Errorf("the MCU workload needs the real core (Options.Real)")
	}
	if o.Real != "" {
		// The same workloads as the link scenarios'.
		w := RealWorkload(o.Real)
		if o.MCU {
			w = MCUWorkload(o.Real)
			fmt.Fprintf(o.Log, "MCU workload: an STM32F746 app on the core in %s, in its SDK image\n", o.Real)
		} else {
			fmt.Fprintf(o.Log, "Real-core workload: an app on the core in %s\n", o.Real)
		}
		tree, err := writeApp(filepath.Join(template, "app"), w.App)
		if err != nil {
			return nil, err
		}
		res = &Results{Tree: tree}
		edited = "src/main.c"
		sdkArgs, runner = w.Flags, w.Runner
		if o.MCU {
			// The build needs no network; the container gets none.
			local = append([]string{"build", "--local", "--build-runner", "docker", "--build-docker-extra=--network=none"}, sdkArgs...)
		}
	} else {
		fmt.Fprintf(o.Log, "Generating the app (%d libs x %d C files, %d lines each, %d MB of binaries)...\n",
			o.Gen.Libs, o.Gen.FilesPerLib, o.Gen.LinesPerFile, o.Gen.BinaryBytes>>20)
		tree, err := gen.Write(filepath.Join(template, "app"), "libs/core", o.Gen)
		if err != nil {
			return nil, fmt.Errorf("generating the app: %w", err)
		}
		// The host SDK's core lib, carried by the app as examples/hello does.
		if err := harness.CopyTree(o.CoreLib, filepath.Join(template, "app", "libs", "core")); err != nil {
			return nil, fmt.Errorf("copying the core lib: %w", err)
		}
		res = &Results{Tree: TreeSize{Files: tree.Files, Bytes: tree.Bytes}}
		edited = tree.CFiles[len(tree.CFiles)/2]
	}

	if o.Real == "" {
		for s := range Extended {
			delete(want, s)
		}
	}
	if want[OtherServer] {
		if _, err := exec.LookPath("redis-server"); err != nil {
			fmt.Fprintf(o.Log, "Scenario %s skipped: no redis-server on PATH\n", OtherServer)
			delete(want, OtherServer)
		}
	}
	var servers []*harness.Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	// start starts a server of its own volumes dir; the stock-like one
	// (ccache off, as stock never had it) unless extra says otherwise.
	start := func(name string, extra ...string) (*harness.Server, error) {
		s, err := harness.StartServer(ctx, harness.ServerOptions{
			Manager: o.Bins.Manager, Mos: o.Bins.Mos, Runner: runner,
			VolumesDir: filepath.Join(o.Work, "volumes-"+name), LogFile: filepath.Join(o.Work, "server-"+name+".log"),
			Extra: append([]string{"--ccache=false"}, extra...),
		})
		if err == nil {
			servers = append(servers, s)
		}
		return s, err
	}
	var srv, cached, emptied, farmA *harness.Server
	var redis *harness.Redis
	var err error
	if want[Stock] || want[Reuse] || want[Delta] || want[NewCtx] || want[StockClient] {
		if srv, err = start("main"); err != nil {
			return nil, err
		}
	}
	if want[NewCtxCached] || want[DeltaCached] {
		// No context adoption here: issue 12's targets measure what the
		// compile cache does for a new context.
		if cached, err = start("ccache", "--ccache=true", "--adopt-contexts=false"); err != nil {
			return nil, err
		}
	}
	// The ccache_empty server's cache dir, removed before each of its
	// runs (every build makes the cache dir it lacks).
	emptiedCache := filepath.Join(o.Work, "ccache-emptied")
	if want[NewCtxEmpty] {
		// The cold build: no copy of an earlier context either.
		if emptied, err = start("ccache_empty", "--ccache=true", "--ccache-dir", emptiedCache, "--adopt-contexts=false"); err != nil {
			return nil, err
		}
	}
	if want[OtherServer] {
		if redis, err = harness.StartRedis(ctx, filepath.Join(o.Work, "redis.log")); err != nil {
			return nil, err
		}
		defer redis.Stop()
		if farmA, err = start("farm_a", "--ccache=true", "--ccache-remote", "redis://"+redis.Addr); err != nil {
			return nil, err
		}
	}
	env := []string{"MOS_DIR=" + filepath.Join(o.Work, "mos-home")}
	remoteOn := func(s *harness.Server, ctxName string, extra ...string) []string {
		args := append([]string{"build", "--server", s.URL()}, sdkArgs...)
		return append(append(args, "--build-context", ctxName), extra...)
	}
	remote := func(ctxName string, extra ...string) []string { return remoteOn(srv, ctxName, extra...) }
	stockArgs := func(s *harness.Server) []string {
		if s == nil {
			return nil
		}
		return append(append([]string{"build", "--server", s.URL()}, sdkArgs...), "--no-delta")
	}
	if !o.MCU {
		local = append(local, sdkArgs...)
	}

	type plan struct {
		name    string
		args    []string
		server  *harness.Server
		warm    bool     // one build before the timed ones
		changes []string // in order
		// before, when set, prepares timed run i (server and args).
		before func(l *plan, i int) error
	}
	// on is remoteOn for a server that was started (nil args otherwise:
	// the scenario is not wanted); the contexts named here are the
	// warm-up builds' and, where before does not change it, every run's.
	on := func(s *harness.Server, ctxName string, extra ...string) []string {
		if s == nil {
			return nil
		}
		return remoteOn(s, ctxName, extra...)
	}
	// delta_cached runs between reuse and delta, so that neither delta
	// scenario follows a build on its own server in any round (reuse and
	// delta share one): their comparison is run by run.
	plans := []plan{
		{Stock, on(srv, "bench_stock", "--clean", "--no-delta"), srv, false, []string{ChangeClean}, nil},
		{Reuse, on(srv, "bench_reuse", "--no-delta"), srv, true, []string{ChangeNone, ChangeOneC}, nil},
		{DeltaCached, on(cached, "bench_deltac"), cached, true, []string{ChangeNone, ChangeOneC}, nil},
		{Delta, on(srv, "bench_delta"), srv, true, []string{ChangeNone, ChangeOneC}, nil},
		{StockClient, stockArgs(srv), srv, true, []string{ChangeNone, ChangeOneC}, func(l *plan, i int) error {
			return os.RemoveAll(filepath.Join(o.Work, StockClient, "app", "build"))
		}},
		{NewCtx, nil, srv, false, []string{ChangeFirst}, func(l *plan, i int) error {
			l.args = remote(fmt.Sprintf("bench_new_%d", i))
			return nil
		}},
		// The warm-up build fills the blob store.
		{NewCtxEmpty, on(emptied, "bench_newe_warm"), emptied, true, []string{ChangeFirst}, func(l *plan, i int) error {
			l.args = remoteOn(emptied, fmt.Sprintf("bench_newe_%d", i))
			if err := os.RemoveAll(emptiedCache); err != nil {
				return fmt.Errorf("emptying the cache: %w", err)
			}
			return nil
		}},
		{NewCtxCached, on(cached, "bench_newc_warm"), cached, true, []string{ChangeFirst}, func(l *plan, i int) error {
			l.args = remoteOn(cached, fmt.Sprintf("bench_newc_%d", i))
			return nil
		}},
		// The warm-up builds on A.
		{OtherServer, on(farmA, "bench_farm"), farmA, true, []string{ChangeFirst}, func(l *plan, i int) error {
			b, err := start(fmt.Sprintf("farm_b%d", i), "--ccache=true", "--ccache-remote", "redis://"+redis.Addr)
			if err != nil {
				return err
			}
			l.server, l.args = b, remoteOn(b, "bench_farm")
			return nil
		}},
		{Local, local, nil, true, []string{ChangeNone, ChangeOneC}, nil},
	}
	// Every scenario is set up and warmed up first; then the timed runs
	// go round robin over the scenarios (run 1 of each, run 2 of each
	// backwards, ...), so that a drift in the machine's speed during the
	// long benchmark hits all scenarios alike instead of the ones that run
	// last, and the build just before one (on another server or the same)
	// favours none.
	type live struct {
		plan
		build func(what string) (harness.Result, error)
		app   string
		runs  map[string][]harness.Result
	}
	var lives []*live
	for _, p := range plans {
		if !want[p.name] {
			continue
		}
		dir := filepath.Join(o.Work, p.name)
		if err := harness.CopyTree(filepath.Join(template, "app"), filepath.Join(dir, "app")); err != nil {
			return nil, err
		}
		if o.Real == "" {
			if err := harness.CopyTree(o.SDK, filepath.Join(dir, "sdk-host"), "build", "deps"); err != nil {
				return nil, err
			}
		}
		l := &live{plan: p, app: filepath.Join(dir, "app"), runs: map[string][]harness.Result{}}
		l.build = func(what string) (harness.Result, error) {
			r, err := harness.Build(ctx, o.Bins.Mos, l.app, env, l.args, l.server)
			if err != nil {
				return r, fmt.Errorf("%s, %s: %w", l.name, what, err)
			}
			fmt.Fprintf(o.Log, "  %-6s %-10s %7.2f s  up %9d  down %9d  compiled %4d\n", l.name, what, r.Seconds, r.BytesUp, r.BytesDown, r.Compiled)
			return r, nil
		}
		if p.warm {
			if _, err := l.build("warm-up"); err != nil {
				return nil, err
			}
		}
		lives = append(lives, l)
	}
	for _, change := range []string{ChangeClean, ChangeFirst, ChangeNone, ChangeOneC} {
		runs := o.Runs
		if o.RebuildRuns > 0 && (change == ChangeNone || change == ChangeOneC) {
			runs = o.RebuildRuns
		}
		for i := 0; i < runs; i++ {
			for _, l := range roundOrder(lives, i) {
				if !slices.Contains(l.changes, change) {
					continue
				}
				if l.before != nil {
					if err := l.before(&l.plan, i); err != nil {
						return nil, err
					}
				}
				if change == ChangeOneC {
					if err := appendLine(filepath.Join(l.app, filepath.FromSlash(edited)), fmt.Sprintf("/* bench edit %d */\n", i)); err != nil {
						return nil, err
					}
				}
				r, err := l.build(change)
				if err != nil {
					return nil, err
				}
				l.runs[change] = append(l.runs[change], r)
			}
		}
	}
	for _, l := range lives {
		for _, change := range l.changes {
			res.Scenarios = append(res.Scenarios, summarize(l.name, change, l.runs[change]))
		}
	}
	return res, nil
}

// roundOrder is the order of round i: every other round goes backwards,
// so that no scenario always runs right after the same other one (what a
// build leaves behind, such as the previous server's work after its
// answer or a warm page cache, then favours neither).
func roundOrder[T any](s []T, i int) []T {
	if i%2 == 0 {
		return s
	}
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// summarize takes medians over runs (time min and max too).
func summarize(name, change string, runs []harness.Result) Scenario {
	secs := make([]float64, len(runs))
	up := make([]float64, len(runs))
	down := make([]float64, len(runs))
	comp := make([]float64, len(runs))
	for i, r := range runs {
		secs[i], up[i], down[i], comp[i] = r.Seconds, float64(r.BytesUp), float64(r.BytesDown), float64(r.Compiled)
	}
	s := Scenario{Name: name, Change: change, MedianS: harness.Median(secs), BytesUp: int64(harness.Median(up)),
		BytesDown: int64(harness.Median(down)), Compiled: int(harness.Median(comp)), RunsS: slices.Clone(secs)}
	sort.Float64s(secs)
	s.MinS, s.MaxS = secs[0], secs[len(secs)-1]
	return s
}

// writeApp writes an app's files (slash path -> content) under dir and
// returns their count and bytes.
func writeApp(dir string, files map[string]string) (TreeSize, error) {
	var t TreeSize
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return t, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return t, err
		}
		t.Files, t.Bytes = t.Files+1, t.Bytes+int64(len(content))
	}
	return t, nil
}
