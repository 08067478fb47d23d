package suite

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
)

// Farm is the farm scenario of issue 21: 20 developers, each in a context
// of its own, rebuild the host SDK's hello app after a one-file edit in a
// loop through HAProxy (fwbuild/farm/haproxy.cfg) on 3 servers sharing
// one Redis, each building one at a time.
const Farm = "farm_20"

// FarmOptions are a run of the farm scenario.
type FarmOptions struct {
	Bins       harness.Binaries
	Root       string // the repository (haproxy.cfg, examples/hello, examples/sdk-host)
	Work       string // scratch dir (created)
	Developers int
	Duration   time.Duration // of the timed phase
	// BalanceFactor, when set, overrides the config's hash-balance-factor
	// ("0": plain consistent hashing, as before issue 21).
	BalanceFactor string
	Log           io.Writer
}

// FarmResults are the farm scenario's figures (results.json "farm").
type FarmResults struct {
	Developers    int     `json:"developers"`
	Seconds       float64 `json:"seconds"`
	BalanceFactor string  `json:"balance_factor"` // "" is the config's
	harness.LoadSummary
}

// FarmCommand is the scenario's command line, for the report.
const FarmCommand = "20 x (append a line to src/main.c; mos build --server HAPROXY --repo ../sdk-host --build-context dev_NN) in a loop, 3 x fwbuild-manager --max-concurrent-builds 1 --ccache-remote redis://..."

// RunFarm runs the farm scenario.
func RunFarm(ctx context.Context, o FarmOptions) (*FarmResults, error) {
	for _, tool := range []string{"haproxy", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("scenario %s needs %s: %w", Farm, tool, err)
		}
	}
	f, err := harness.StartFarm(ctx, harness.FarmOptions{
		Bins: o.Bins, Config: filepath.Join(o.Root, "fwbuild", "farm", "haproxy.cfg"), Dir: filepath.Join(o.Work, "farm"),
		BalanceFactor: o.BalanceFactor,
		// One build at a time: each server is a machine's worth of
		// capacity, however many share this one.
		ServerFlags: []string{"--max-concurrent-builds", "1"},
	})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	fmt.Fprintf(o.Log, "Farm: %d developers for %v...\n", o.Developers, o.Duration)
	builds, err := harness.RunLoad(ctx, f, harness.LoadOptions{
		Mos: o.Bins.Mos, Work: filepath.Join(o.Work, "devs"),
		App: filepath.Join(o.Root, "examples", "hello"), SDK: filepath.Join(o.Root, "examples", "sdk-host"),
		AppName: "hello", Platform: "host", Developers: o.Developers, Duration: o.Duration, Edit: "src/main.c",
	})
	if err != nil {
		return nil, err
	}
	for _, b := range builds {
		if b.Err != nil {
			fmt.Fprintf(o.Log, "  developer %d: %v\n", b.Developer, b.Err)
		}
	}
	r := &FarmResults{Developers: o.Developers, Seconds: o.Duration.Seconds(), BalanceFactor: o.BalanceFactor,
		LoadSummary: harness.Summarize(f.Names, builds, f.Requests(), harness.BalanceBound(101, harness.FarmServers, o.Developers+1))}
	for _, s := range r.Servers {
		fmt.Fprintf(o.Log, "  %s: %d builds, median %.2f s, usual server of %d contexts, at most %d at once, over %d for %.1f%% of the time\n",
			s.Name, s.Builds, s.MedianS, s.Contexts, s.MaxAtOnce, r.Bound, 100*s.OverBound)
	}
	return r, nil
}

