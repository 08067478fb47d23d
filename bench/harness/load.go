package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
)

// LoadOptions are developers rebuilding in a loop against a farm, each in
// a context of its own: what issue 21 measured (20 developers, a farm of 3).
type LoadOptions struct {
	Mos      string
	Work     string // a dir per developer: its app, SDK and mos home (created)
	App, SDK string // copied per developer (examples/hello, examples/sdk-host)
	// AppName and Platform make the affinity key our mos sends.
	AppName, Platform string
	Developers        int
	// Duration bounds the timed phase, which starts when every developer's
	// first build (untimed: a new context) is done.
	Duration time.Duration
	// MaxBuilds bounds each developer's timed builds (0: no bound).
	MaxBuilds int
	Edit      string // the app's file each rebuild appends a line to
}

// DevBuild is one developer's build.
type DevBuild struct {
	Developer int
	Context   string
	First     bool     // the developer's first build (a new context), untimed
	Server    string   // the server that answered the build request
	Servers   []string // every server that answered one of its requests (but progress polls)
	Seconds   float64
	Start     time.Time
	End       time.Time
	Err       error
}

// RunLoad runs the developers' builds against f and says who built each.
func RunLoad(ctx context.Context, f *Farm, o LoadOptions) ([]DevBuild, error) {
	type dev struct{ app, home, ctx string }
	devs := make([]dev, o.Developers)
	for i := range devs {
		dir := filepath.Join(o.Work, fmt.Sprintf("dev_%02d", i+1))
		devs[i] = dev{filepath.Join(dir, "app"), filepath.Join(dir, "home"), fmt.Sprintf("dev_%02d", i+1)}
		if err := CopyTree(o.App, devs[i].app, "build", "deps"); err != nil {
			return nil, err
		}
		if err := CopyTree(o.SDK, filepath.Join(dir, "sdk-host"), "build", "deps"); err != nil {
			return nil, err
		}
	}
	type span struct {
		b          DevBuild
		start, end time.Time
	}
	var mu sync.Mutex
	var spans []span
	build := func(i int, first bool) {
		d := devs[i]
		args := []string{"build", "--server", f.URL(), "--repo", "../sdk-host", "--build-context", d.ctx}
		start := time.Now()
		r, err := Build(ctx, o.Mos, d.app, []string{"MOS_DIR=" + d.home}, args, nil)
		end := time.Now()
		s := span{DevBuild{Developer: i + 1, Context: d.ctx, First: first, Seconds: r.Seconds, Start: start, End: end, Err: err}, start, end}
		mu.Lock()
		spans = append(spans, s)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range devs {
		wg.Add(1)
		go func() { defer wg.Done(); build(i, true) }()
	}
	wg.Wait()
	deadline := time.Now().Add(o.Duration)
	for i := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; (o.MaxBuilds == 0 || n < o.MaxBuilds) && time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				f, err := os.OpenFile(filepath.Join(devs[i].app, filepath.FromSlash(o.Edit)), os.O_APPEND|os.O_WRONLY, 0)
				if err == nil {
					_, err = fmt.Fprintf(f, "int load_edit_%d;\n", n)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					mu.Lock()
					spans = append(spans, span{b: DevBuild{Developer: i + 1, Context: devs[i].ctx, Err: fmt.Errorf("editing %s: %w", o.Edit, err)}})
					mu.Unlock()
					return
				}
				build(i, false)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Who built: the requests of a build carry its context's key and fall
	// within its run (a developer's builds follow one another); the last
	// POST answered is the build request.
	reqs := f.Requests()
	out := make([]DevBuild, 0, len(spans))
	for _, s := range spans {
		key := protocol.AffinityKey(o.AppName, o.Platform, s.b.Context)
		seen := map[string]bool{}
		var last time.Time
		for _, r := range reqs {
			if r.Affinity != key || r.Start.Before(s.start) || r.End.After(s.end) {
				continue
			}
			// The build's own requests (plan, blobs, build): a
			// progress poll sent before any answer named the build's
			// server goes by the context's hash and may miss it, which
			// costs only the progress display.
			if r.Server != "" && r.Method == http.MethodPost && !seen[r.Server] {
				seen[r.Server] = true
				s.b.Servers = append(s.b.Servers, r.Server)
			}
			if r.Method == http.MethodPost && r.End.After(last) {
				last, s.b.Server = r.End, r.Server
			}
		}
		sort.Strings(s.b.Servers)
		out = append(out, s.b)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Developer < out[j].Developer })
	return out, nil
}

