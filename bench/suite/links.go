package suite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
)

// The link dimension (issue 23): the real-core workload's rebuilds and a
// new context's first build over links as a laptop sees them. The
// bench's proxy imitates each link (harness.Link: rate and one-way
// delay, each way); client and server stay on 127.0.0.1.

// Links are the links measured.
var Links = []harness.Link{
	{Name: "loopback"},
	{Name: "100mbit_5ms", Rate: 100_000_000 / 8, Delay: 5 * time.Millisecond},
	{Name: "20mbit_20ms", Rate: 20_000_000 / 8, Delay: 20 * time.Millisecond},
}

// LinkScenario is the figures of one change over one link: medians over
// the runs (time also min and max).
type LinkScenario struct {
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
	Binaries  string         `json:"binaries"` // what was measured ("this tree", or a label)
	When      string         `json:"when"`
	Command   string         `json:"command"`
	Scenarios []LinkScenario `json:"scenarios"`
}

// Find returns the figures of link/change, or nil.
func (r *LinkRun) Find(link, change string) *LinkScenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Link == link && r.Scenarios[i].Change == change {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// LinkOptions are a run of the link scenarios.
type LinkOptions struct {
	Bins    harness.Binaries
	Real    string // a copy of ../shared/real
	Work    string
	Runs    int // timed runs of the rebuilds per link
	NewRuns int // timed new-context builds per link
	Log     io.Writer
}

// RunLinks runs the link scenarios: per link, one context warmed up by
// a build, then unchanged and one-file rebuilds, then first builds of
// new contexts; the runs go round robin over the links.
func RunLinks(ctx context.Context, o LinkOptions) ([]LinkScenario, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Runs < 1 || o.NewRuns < 0 {
		return nil, fmt.Errorf("runs %d, new-context runs %d: want at least 1 and 0", o.Runs, o.NewRuns)
	}
	template := filepath.Join(o.Work, "template")
	for name, content := range RealApp {
		p := filepath.Join(template, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	srv, err := harness.StartServer(ctx, harness.ServerOptions{
		Manager: o.Bins.Manager, Mos: o.Bins.Mos, Runner: "native",
		VolumesDir: filepath.Join(o.Work, "volumes"), LogFile: filepath.Join(o.Work, "server.log"),
		Extra: []string{"--ccache=false"},
	})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	env := []string{"MOS_DIR=" + filepath.Join(o.Work, "mos-home")}
	type live struct {
		link harness.Link
		app  string
		runs map[string][]harness.Result
	}
	var lives []*live
	build := func(l *live, ctxName, what string) (harness.Result, error) {
		srv.SetLink(&l.link)
		args := append(append([]string{"build", "--server", srv.URL()}, RealFlags(o.Real)...), "--build-context", ctxName)
		r, err := harness.Build(ctx, o.Bins.Mos, l.app, env, args, srv)
		if err != nil {
			return r, fmt.Errorf("link %s, %s: %w", l.link.Name, what, err)
		}
		fmt.Fprintf(o.Log, "  %-12s %-11s %7.2f s  up %9d  down %9d  requests %2d  connections %d  compiled %4d\n",
			l.link.Name, what, r.Seconds, r.BytesUp, r.BytesDown, r.Requests, r.Conns, r.Compiled)
		return r, nil
	}
	for _, link := range Links {
		l := &live{link: link, app: filepath.Join(o.Work, link.Name, "app"), runs: map[string][]harness.Result{}}
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
				out = append(out, summarizeLink(l.link.Name, change, rs))
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
		BytesUp: s.BytesUp, BytesDown: s.BytesDown, Requests: int64(median(reqs)), Conns: int64(median(conns)),
		Compiled: s.Compiled, RunsS: s.RunsS}
}

// CheckLinks evaluates issue 23's targets on a run of this tree.
func CheckLinks(r *LinkRun) []Target {
	var ts []Target
	lo, slowOne, slowNone := r.Find("loopback", ChangeOneC), r.Find("20mbit_20ms", ChangeOneC), r.Find("20mbit_20ms", ChangeNone)
	if lo == nil || slowOne == nil || slowNone == nil {
		return []Target{{Name: "links: shaped-link targets", Detail: "figures missing"}}
	}
	ts = append(ts,
		Target{Name: "links: one-file change at 20 Mbit/s + 20 ms <= loopback + 0.6 s", Pass: slowOne.MedianS <= lo.MedianS+0.6,
			Detail: fmt.Sprintf("%.2f s against %.2f s", slowOne.MedianS, lo.MedianS)},
		Target{Name: "links: one-file change, bytes down <= 1 MiB", Pass: slowOne.BytesDown <= 1<<20,
			Detail: fmt.Sprintf("%s", kib(slowOne.BytesDown))},
		Target{Name: "links: unchanged at 20 Mbit/s + 20 ms <= 0.5 s", Pass: slowNone.MedianS <= 0.5,
			Detail: fmt.Sprintf("%.2f s", slowNone.MedianS)},
	)
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
	b.WriteString(LinksBegin + "\n# Shaped links (issue 23)\n\n")
	b.WriteString("The real-core workload (as in \"Real firmware\", `--ccache=false`) over links as a laptop sees a build server: " +
		"loopback, 100 Mbit/s with 5 ms one-way delay, 20 Mbit/s with 20 ms one-way delay. The bench's proxy imitates the link " +
		"(bench/harness/proxy.go: each way, bytes leave at the rate and arrive the delay later; a connection's handshake costs a round trip); " +
		"everything stays on 127.0.0.1. `tc tbf` in a network namespace was not used: the proxy shapes alike wherever the bench runs. " +
		"Per link one context is warmed up by a build; then unchanged and one-file rebuilds (the app's `src/main.c` gets a comment line), " +
		"then first builds of new contexts (the blob store already has the app's contents; the client's build/ holds an earlier result). " +
		"Requests are the HTTP requests a build sent (plan, build, progress polls), connections the TCP connections it opened. " +
		"Each pair of binaries is a run of its own, one after the other, on a machine shared with other work: bytes and requests " +
		"compare exactly, times only roughly (a full build of the core took from 15 s to 100 s depending on the load).\n\n")
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %s of memory, %s; load average %s at the start of the last run: shared with other work, so the times are noisy.\n\n",
		m.CPUs, m.CPU, m.Memory, m.Go, m.LoadAvg)
	for _, r := range runs {
		fmt.Fprintf(&b, "## %s\n\n`%s`, %s.\n\n", r.Binaries, r.Command, r.When)
		b.WriteString("| link | change | runs | median | min | max | up | down | requests | connections | compiled |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		sc := slices.Clone(r.Scenarios)
		sort.SliceStable(sc, func(i, j int) bool { return linkIndex(sc[i].Link) < linkIndex(sc[j].Link) })
		for _, s := range sc {
			fmt.Fprintf(&b, "| %s | %s | %d | %.2f s | %.2f s | %.2f s | %s | %s | %d | %d | %d |\n",
				s.Link, s.Change, s.Runs, s.MedianS, s.MinS, s.MaxS, kib(s.BytesUp), kib(s.BytesDown), s.Requests, s.Conns, s.Compiled)
		}
		if r.Binaries == ThisTree {
			b.WriteString("\n")
			writeTargets(&b, CheckLinks(&r))
		}
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