// CheckFarm evaluates issue 21's farm target: builds served per server
// within 125% of the mean, each server's median within 1.25x of the
// others'; and no build failed.
func CheckFarm(r *FarmResults) []Target {
	if r == nil || len(r.Servers) == 0 || r.Builds == 0 {
		return []Target{{Name: "farm: builds per server <= 125% of the mean", Detail: "not measured"}}
	}
	mean := float64(r.Builds) / float64(len(r.Servers))
	most, fast, slow := r.Servers[0], r.Servers[0], r.Servers[0]
	var counts, medians []string
	for _, s := range r.Servers {
		if s.Builds > most.Builds {
			most = s
		}
		if s.MedianS < fast.MedianS {
			fast = s
		}
		if s.MedianS > slow.MedianS {
			slow = s
		}
		counts = append(counts, fmt.Sprint(s.Builds))
		medians = append(medians, fmt.Sprintf("%.2f", s.MedianS))
	}
	ratio := 0.0
	if fast.MedianS > 0 {
		ratio = slow.MedianS / fast.MedianS
	}
	return []Target{
		{"farm: builds per server <= 125% of the mean", float64(most.Builds) <= 1.25*mean,
			fmt.Sprintf("%s builds; the most, %d on %s, is %.0f%% of the mean %.1f", strings.Join(counts, " / "), most.Builds, most.Name, 100*float64(most.Builds)/mean, mean)},
		{"farm: slowest server's median build <= 1.25x the fastest's", fast.MedianS > 0 && ratio <= 1.25,
			fmt.Sprintf("medians %s s; %s / %s = %.2fx", strings.Join(medians, " / "), slow.Name, fast.Name, ratio)},
		{"farm: no build failed", r.Failed == 0, fmt.Sprintf("%d of %d failed", r.Failed, r.Builds+r.Failed)},
	}
}

// FarmMarkdown is the farm scenario's section of bench/RESULTS.md (it
// starts with FarmHeading).
func FarmMarkdown(r *FarmResults, m Machine, command string) string {
	var b strings.Builder
	factor := "the config's (101)"
	if r.BalanceFactor != "" {
		factor = r.BalanceFactor
	}
	fmt.Fprintf(&b, "%s\n\nWritten by `%s` on %s (load average at the start %s: the machine is shared, so the times are slow and noisy; what counts is how they compare across servers). `%s`; HAProxy with `fwbuild/farm/haproxy.cfg`, hash-balance-factor %s; the timed phase lasted %.0f s after each developer's first build (a new context, untimed).\n\n",
		FarmHeading, command, m.Date, m.LoadAvg, FarmCommand, factor, r.Seconds)
	fmt.Fprintf(&b, "| server | builds | median | contexts mostly here | most builds at once | time over %d at once |\n|---|---:|---:|---:|---:|---:|\n", r.Bound)
	for _, s := range r.Servers {
		fmt.Fprintf(&b, "| %s | %d | %.2f s | %d | %d | %.1f%% |\n", s.Name, s.Builds, s.MedianS, s.Contexts, s.MaxAtOnce, 100*s.OverBound)
	}
	fmt.Fprintf(&b, "\nBuilds at once are a server's plan and build requests in flight as a proxy in front of HAProxy saw them; %d is HAProxy's bound for one server with all %d developers' requests in flight (hash-balance-factor 101).\n", r.Bound, r.Developers)
	fmt.Fprintf(&b, "\n%d timed builds of %d developers, %d failed; %.0f%% built on their context's usual server, %d of %d contexts always on one server, %d builds with requests on more than one server.\n",
		r.Builds, r.Developers, r.Failed, 100*r.Stayed, r.OneServer, r.Developers, r.Split)
	fmt.Fprintf(&b, "\n## Farm targets\n\n")
	for _, t := range CheckFarm(r) {
		verdict := "FAIL"
		if t.Pass {
			verdict = "PASS"
		}
		fmt.Fprintf(&b, "- %s: **%s** (%s)\n", t.Name, verdict, t.Detail)
	}
	return b.String()
}

// FarmHeading starts the farm's section of bench/RESULTS.md.
const FarmHeading = "# Farm of 3 under 20 developers (issue 21)"

// ReplaceSection puts section (which starts with heading) in md in place
// of the one starting with heading, up to the next top-level heading, or
// at the end: the rest of md is kept byte for byte.
func ReplaceSection(md, heading, section string) string {
	section = strings.TrimRight(section, "\n") + "\n"
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		return strings.TrimRight(md, "\n") + "\n\n" + section
	}
	rest := md[i+1+len(heading):]
	// The section ends at the next heading or section marker (the
	// links' <!-- links:begin --> stands before their heading).
	j := -1
	for _, next := range []string{"\n# ", "\n<!-- "} {
		if k := strings.Index(rest, next); k >= 0 && (j < 0 || k < j) {
			j = k
		}
	}
	if j >= 0 {
		return md[:i+1] + section + "\n" + rest[j+1:]
	}
	return md[:i+1] + section
}
