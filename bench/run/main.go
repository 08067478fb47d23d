// Command run is `make bench`: it runs the benchmark of package suite and
// writes bench/results.json and bench/RESULTS.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mongoose-os/mos/bench/gen"
	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/bench/suite"
)

func main() {
	g := gen.Default
	flag.IntVar(&g.Libs, "libs", g.Libs, "libs in the generated app")
	flag.IntVar(&g.FilesPerLib, "files-per-lib", g.FilesPerLib, "C files per lib")
	flag.IntVar(&g.LinesPerFile, "lines", g.LinesPerFile, "about this many lines per C file")
	binMB := flag.Int64("binary-mb", g.BinaryBytes>>20, "MB of binary files in deps/")
	seed := flag.Uint64("seed", g.Seed, "seed of the generator")
	runs := flag.Int("runs", 5, "timed runs per scenario and change")
	scenarios := flag.String("scenarios", strings.Join(append(suite.All, suite.Farm), ","), "scenarios to run")
	out := flag.String("out", "bench", "dir for results.json and RESULTS.md")
	work := flag.String("work", "", "scratch dir (default: a temp dir, removed)")
	quick := flag.Bool("quick", false, "a tiny run (2 libs x 3 files, 1 run) to check the pipeline")
	real := flag.String("real", "../shared/real", "the real Mongoose OS core and libs for the real-firmware workload (copied first); \"\" skips it")
	realRuns := flag.Int("real-runs", 5, "timed runs per scenario and change of the real-firmware workload")
	realRebuildRuns := flag.Int("real-rebuild-runs", 15, "timed runs of the real-firmware workload's rebuilds (unchanged, one file): its ccache comparisons are within 5%")
	realOnly := flag.Bool("real-only", false, "run only the real-firmware workload; the generated workload's figures are kept from the results.json in -out (and RESULTS.md says so)")
	farm := farmFlags{}
	flag.BoolVar(&farm.only, "farm-only", false, "run only the farm scenario ("+suite.Farm+"); the other figures in -out are kept, and only its section of RESULTS.md is written")
	flag.IntVar(&farm.developers, "farm-developers", 20, "developers of the farm scenario")
	flag.DurationVar(&farm.duration, "farm-duration", 90*time.Second, "timed phase of the farm scenario")
	flag.StringVar(&farm.factor, "farm-balance-factor", "", "HAProxy's hash-balance-factor for the farm scenario (\"\": the config's; 0: plain consistent hashing)")
	links := flag.Bool("links", false, "run only the link scenarios (the real-core and MCU workloads over loopback, 100 Mbit/s + 5 ms and 20 Mbit/s + 20 ms): their section of results.json and RESULTS.md is replaced, the rest kept")
	noLinks := flag.Bool("no-links", false, "skip the link scenarios (they run after the real-firmware workload)")
	linksRuns := flag.Int("links-runs", 3, "timed unchanged and one-file rebuilds per link")
	linksNewRuns := flag.Int("links-new-runs", 2, "timed new-context builds per link")
	linksBins := flag.String("links-bins", "", "with -links: a dir holding other mos and fwbuild-manager binaries to measure (e.g. an older tree's), instead of bin/")
	linksLabel := flag.String("links-label", "", "with -links-bins: the label of their figures (default: the dir)")
	linksWorkloads := flag.String("links-workloads", suite.WorkloadReal+","+suite.WorkloadMCU, "workloads of the link scenarios ("+suite.WorkloadMCU+" is skipped, saying why, without Docker or its SDK image)")
	mcuRuns := flag.Int("mcu-runs", 3, "timed runs per scenario and change of the MCU workload (STM32 firmware in its SDK image)")
	mcuRebuildRuns := flag.Int("mcu-rebuild-runs", 5, "timed runs of the MCU workload's rebuilds (unchanged, one file)")
	mcuOnly := flag.Bool("mcu-only", false, "run only the MCU workload; the other workloads' figures are kept from the results.json in -out, and of RESULTS.md only the MCU section is written")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ls := linkSetup{workloads: strings.Split(*linksWorkloads, ","), runs: *linksRuns, newRuns: *linksNewRuns}
	for _, w := range ls.workloads {
		if w != suite.WorkloadReal && w != suite.WorkloadMCU {
			fmt.Fprintf(os.Stderr, "bench: -links-workloads: unknown workload %q (want %s, %s)\n", w, suite.WorkloadReal, suite.WorkloadMCU)
			os.Exit(2)
		}
	}
	if *links || (!*quick && *real != "" && !*noLinks && !farm.only && !*mcuOnly) {
		if code, done := ls.prepare(ctx); done {
			os.Exit(code)
		}
	}
	if *links {
		if err := runLinks(ctx, *real, *out, *work, ls, *linksBins, *linksLabel); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	g.BinaryBytes, g.Seed = *binMB<<20, *seed
	if *quick {
		g = gen.Options{Libs: 2, FilesPerLib: 3, LinesPerFile: 40, BinaryBytes: 64 << 10, Seed: *seed}
		*runs = 1
	}
	if *quick {
		*real = ""
	}
	list := strings.Split(*scenarios, ",")
	farm.want = slices.Contains(list, suite.Farm) && !*quick
	if farm.only {
		if err := runFarmOnly(ctx, farm, *out, *work); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	mcu := mcuOptions{runs: *mcuRuns, rebuildRuns: *mcuRebuildRuns, only: *mcuOnly}
	if *quick {
		mcu.skip = true
	}
	if *mcuOnly && *realOnly {
		fmt.Fprintln(os.Stderr, "bench: -real-only and -mcu-only exclude each other")
		os.Exit(2)
	}
	if err := run(ctx, g, *runs, list, *out, *work, *real, *realRuns, *realRebuildRuns, *realOnly, farm,
		*noLinks, ls, mcu); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// mcuOptions are the MCU workload's flags.
type mcuOptions struct {
	runs, rebuildRuns int
	only              bool // -mcu-only
	skip              bool // -quick
}

func run(ctx context.Context, g gen.Options, runs int, scenarios []string, out, work, real string, realRuns, realRebuildRuns int, realOnly bool, farm farmFlags,
	noLinks bool, ls linkSetup, mcu mcuOptions) error {
	root, bins, err := harness.RepoBinaries()
	if err != nil {
		return err
	}
	work, cleanup, err := scratch(work, "mos-bench-")
	if err != nil {
		return err
	}
	defer cleanup()
	var res *suite.Results
	var kept suite.Results // what -real-only keeps besides the generated figures
	if mcu.only {
		return runMCUOnly(ctx, bins, scenarios, out, work, real, mcu)
	}
	if realOnly {
		data, err := os.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			return fmt.Errorf("-real-only keeps the generated workload's figures: %w", err)
		}
		res = &suite.Results{}
		if err := json.Unmarshal(data, res); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(out, "results.json"), err)
		}
		kept.MCU = res.MCU
		res.Real, res.MCU = nil, nil
		res.Kept = true
	} else if res, err = suite.Run(ctx, suite.Options{
		Bins: bins, SDK: filepath.Join(root, "examples", "sdk-host"), CoreLib: filepath.Join(root, "examples", "hello", "libs", "core"), Work: work, Gen: g,
		Runs: runs, Scenarios: scenarios, Log: os.Stdout,
	}); err != nil {
		return err
	}
	if real != "" {
		if _, err := os.Stat(filepath.Join(real, "mongoose-os", "platforms", "ubuntu")); err != nil {
			fmt.Printf("Real-firmware workload skipped: %s has no real core (%v)\n", real, err)
		} else {
			realCopy := filepath.Join(work, "real-src")
			if err := harness.CopyTree(real, realCopy); err != nil {
				return fmt.Errorf("copying %s: %w", real, err)
			}
			res.Real, err = suite.Run(ctx, suite.Options{
				Bins: bins, Work: filepath.Join(work, "real"), Real: realCopy,
				Runs: realRuns, RebuildRuns: realRebuildRuns, Scenarios: scenarios, Log: os.Stdout,
			})
			if err != nil {
				return fmt.Errorf("real-firmware workload: %w", err)
			}
		}
	}
	if !realOnly && !mcu.skip {
		if res.MCU, err = runMCU(ctx, bins, scenarios, work, real, mcu); err != nil {
			return err
		}
	} else if realOnly {
		res.MCU = kept.MCU
	}
	// The link runs of other binaries are kept; this tree's is made
	// again when the real core is there (-links makes it alone).
	if old, err := readResults(out); err == nil {
		res.Links = old.Links
	}
	if real != "" && res.Real != nil && !noLinks {
		sc, err := ls.run(ctx, bins, real, filepath.Join(work, "real-src"), filepath.Join(work, "links"))
		if err != nil {
			return fmt.Errorf("link scenarios: %w", err)
		}
		run := suite.LinkRun{Binaries: suite.ThisTree, When: suite.ThisMachine().Date, Command: commandLine(),
			Shaping: ls.shaping, Scenarios: sc}
		res.Links = slices.DeleteFunc(res.Links, func(r suite.LinkRun) bool { return r.Binaries == suite.ThisTree })
		res.Links = append(res.Links, run)
	}
	if farm.want {
		if _, err := exec.LookPath("haproxy"); err != nil {
			fmt.Printf("Scenario %s skipped: no haproxy on PATH\n", suite.Farm)
		} else if res.Farm, err = farm.run(ctx, root, bins, filepath.Join(work, "farm")); err != nil {
			return fmt.Errorf("scenario %s: %w", suite.Farm, err)
		}
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	md := suite.Markdown(res, suite.ThisMachine(), commandLine(), runs)
	if res.Farm != nil {
		md = suite.ReplaceSection(md, suite.FarmHeading, suite.FarmMarkdown(res.Farm, suite.ThisMachine(), commandLine()))
	}
	if len(res.Links) > 0 {
		md = suite.ReplaceLinksSection(md, suite.LinksMarkdown(res.Links, suite.ThisMachine()))
	}
	if err := os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println()
	targets := suite.Check(res)
	if res.Real != nil {
		for _, t := range suite.CheckReal(res.Real) {
			t.Name = "real firmware: " + t.Name
			targets = append(targets, t)
		}
	}
	if res.Farm != nil {
		targets = append(targets, suite.CheckFarm(res.Farm)...)
	}
	if slices.ContainsFunc(res.Links, func(r suite.LinkRun) bool { return r.Binaries == suite.ThisTree }) {
		targets = append(targets, suite.CheckLinks(res.Links)...)
	}
	if res.MCU != nil {
		targets = append(targets, mcuTargets(res.MCU)...)
	}
	printTargets(targets)
	fmt.Printf("\nWrote %s and %s\n", filepath.Join(out, "results.json"), filepath.Join(out, "RESULTS.md"))
	return nil
}

// farmFlags are the farm scenario's flags.
type farmFlags struct {
	want, only bool
	developers int
	duration   time.Duration
	factor     string
}

func (f farmFlags) run(ctx context.Context, root string, bins harness.Binaries, work string) (*suite.FarmResults, error) {
	return suite.RunFarm(ctx, suite.FarmOptions{Bins: bins, Root: root, Work: work, Developers: f.developers,
		Duration: f.duration, BalanceFactor: f.factor, Log: os.Stdout})
}

// runFarmOnly runs the farm scenario alone: results.json keeps every other
// figure, RESULTS.md every other section, byte for byte.
func runFarmOnly(ctx context.Context, f farmFlags, out, work string) error {
	root, bins, err := harness.RepoBinaries()
	if err != nil {
		return err
	}
	work, cleanup, err := scratch(work, "mos-bench-farm-")
	if err != nil {
		return err
	}
	defer cleanup()
	var farm *suite.FarmResults
	err = updateResults(out, "", func(res *suite.Results, md string) (string, error) {
		if res.Farm, err = f.run(ctx, root, bins, work); err != nil {
			return "", fmt.Errorf("scenario %s: %w", suite.Farm, err)
		}
		farm = res.Farm
		return suite.ReplaceSection(md, suite.FarmHeading, suite.FarmMarkdown(res.Farm, suite.ThisMachine(), commandLine())), nil
	})
	if err != nil {
		return err
	}
	fmt.Println()
	printTargets(suite.CheckFarm(farm))
	fmt.Printf("\nWrote the farm's figures into %s\n", out)
	return nil
}

func readResults(out string) (*suite.Results, error) {
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		return nil, err
	}
	res := &suite.Results{}
	if err := json.Unmarshal(data, res); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(out, "results.json"), err)
	}
	return res, nil
}

