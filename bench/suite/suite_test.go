package suite

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/gen"
	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// TestTinyBench runs the whole benchmark at a tiny size, to keep it
// working: generator, server, all scenarios, results.json's shape.
func TestTinyBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs a server; skipped with -short")
	}
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	root := testenv.RepoRoot(t)
	bin := t.TempDir()
	bins := harness.Binaries{Mos: filepath.Join(bin, "mos"), Manager: filepath.Join(bin, "fwbuild-manager")}
	for out, pkg := range map[string]string{bins.Mos: "./cli", bins.Manager: "./fwbuild/manager"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	g := gen.Options{Libs: 2, FilesPerLib: 3, LinesPerFile: 40, BinaryBytes: 64 << 10, Seed: 7}
	res, err := Run(context.Background(), Options{
		Bins: bins, SDK: filepath.Join(root, "examples", "sdk-host"), CoreLib: filepath.Join(root, "examples", "hello", "libs", "core"), Work: t.TempDir(), Gen: g, Runs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}

	// The JSON has exactly the documented keys.
	data, _ := json.Marshal(res)
	var doc map[string]any
	json.Unmarshal(data, &doc)
	if len(doc) != 2 || doc["tree"] == nil || doc["scenarios"] == nil {
		t.Errorf("results.json keys: %v", doc)
	}
	for _, s := range doc["scenarios"].([]any) {
		keys := []string{}
		for k := range s.(map[string]any) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if got := strings.Join(keys, " "); got != "bytes_down bytes_up change compiled max_s median_s min_s name runs_s" {
			t.Errorf("scenario keys %s", got)
		}
	}

	// app: 6 lib files + 2 entry files + main.c, core, SDK sources, deps init, config.
	wantFiles := 2*3 + 2 + 1
	stock := res.Find(Stock, ChangeClean)
	if stock == nil || stock.Compiled < wantFiles || stock.BytesUp <= 0 || stock.BytesDown <= 0 {
		t.Fatalf("stock: %+v", stock)
	}
	for _, c := range []struct {
		name, change string
		compiled     int
	}{
		{Reuse, ChangeNone, 0}, {Reuse, ChangeOneC, 1}, {Delta, ChangeNone, 0}, {Delta, ChangeOneC, 1},
		{Local, ChangeNone, 0}, {Local, ChangeOneC, 1},
	} {
		s := res.Find(c.name, c.change)
		if s == nil || s.Compiled != c.compiled || s.MedianS <= 0 || s.MinS > s.MedianS || s.MaxS < s.MedianS {
			t.Errorf("%s/%s: %+v, want %d compiled", c.name, c.change, s, c.compiled)
		}
	}
	if d, r := res.Find(Delta, ChangeOneC), res.Find(Reuse, ChangeOneC); d != nil && r != nil && d.BytesUp*4 > r.BytesUp {
		t.Errorf("delta uploaded %d bytes for one file, a full upload %d", d.BytesUp, r.BytesUp)
	}
	if res.Tree.Files == 0 || res.Tree.Bytes < 64<<10 {
		t.Errorf("tree %+v", res.Tree)
	}
	md := Markdown(res, ThisMachine(), "go test", 1)
	for _, want := range []string{"| delta | one_c_file |", "## Targets", "mos build --server URL"} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	r := &Results{Scenarios: []Scenario{
		{Name: Stock, Change: ChangeClean, MedianS: 60, BytesUp: 50_000_000},
		{Name: Delta, Change: ChangeNone, MedianS: 0.3},
		{Name: Delta, Change: ChangeOneC, MedianS: 2.0, BytesUp: 400_000},
		{Name: Local, Change: ChangeOneC, MedianS: 1.6},
	}}
	got := Check(r)
	want := []bool{true, true, true, true}
	for i, tg := range got {
		if tg.Pass != want[i] {
			t.Errorf("%s: pass %v (%s)", tg.Name, tg.Pass, tg.Detail)
		}
	}
	// Each target can fail.
	r.Scenarios[2] = Scenario{Name: Delta, Change: ChangeOneC, MedianS: 3.5, BytesUp: 600_000}
	r.Scenarios[1].MedianS = 0.7
	for _, tg := range Check(r) {
		if tg.Pass {
			t.Errorf("%s passes with failing figures (%s)", tg.Name, tg.Detail)
		}
	}
	if !strings.Contains(Check(r)[2].Detail, "1.200%") {
		t.Errorf("detail %q", Check(r)[2].Detail)
	}
	// Missing figures fail, saying so.
	for _, tg := range Check(&Results{}) {
		if tg.Pass || tg.Detail != "not measured" {
			t.Errorf("%s with no figures: %+v", tg.Name, tg)
		}
	}
}

// TestRoundOrder: over two rounds every scenario runs once right after
// each of its neighbours, instead of always after the same one.
func TestRoundOrder(t *testing.T) {
	s := []string{"reuse", "delta", "delta_cached", "local"}
	var seq []string
	for i := 0; i < 4; i++ {
		seq = append(seq, roundOrder(s, i)...)
	}
	after := map[string]map[string]int{}
	for i := 1; i < len(seq); i++ {
		if after[seq[i]] == nil {
			after[seq[i]] = map[string]int{}
		}
		after[seq[i]][seq[i-1]]++
	}
	if got := after["delta_cached"]["delta"]; got != 2 || after["delta"]["delta_cached"] != 2 {
		t.Errorf("delta_cached after delta %d times, delta after delta_cached %d times in %v; want 2 and 2", got, after["delta"]["delta_cached"], seq)
	}
	if got := strings.Join(s, ","); got != "reuse,delta,delta_cached,local" {
		t.Errorf("roundOrder changed its input: %s", got)
	}
}

// TestCheckRealCacheTargets: the cache's targets compare with the cold
// build with an empty cache, and say what the same is against the
// stock-like clean build, which has no ccache (new_context is a copy of
// the nearest context).
func TestCheckRealCacheTargets(t *testing.T) {
	r := &Results{Scenarios: []Scenario{
		{Name: NewCtx, Change: ChangeFirst, MedianS: 0.5},
		{Name: Stock, Change: ChangeClean, MedianS: 8},
		{Name: NewCtxEmpty, Change: ChangeFirst, MedianS: 10},
		{Name: NewCtxCached, Change: ChangeFirst, MedianS: 2.8},
		{Name: OtherServer, Change: ChangeFirst, MedianS: 4.1},
	}}
	find := func(ts []Target, prefix string) Target {
		for _, tg := range ts {
			if strings.HasPrefix(tg.Name, prefix) {
				return tg
			}
		}
		t.Fatalf("no target %q in %+v", prefix, ts)
		return Target{}
	}
	warm := find(CheckReal(r), "new context, warm cache")
	if !warm.Pass || !strings.Contains(warm.Detail, "2.80 s / 10.00 s = 28%") || !strings.Contains(warm.Detail, "stock-like clean build without ccache, 8.00 s: 35%") {
		t.Errorf("warm cache target: %+v", warm)
	}
	if other := find(CheckReal(r), "other server"); other.Pass {
		t.Errorf("other server at 41%% of cold passes: %+v", other)
	}
	r.Scenarios = r.Scenarios[:1] // no cold build with an empty cache
	if warm := find(CheckReal(r), "new context, warm cache"); warm.Pass || warm.Detail != "not measured" {
		t.Errorf("without the empty-cache build: %+v", warm)
	}
}

// TestSlowerTargetPairsRuns: the ccache comparison goes run by run, so a
// drift over the rounds does not fail it (the runs below are a real
// bench's, whose medians differ by 7%), while a build slower in every
// round does.
func TestSlowerTargetPairsRuns(t *testing.T) {
	with := &Scenario{MedianS: 1.87, RunsS: []float64{1.55, 1.63, 1.69, 2.05, 2.15, 2.20}}
	without := &Scenario{MedianS: 1.755, RunsS: []float64{1.54, 1.62, 1.93, 2.07, 1.63, 1.88}}
	if tg := slowerTarget("x", with, without, 1.05); !tg.Pass || !strings.Contains(tg.Detail, "median 1.006 of 6 rounds") {
		t.Errorf("drifting runs: %+v", tg)
	}
	slow := &Scenario{MedianS: 1.9}
	for _, s := range without.RunsS {
		slow.RunsS = append(slow.RunsS, s*1.08)
	}
	if tg := slowerTarget("x", slow, without, 1.05); tg.Pass {
		t.Errorf("8%% slower in every round passes: %+v", tg)
	}
	// Without runs (an older results.json): the medians.
	if tg := slowerTarget("x", &Scenario{MedianS: 1.87}, &Scenario{MedianS: 1.755}, 1.05); tg.Pass {
		t.Errorf("medians 7%% apart pass: %+v", tg)
	}
}

// TestCheckMCU: the MCU workload's targets use its own figures, fail where
// a figure misses its bar, say "not measured" where one is missing, and
// its section of RESULTS.md starts with the heading -mcu-only replaces.
func TestCheckMCU(t *testing.T) {
	r := &Results{Tree: TreeSize{Files: 5}, Scenarios: []Scenario{
		{Name: Stock, Change: ChangeClean, MedianS: 60, BytesUp: 4 << 20},
		{Name: Delta, Change: ChangeNone, MedianS: 0.4},
		{Name: Delta, Change: ChangeOneC, MedianS: 6, BytesUp: 20 << 10},
		{Name: Local, Change: ChangeOneC, MedianS: 5},
		{Name: NewCtxEmpty, Change: ChangeFirst, MedianS: 70},
		{Name: NewCtxCached, Change: ChangeFirst, MedianS: 30},
	}}
	got := map[string]Target{}
	for _, tg := range CheckMCU(r) {
		got[strings.SplitN(tg.Name, ":", 2)[0]] = tg
	}
	if tg := got["delta one-file change"]; tg.Pass || tg.Detail != "6.00 s vs 5.00 s + 0.5 s" {
		t.Errorf("one file vs local: %+v", tg)
	}
	if tg := got["delta unchanged"]; !tg.Pass {
		t.Errorf("unchanged: %+v", tg)
	}
	if tg := got["new context, warm cache"]; tg.Pass || tg.Detail != "30.00 s / 70.00 s = 43%" {
		t.Errorf("warm cache: %+v", tg)
	}
	if tg := got["stock / delta (one-file change) >= 5x"]; !tg.Pass {
		t.Errorf("stock over delta: %+v (%v)", tg, got)
	}
	md := MarkdownMCU(r, Machine{CPUs: 2, Date: "today", LoadAvg: "3.0"}, "go run ./bench/run -mcu-only")
	if !strings.HasPrefix(md, MCUHeading+"\n") || !strings.Contains(md, "| stock | clean |") || !strings.Contains(md, "--platform stm32") {
		t.Errorf("MCU section:\n%s", md)
	}
	r.Scenarios = r.Scenarios[:4]
	for _, tg := range CheckMCU(r) {
		if strings.HasPrefix(tg.Name, "new context") && (tg.Pass || tg.Detail != "not measured") {
			t.Errorf("without the new-context builds: %+v", tg)
		}
	}
}
