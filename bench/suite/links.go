package suite

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
)

// The link dimension (issue 23): a workload's rebuilds and a new
// context's first build over links as a laptop sees them. Where the bench
// runs in its network namespace (harness.TBF) a tbf there limits the
// bandwidth and the bench's proxy adds the one-way delay; elsewhere the
// proxy does both (harness.Link). Client and server stay on 127.0.0.1.

// Links are the links measured.
var Links = []harness.Link{
	{Name: "loopback"},
	{Name: "100mbit_5ms", Rate: 100_000_000 / 8, Delay: 5 * time.Millisecond},
	{Name: "20mbit_20ms", Rate: 20_000_000 / 8, Delay: 20 * time.Millisecond},
}

// LinkScenario is the figures of one change over one link: medians over
// the runs (time also min and max).
type LinkScenario struct {
	// Workload is WorkloadReal or WorkloadMCU ("" in runs before the MCU
	// workload had links: the real core's).
	Workload  string    `json:"workload,omitempty"`
	Link      string    `json:"link"`
	Change    string    `json:"change"`
	Runs      int       `json:"runs"`
	MedianS   float64   `json:"median_s"`
	MinS      float64   `json:"min_s"`
	MaxS      float64   `json:"max_s"`
	BytesUp   int64     `json:"bytes_up"`
	BytesDown int64     `json:"bytes_down"`
	Requests  int64     `json:"requests"`    // HTTP requests, progress polls included
	Conns     int64     `json:"connections"` // TCP connections (a handshake each)
	Compiled  int       `json:"compiled"`
	RunsS     []float64 `json:"runs_s,omitempty"`
}

// LinkRun is one run of the link scenarios, by one pair of binaries.
type LinkRun struct {
	Binaries string `json:"binaries"` // what was measured ("this tree", or a label)
	When     string `json:"when"`
	Command  string `json:"command"`
	// Shaping says what limited the bandwidth: ShapingTBF, or
	// ShapingProxy and why ("" in runs before the tbf: the proxy).
	Shaping   string         `json:"shaping,omitempty"`
	Scenarios []LinkScenario `json:"scenarios"`
}

// What limited a link run's bandwidth.
const (
	ShapingTBF   = "tbf in a network namespace"
	ShapingProxy = "bandwidth in the bench's proxy"
)

// Find returns the figures of workload/link/change, or nil.
func (r *LinkRun) Find(workload, link, change string) *LinkScenario {
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		if s.workload() == workload && s.Link == link && s.Change == change {
			return s
		}
	}
	return nil
}

func (s *LinkScenario) workload() string {
	if s.Workload == "" {
		return WorkloadReal
	}
	return s.Workload
}

// Workloads of the link scenarios.
const (
	WorkloadReal = "real"
	WorkloadMCU  = "mcu"
)

// Workload is what a server builds: an app, the flags of its builds and
// the server's runner.
type Workload struct {
	Name   string            // WorkloadReal, WorkloadMCU
	Title  string            // for the report
	App    map[string]string // slash path -> content
	Flags  []string          // mos build's, after --server
	Runner string            // the server's --build-runner
}

// RealWorkload is the real-core workload on real, a copy of
// ../shared/real.
func RealWorkload(real string) Workload {
	return Workload{Name: WorkloadReal, Title: "Real core (platform ubuntu)", App: RealApp, Flags: RealFlags(real), Runner: "native"}
}

// MCUWorkload is the MCU workload on real: built in the SDK image by the
// server's docker runner.
func MCUWorkload(real string) Workload {
	return Workload{Name: WorkloadMCU, Title: "MCU (STM32F746, in its SDK image)", App: MCUApp, Flags: MCUFlags(real), Runner: "docker"}
}

// LinkOptions are a run of the link scenarios.
type LinkOptions struct {
	Bins      harness.Binaries
	Workloads []Workload // each on a server of its own, one after the other
	Work      string
	Runs      int // timed runs of the rebuilds per link
	NewRuns   int // timed new-context builds per link
	// TBF, when set, limits the bandwidth (the process runs in the
	// bench's network namespace) and the proxy adds only the delay; nil:
	// the proxy does both.
	TBF *harness.TBF
	Log io.Writer
}