// runLinks runs the link scenarios and puts their figures into
// results.json and RESULTS.md, replacing the earlier run of the same
// binaries and leaving everything else as it was.
func runLinks(ctx context.Context, real, out, work string, ls linkSetup, binsDir, label string) error {
	_, bins, err := harness.RepoBinaries()
	if err != nil {
		return err
	}
	if binsDir != "" {
		bins = harness.Binaries{Mos: filepath.Join(binsDir, "mos"), Manager: filepath.Join(binsDir, "fwbuild-manager")}
		if label == "" {
			label = binsDir
		}
	} else {
		label = suite.ThisTree
	}
	if _, err := os.Stat(filepath.Join(real, "mongoose-os", "platforms", "ubuntu")); err != nil {
		return fmt.Errorf("the link scenarios need the real core: %s has none (%w)", real, err)
	}
	work, cleanup, err := scratch(work, "mos-bench-links-")
	if err != nil {
		return err
	}
	defer cleanup()
	realCopy := filepath.Join(work, "real-src")
	if err := harness.CopyTree(real, realCopy); err != nil {
		return fmt.Errorf("copying %s: %w", real, err)
	}
	m := suite.ThisMachine()
	sc, err := ls.run(ctx, bins, real, realCopy, filepath.Join(work, "links"))
	if err != nil {
		return err
	}
	run := suite.LinkRun{Binaries: label, When: m.Date, Command: commandLine(), Shaping: ls.shaping, Scenarios: sc}
	var links []suite.LinkRun
	err = updateResults(out, "-links adds to an existing results.json and RESULTS.md", func(res *suite.Results, md string) (string, error) {
		replaced := false
		for i := range res.Links {
			if res.Links[i].Binaries == label {
				res.Links[i], replaced = run, true
			}
		}
		if !replaced {
			res.Links = append(res.Links, run)
		}
		links = res.Links
		return suite.ReplaceLinksSection(md, suite.LinksMarkdown(res.Links, m)), nil
	})
	if err != nil {
		return err
	}
	if slices.ContainsFunc(links, func(r suite.LinkRun) bool { return r.Binaries == suite.ThisTree }) {
		fmt.Println()
		printTargets(suite.CheckLinks(links))
	}
	fmt.Printf("\nWrote the links' figures into %s\n", out)
	return nil
}

