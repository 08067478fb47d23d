// Command run is `make bench`: it runs the benchmark of package suite and
// writes bench/results.json and bench/RESULTS.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

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
	scenarios := flag.String("scenarios", strings.Join(suite.All, ","), "scenarios to run")
	out := flag.String("out", "bench", "dir for results.json and RESULTS.md")
	work := flag.String("work", "", "scratch dir (default: a temp dir, removed)")
	quick := flag.Bool("quick", false, "a tiny run (2 libs x 3 files, 1 run) to check the pipeline")
	flag.Parse()
	g.BinaryBytes, g.Seed = *binMB<<20, *seed
	if *quick {
		g = gen.Options{Libs: 2, FilesPerLib: 3, LinesPerFile: 40, BinaryBytes: 64 << 10, Seed: *seed}
		*runs = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, g, *runs, strings.Split(*scenarios, ","), *out, *work); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, g gen.Options, runs int, scenarios []string, out, work string) error {
	root, bins, err := harness.RepoBinaries()
	if err != nil {
		return err
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "mos-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	res, err := suite.Run(ctx, suite.Options{
		Bins: bins, SDK: filepath.Join(root, "examples", "sdk-host"), Work: work, Gen: g,
		Runs: runs, Scenarios: scenarios, Log: os.Stdout,
	})
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
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	cmd := "go run ./bench/run " + strings.Join(os.Args[1:], " ")
	md := suite.Markdown(res, suite.ThisMachine(), strings.TrimSpace(cmd), runs)
	if err := os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println()
	for _, t := range suite.Check(res) {
		v := "FAIL"
		if t.Pass {
			v = "PASS"
		}
		fmt.Printf("%s  %s (%s)\n", v, t.Name, t.Detail)
	}
	fmt.Printf("\nWrote %s and %s\n", filepath.Join(out, "results.json"), filepath.Join(out, "RESULTS.md"))
	return nil
}