// ServerLoad is one server's share of the timed builds.
type ServerLoad struct {
	Name     string  `json:"name"`
	Builds   int     `json:"builds"`
	MedianS  float64 `json:"median_s"`
	Contexts int     `json:"contexts"` // contexts whose builds went mostly here
	// MaxAtOnce is the most requests of builds (POSTs: plans and builds,
	// queued or running) it answered at once, as the proxy in front of
	// HAProxy saw them: what hash-balance-factor bounds. OverBound is the
	// share of the timed phase it held more than Bound of them.
	MaxAtOnce int     `json:"max_at_once"`
	OverBound float64 `json:"over_bound"`
}

// LoadSummary sums up the timed builds of a load.
type LoadSummary struct {
	Developers int          `json:"developers"`
	Builds     int          `json:"builds"` // timed builds that succeeded
	Failed     int          `json:"failed"`
	Servers    []ServerLoad `json:"servers"`
	// Stayed is the share of timed builds built on their context's usual
	// server (the one that built most of them); OneServer counts the
	// contexts all of whose timed builds were built on one server.
	Stayed    float64 `json:"stayed"`
	OneServer int     `json:"contexts_on_one_server"`
	// Split counts the builds whose requests more than one server answered
	// (the plan on one, the build on another: a build that moved midway).
	Split int `json:"split_builds"`
	// Bound is what HAProxy lets one server serve at once with every
	// developer's build in flight (BalanceBound), 0 when not given.
	Bound int `json:"bound,omitempty"`
}

// Summarize sums up builds over the named servers; reqs are the farm's
// requests (Farm.Requests), for the servers' load at once, compared with
// bound (0: none).
func Summarize(names []string, builds []DevBuild, reqs []FarmRequest, bound int) LoadSummary {
	sum := LoadSummary{Bound: bound}
	var from, to time.Time
	secs := map[string][]float64{}
	byCtx := map[string]map[string]int{}
	devs := map[int]bool{}
	for _, b := range builds {
		devs[b.Developer] = true
		if b.First {
			continue
		}
		if b.Err != nil {
			sum.Failed++
			continue
		}
		sum.Builds++
		if from.IsZero() || b.Start.Before(from) {
			from = b.Start
		}
		if b.End.After(to) {
			to = b.End
		}
		secs[b.Server] = append(secs[b.Server], b.Seconds)
		if byCtx[b.Context] == nil {
			byCtx[b.Context] = map[string]int{}
		}
		byCtx[b.Context][b.Server]++
		if len(b.Servers) > 1 {
			sum.Split++
		}
	}
	sum.Developers = len(devs)
	usual := map[string]int{}
	stayed := 0
	for _, per := range byCtx {
		best, n := "", 0
		for s, c := range per {
			if c > n || c == n && s < best {
				best, n = s, c
			}
		}
		usual[best]++
		stayed += n
		if len(per) == 1 {
			sum.OneServer++
		}
	}
	if sum.Builds > 0 {
		sum.Stayed = float64(stayed) / float64(sum.Builds)
	}
	for _, name := range names {
		most, over := atOnce(reqs, name, bound, from, to)
		sum.Servers = append(sum.Servers, ServerLoad{Name: name, Builds: len(secs[name]), MedianS: Median(secs[name]),
			Contexts: usual[name], MaxAtOnce: most, OverBound: over})
	}
	return sum
}

// atOnce is the most POSTs with an affinity key server answered at once,
// and the share of [from, to] during which it answered more than bound.
func atOnce(reqs []FarmRequest, server string, bound int, from, to time.Time) (int, float64) {
	type edge struct {
		t     time.Time
		delta int
	}
	var edges []edge
	for _, r := range reqs {
		if r.Server == server && r.Method == http.MethodPost && r.Affinity != "" {
			edges = append(edges, edge{r.Start, 1}, edge{r.End, -1})
		}
	}
	// An end before a start at the same instant: touching is not at once.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].t.Equal(edges[j].t) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].t.Before(edges[j].t)
	})
	n, most := 0, 0
	var over time.Duration
	for i, e := range edges {
		n += e.delta
		most = max(most, n)
		if bound > 0 && n > bound && i+1 < len(edges) {
			// Clipped to the timed phase.
			a, b := e.t, edges[i+1].t
			if a.Before(from) {
				a = from
			}
			if b.After(to) {
				b = to
			}
			if b.After(a) {
				over += b.Sub(a)
			}
		}
	}
	if !to.After(from) {
		return most, 0
	}
	return most, float64(over) / float64(to.Sub(from))
}

// BalanceBound is the most requests HAProxy's bounded-load hashing lets
// one of servers equal servers serve while total requests are in flight
// (the new one included), with hash-balance-factor factor (percent).
// HAProxy (lb_chash.c, chash_server_is_eligible) rounds the total slots
// up and spreads the remainder over the servers in order; the largest
// share is the bound of the most loaded server.
func BalanceBound(factor, servers, total int) int {
	slots := (total*factor + 99) / 100
	return (slots + servers - 1) / servers
}

// Median is the median of v (0 for none).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}