// runMCU runs the MCU workload on a copy of real: nil, said why, where
// ../shared/mcu, Docker or the SDK image is missing.
func runMCU(ctx context.Context, bins harness.Binaries, scenarios []string, work, real string, mcu mcuOptions) (*suite.Results, error) {
	if real == "" {
		return nil, nil
	}
	if why, err := mcuMissing(real); err != nil || why != "" {
		if why != "" {
			fmt.Printf("MCU workload skipped: %s\n", why)
		}
		return nil, err
	}
	var want []string
	for _, s := range scenarios {
		if slices.Contains(suite.MCUScenarios, s) {
			want = append(want, s)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	realCopy := filepath.Join(work, "mcu-src")
	if err := harness.CopyTree(real, realCopy); err != nil {
		return nil, fmt.Errorf("copying %s: %w", real, err)
	}
	res, err := suite.Run(ctx, suite.Options{
		Bins: bins, Work: filepath.Join(work, "mcu"), Real: realCopy, MCU: true,
		Runs: mcu.runs, RebuildRuns: mcu.rebuildRuns, Scenarios: want, Log: os.Stdout,
	})
	if err != nil {
		return nil, fmt.Errorf("MCU workload: %w", err)
	}
	return res, nil
}

// mcuMissing says what the MCU workload lacks on real ("": nothing):
// the stm32 platform, Docker or the SDK image.
func mcuMissing(real string) (string, error) {
	core := filepath.Join(real, "mongoose-os")
	if _, err := os.Stat(filepath.Join(core, "platforms", "stm32", "Makefile.build")); err != nil {
		return fmt.Sprintf("%s has no stm32 platform (%v)", core, err), nil
	}
	v, err := os.ReadFile(filepath.Join(core, "platforms", "stm32", "sdk.version"))
	if err != nil {
		return "", fmt.Errorf("MCU workload: %w", err)
	}
	image := strings.TrimSpace(string(v))
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("Docker is not running (docker info: %v: %s)", err, strings.TrimSpace(string(out))), nil
	}
	if out, err := exec.Command("docker", "image", "inspect", image).CombinedOutput(); err != nil {
		return fmt.Sprintf("no SDK image %s (%s); scripts/stm32-image.sh makes it", image, strings.TrimSpace(string(out))), nil
	}
	return "", nil
}

// linkSetup is how the link scenarios run: their workloads and runs,
// and what limits the bandwidth.
type linkSetup struct {
	workloads     []string // -links-workloads
	runs, newRuns int
	tbf           *harness.TBF // nil: the proxy limits the rate
	shaping       string       // suite.ShapingTBF, or suite.ShapingProxy and why
}

// prepare makes the link scenarios' network namespace: outside one, it
// runs this command again in a new one where it can (done: this process
// only waits for that one and exits with code); inside, it brings lo up
// for the tbf. Where neither works the proxy limits the rate, and
// shaping says why.
func (ls *linkSetup) prepare(ctx context.Context) (code int, done bool) {
	if !harness.InNetns() {
		err := harness.CheckNetns()
		if err == nil {
			fmt.Println("Running in a network namespace of the bench's (unshare --net): a tbf there limits the links' bandwidth")
			code, err := harness.RunInNetns(ctx, os.Args[1:], os.Stdout, os.Stderr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %v\n", err)
				return 1, true
			}
			return code, true
		}
		ls.shaping = suite.ShapingProxy + ": " + err.Error()
	} else if tbf, err := harness.NewTBF(); err != nil {
		ls.shaping = suite.ShapingProxy + ": " + err.Error()
	} else {
		ls.tbf, ls.shaping = tbf, suite.ShapingTBF
	}
	fmt.Printf("Link scenarios: %s\n", ls.shaping)
	return 0, false
}

// run runs the link scenarios of the workloads on realCopy (a copy of
// real): the MCU one is skipped, saying why, where real, Docker or the
// SDK image lacks what it needs.
func (ls *linkSetup) run(ctx context.Context, bins harness.Binaries, real, realCopy, work string) ([]suite.LinkScenario, error) {
	var ws []suite.Workload
	for _, name := range ls.workloads {
		switch name {
		case suite.WorkloadReal:
			ws = append(ws, suite.RealWorkload(realCopy))
		case suite.WorkloadMCU:
			why, err := mcuMissing(real)
			if err != nil {
				return nil, err
			}
			if why != "" {
				fmt.Printf("Links, MCU workload skipped: %s\n", why)
				continue
			}
			ws = append(ws, suite.MCUWorkload(realCopy))
		}
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no workload for the link scenarios (-links-workloads %s)", strings.Join(ls.workloads, ","))
	}
	return suite.RunLinks(ctx, suite.LinkOptions{Bins: bins, Workloads: ws, Work: work, Runs: ls.runs, NewRuns: ls.newRuns, TBF: ls.tbf, Log: os.Stdout})
}

// runMCUOnly is -mcu-only: the MCU workload alone, its figures put into
// the results.json in out (the others kept), and RESULTS.md's MCU section
// written (replaced, or added at the end); the rest of RESULTS.md stays as
// an earlier run wrote it.
func runMCUOnly(ctx context.Context, bins harness.Binaries, scenarios []string, out, work, real string, mcu mcuOptions) error {
	var mcuRes *suite.Results
	err := updateResults(out, "-mcu-only keeps the other workloads' figures and sections", func(res *suite.Results, md string) (string, error) {
		var err error
		if res.MCU, err = runMCU(ctx, bins, scenarios, work, real, mcu); err != nil {
			return "", err
		}
		if res.MCU == nil {
			return "", fmt.Errorf("-mcu-only: the MCU workload did not run (see above)")
		}
		mcuRes = res.MCU
		// Only the MCU section is replaced: the farm's and the links'
		// may follow it.
		return suite.ReplaceSection(md, suite.MCUHeading, suite.MarkdownMCU(res.MCU, suite.ThisMachine(), commandLine())), nil
	})
	if err != nil {
		return err
	}
	fmt.Println()
	printTargets(mcuTargets(mcuRes))
	fmt.Printf("\nWrote the MCU figures into %s\n", out)
	return nil
}

// scratch is work, or a temp dir (named from prefix) removed by the
// returned func.
func scratch(work, prefix string) (string, func(), error) {
	if work != "" {
		return work, func() {}, nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// updateResults is how a run of one part (-farm-only, -links, -mcu-only)
// keeps the others: it reads results.json and RESULTS.md in out, lets
// change fill in its part and return RESULTS.md with its section
// replaced, and writes both back. need, when set, says why the files
// must exist; else missing ones start empty.
func updateResults(out, need string, change func(res *suite.Results, md string) (string, error)) error {
	jsonPath, mdPath := filepath.Join(out, "results.json"), filepath.Join(out, "RESULTS.md")
	res, err := readResults(out)
	if errors.Is(err, fs.ErrNotExist) && need == "" {
		res, err = &suite.Results{}, nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", need, err)
	}
	md, err := os.ReadFile(mdPath)
	if err != nil && (need != "" || !errors.Is(err, fs.ErrNotExist)) {
		return fmt.Errorf("%s: %w", need, err)
	}
	newMD, err := change(res, string(md))
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(newMD), 0o644)
}

// mcuTargets are the MCU workload's targets, named as such.
func mcuTargets(r *suite.Results) []suite.Target {
	var ts []suite.Target
	for _, t := range suite.CheckMCU(r) {
		t.Name = "MCU firmware: " + t.Name
		ts = append(ts, t)
	}
	return ts
}

// commandLine is how this run was started, for RESULTS.md.
func commandLine() string {
	return strings.TrimSpace("go run ./bench/run " + strings.Join(os.Args[1:], " "))
}

func printTargets(targets []suite.Target) {
	for _, t := range targets {
		v := "FAIL"
		if t.Pass {
			v = "PASS"
		}
		fmt.Printf("%s  %s (%s)\n", v, t.Name, t.Detail)
	}
}