// RunLinks runs the link scenarios of each workload: per link, one
// context warmed up by a build, then unchanged and one-file rebuilds,
// then first builds of new contexts; the runs go round robin over the
// links.
func RunLinks(ctx context.Context, o LinkOptions) ([]LinkScenario, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Runs < 1 || o.NewRuns < 0 {
		return nil, fmt.Errorf("runs %d, new-context runs %d: want at least 1 and 0", o.Runs, o.NewRuns)
	}
	if o.TBF != nil {
		// The scenarios after these run on lo as the machine's.
		defer o.TBF.Reset()
	}
	var out []LinkScenario
	for _, w := range o.Workloads {
		sc, err := runLinks(ctx, o, w)
		if err != nil {
			return nil, fmt.Errorf("%s workload: %w", w.Name, err)
		}
		out = append(out, sc...)
	}
	return out, nil
}

// runLinks runs the link scenarios of one workload.
func runLinks(ctx context.Context, o LinkOptions, w Workload) ([]LinkScenario, error) {
	work := filepath.Join(o.Work, w.Name)
	fmt.Fprintf(o.Log, "Links, %s workload\n", w.Name)
	template := filepath.Join(work, "template")
	if _, err := writeApp(template, w.App); err != nil {
		return nil, err
	}
	srv, err := harness.StartServer(ctx, harness.ServerOptions{
		Manager: o.Bins.Manager, Mos: o.Bins.Mos, Runner: w.Runner,
		VolumesDir: filepath.Join(work, "volumes"), LogFile: filepath.Join(work, "server.log"),
		Extra: []string{"--ccache=false"},
	})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	env := []string{"MOS_DIR=" + filepath.Join(work, "mos-home")}
	type live struct {
		link harness.Link
		app  string
		runs map[string][]harness.Result
	}
	var lives []*live
	build := func(l *live, ctxName, what string) (harness.Result, error) {
		proxied := l.link
		tbf := ""
		if o.TBF != nil {
			if err := o.TBF.Shape(l.link.Rate, srv.ProxyPort()); err != nil {
				return harness.Result{}, fmt.Errorf("link %s: %w", l.link.Name, err)
			}
			proxied.Rate = 0
		}
		srv.SetLink(&proxied)
		args := append(append([]string{"build", "--server", srv.URL()}, w.Flags...), "--build-context", ctxName)
		r, err := harness.Build(ctx, o.Bins.Mos, l.app, env, args, srv)
		if err != nil {
			return r, fmt.Errorf("link %s, %s: %w", l.link.Name, what, err)
		}
		if o.TBF != nil && l.link.Rate > 0 {
			// What the tbf passed: both directions, headers included.
			sent, err := o.TBF.Sent()
			if err != nil {
				return r, err
			}
			tbf = fmt.Sprintf("  tbf %d", sent)
		}
		fmt.Fprintf(o.Log, "  %-12s %-11s %7.2f s  up %9d  down %9d  requests %2d  connections %d  compiled %4d%s\n",
			l.link.Name, what, r.Seconds, r.BytesUp, r.BytesDown, r.Requests, r.Conns, r.Compiled, tbf)
		return r, nil
	}
	for _, link := range Links {
		l := &live{link: link, app: filepath.Join(work, link.Name, "app"), runs: map[string][]harness.Result{}}
		if err := harness.CopyTree(template, l.app); err != nil {
			return nil, err
		}
		if _, err := build(l, "bench_link_"+link.Name, "warm-up"); err != nil {
			return nil, err
		}
		lives = append(lives, l)
	}
	for _, change := range []string{ChangeNone, ChangeOneC, ChangeFirst} {
		runs := o.Runs
		if change == ChangeFirst {
			runs = o.NewRuns
		}
		for i := 0; i < runs; i++ {
			for _, l := range roundOrder(lives, i) {
				ctxName := "bench_link_" + l.link.Name
				switch change {
				case ChangeOneC:
					if err := appendLine(filepath.Join(l.app, "src", "main.c"), fmt.Sprintf("/* bench edit %d */\n", i)); err != nil {
						return nil, err
					}
				case ChangeFirst:
					ctxName = fmt.Sprintf("bench_link_%s_new_%d", l.link.Name, i)
				}
				r, err := build(l, ctxName, change)
				if err != nil {
					return nil, err
				}
				l.runs[change] = append(l.runs[change], r)
			}
		}
	}
	var out []LinkScenario
	for _, l := range lives {
		for _, change := range []string{ChangeNone, ChangeOneC, ChangeFirst} {
			if rs := l.runs[change]; len(rs) > 0 {
				s := summarizeLink(l.link.Name, change, rs)
				s.Workload = w.Name
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func summarizeLink(link, change string, runs []harness.Result) LinkScenario {
	s := summarize(link, change, runs)
	reqs := make([]float64, len(runs))
	conns := make([]float64, len(runs))
	for i, r := range runs {
		reqs[i], conns[i] = float64(r.Requests), float64(r.Conns)
	}
	return LinkScenario{Link: link, Change: change, Runs: len(runs), MedianS: s.MedianS, MinS: s.MinS, MaxS: s.MaxS,
		BytesUp: s.BytesUp, BytesDown: s.BytesDown, Requests: int64(harness.Median(reqs)), Conns: int64(harness.Median(conns)),
		Compiled: s.Compiled, RunsS: s.RunsS}
}

// CheckLinks evaluates issue 23's targets on this tree's run in runs,
// for each workload it measured, and compares its loopback figures with
// those of the other runs (the binaries before).
func CheckLinks(runs []LinkRun) []Target {
	var r *LinkRun
	for i := range runs {
		if runs[i].Binaries == ThisTree {
			r = &runs[i]
		}
	}
	if r == nil {
		return []Target{{Name: "links: shaped-link targets", Detail: "no run of this tree"}}
	}
	var ts []Target
	for _, w := range []string{WorkloadReal, WorkloadMCU} {
		if !slices.ContainsFunc(r.Scenarios, func(s LinkScenario) bool { return s.workload() == w }) {
			continue
		}
		name := "links, " + w + ": "
		lo, slowOne, slowNone := r.Find(w, "loopback", ChangeOneC), r.Find(w, "20mbit_20ms", ChangeOneC), r.Find(w, "20mbit_20ms", ChangeNone)
		if lo == nil || slowOne == nil || slowNone == nil {
			ts = append(ts, Target{Name: name + "shaped-link targets", Detail: "figures missing"})
			continue
		}
		ts = append(ts,
			Target{Name: name + "one-file change at 20 Mbit/s + 20 ms <= loopback + 0.6 s", Pass: slowOne.MedianS <= lo.MedianS+0.6,
				Detail: fmt.Sprintf("%.2f s against %.2f s", slowOne.MedianS, lo.MedianS)},
			Target{Name: name + "one-file change, bytes down <= 1 MiB", Pass: slowOne.BytesDown <= 1<<20,
				Detail: kib(slowOne.BytesDown)},
			Target{Name: name + "unchanged at 20 Mbit/s + 20 ms <= 0.5 s", Pass: slowNone.MedianS <= 0.5,
				Detail: fmt.Sprintf("%.2f s", slowNone.MedianS)},
		)
		for _, before := range runs {
			if before.Binaries == ThisTree {
				continue
			}
			for _, change := range []string{ChangeNone, ChangeOneC, ChangeFirst} {
				now, then := r.Find(w, "loopback", change), before.Find(w, "loopback", change)
				if now == nil || then == nil {
					continue
				}
				ts = append(ts, Target{
					Name: fmt.Sprintf("%sloopback %s no slower than %s (this tree's median <= theirs x 1.10 + 0.1 s: the allowance for the noise)", name, change, before.Binaries),
					Pass: now.MedianS <= then.MedianS*1.10+0.1, Detail: fmt.Sprintf("%.2f s against %.2f s", now.MedianS, then.MedianS)})
			}
		}
	}
	if len(ts) == 0 {
		return []Target{{Name: "links: shaped-link targets", Detail: "figures missing"}}
	}
	return ts
}

func kib(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// Link section markers in RESULTS.md: a links-only run replaces what is
// between them and nothing else.
const (
	LinksBegin = "<!-- links:begin -->"
	LinksEnd   = "<!-- links:end -->"
)

// LinksMarkdown is RESULTS.md's section of the link runs, markers
// included.
func LinksMarkdown(runs []LinkRun, m Machine) string {
	var b strings.Builder
	b.WriteString(LinksBegin + "\n# Shaped links (issues 23 and 24)\n\n")
	b.WriteString("The real-core workload (as in \"Real firmware\") and the MCU workload (as in \"" + MCUHeading[2:] + "\", the server's docker runner), " +
		"each on a server of its own with `--ccache=false`, over links as a laptop sees a build server: " +
		"loopback, 100 Mbit/s with 5 ms one-way delay, 20 Mbit/s with 20 ms one-way delay; everything stays on 127.0.0.1. " +
		"Where it can (root, `unshare`, `ip` and `tc`), the bench runs these in a network namespace of its own whose loopback has MTU 1500 " +
		"and, for a shaped link, a `tbf rate R burst 256kb latency 5000ms` (bench/harness/netns.go), and its proxy adds the one-way delay " +
		"(each way; a connection's handshake costs a round trip). The tbf shapes the sum of both directions, as the issue's own measurement did: " +
		"every packet crosses lo's egress once. It takes only the packets to and from the proxy's port (an htb class and a u32 filter): " +
		"the proxy's own hop to the server crosses lo too and must not count twice. Where the namespace or tc cannot be made, " +
		"the proxy limits the rate too (each way), and the run says so. " +
		"Per link one context is warmed up by a build; then unchanged and one-file rebuilds (the app's `src/main.c` gets a comment line), " +
		"then first builds of new contexts (the blob store already has the app's contents; the client's build/ holds an earlier result; " +
		"the server starts a new context as a copy of the nearest one, so these compile nothing). " +
		"Our client asks for result patches only while its last answer of 1 MiB or more came slower than 100 MB/s: " +
		"over loopback, where the warm-up's whole result came faster, a one-file change downloads whole files (13.5 MiB for the real core) " +
		"and that costs less than encoding patches. " +
		"Requests are the HTTP requests a build sent (plan, build, progress polls), connections the TCP connections it opened. " +
		"Each pair of binaries is a run of its own, one after the other, on a machine shared with other work: bytes and requests " +
		"compare exactly, times only roughly (a full build of the core took from 15 s to 100 s depending on the load).\n\n")
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %s of memory, %s; load average %s at the start of the last run: shared with other work, so the times are noisy.\n\n",
		m.CPUs, m.CPU, m.Memory, m.Go, m.LoadAvg)
	for _, r := range runs {
		shaping := r.Shaping
		if shaping == "" {
			shaping = "rate and delay in the bench's proxy (the bench had no tbf then)"
		}
		fmt.Fprintf(&b, "## %s\n\n`%s`, %s. Shaping: %s.\n\n", r.Binaries, r.Command, r.When, shaping)
		sc := slices.Clone(r.Scenarios)
		sort.SliceStable(sc, func(i, j int) bool { return linkIndex(sc[i].Link) < linkIndex(sc[j].Link) })
		for _, w := range []Workload{RealWorkload(""), MCUWorkload("")} {
			if !slices.ContainsFunc(sc, func(s LinkScenario) bool { return s.workload() == w.Name }) {
				continue
			}
			fmt.Fprintf(&b, "### %s\n\n", w.Title)
			b.WriteString("| link | change | runs | median | min | max | up | down | requests | connections | compiled |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
			for _, s := range sc {
				if s.workload() == w.Name {
					fmt.Fprintf(&b, "| %s | %s | %d | %.2f s | %.2f s | %.2f s | %s | %s | %d | %d | %d |\n",
						s.Link, s.Change, s.Runs, s.MedianS, s.MinS, s.MaxS, kib(s.BytesUp), kib(s.BytesDown), s.Requests, s.Conns, s.Compiled)
				}
			}
			b.WriteString("\n")
		}
	}
	if slices.ContainsFunc(runs, func(r LinkRun) bool { return r.Binaries == ThisTree }) {
		writeTargets(&b, CheckLinks(runs))
		b.WriteString("\n")
	}
	b.WriteString(LinksEnd + "\n")
	return b.String()
}

// ThisTree labels a link run of the binaries of this tree.
const ThisTree = "this tree"

func linkIndex(name string) int {
	for i, l := range Links {
		if l.Name == name {
			return i
		}
	}
	return len(Links)
}

// ReplaceLinksSection puts section into a RESULTS.md in place of the
// one between the markers, or at its end.
func ReplaceLinksSection(md, section string) string {
	i, j := strings.Index(md, LinksBegin), strings.Index(md, LinksEnd)
	if i >= 0 && j > i {
		return md[:i] + section + md[j+len(LinksEnd)+1:]
	}
	if md != "" && !strings.HasSuffix(md, "\n\n") {
		md += "\n"
	}
	return md + section
}
