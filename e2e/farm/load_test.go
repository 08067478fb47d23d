package farm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// shippedFactor is fwbuild/farm/haproxy.cfg's hash-balance-factor.
const shippedFactor = 101

// TestFarmBoundedLoad: 20 developers, each in a context of its own,
// rebuild the host SDK's hello app after a one-file edit in a loop through
// HAProxy (fwbuild/farm/haproxy.cfg as shipped, bounded-load consistent
// hashing) on 3 servers that build one at a time, for 45 s. No server
// builds more than 125% of the mean, or serves more builds at once than
// HAProxy's bound for more than a tenth of the time; the servers' median
// build times are within 1.5x; no build fails or has its requests answered
// by two servers; and contexts stay on their server while it is not at its
// bound: most builds are on their context's usual server.
func TestFarmBoundedLoad(t *testing.T) {
	requireTools(t, "redis-server", "haproxy", "ccache", "make", "gcc")
	dir := t.TempDir()
	root := testenv.RepoRoot(t)
	cfg := filepath.Join(root, "fwbuild", "farm", "haproxy.cfg")
	if b, err := os.ReadFile(cfg); err != nil || !strings.Contains(string(b), fmt.Sprintf(`hash-balance-factor "${FARM_BALANCE_FACTOR-%d}"`, shippedFactor)) {
		t.Fatalf("%s: want hash-balance-factor \"${FARM_BALANCE_FACTOR-%d}\" (%v)", cfg, shippedFactor, err)
	}
	ctx := context.Background()
	f, err := harness.StartFarm(ctx, harness.FarmOptions{
		Bins: bins, Config: cfg, Dir: filepath.Join(dir, "farm"),
		// One build at a time per server: each server is a machine's worth
		// of capacity, so a server given more contexts makes them wait.
		ServerFlags: append([]string{"--max-concurrent-builds", "1"}, sandboxFlags(t)...),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	builds, err := harness.RunLoad(ctx, f, harness.LoadOptions{
		Mos: bins.Mos, Work: filepath.Join(dir, "devs"),
		App: filepath.Join(root, "examples", "hello"), SDK: filepath.Join(root, "examples", "sdk-host"),
		AppName: "hello", Platform: "host", Developers: 20, Duration: 45 * time.Second, MaxBuilds: 30, Edit: "src/main.c",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range builds {
		if b.Err != nil {
			t.Errorf("developer %d: %v", b.Developer, b.Err)
		}
	}
	// Every developer has at most one plan or build request in flight
	// (progress polls go to another backend): HAProxy's bound of one
	// server then (8). Plain hashing served 9 at once here.
	bound := harness.BalanceBound(shippedFactor, harness.FarmServers, 20+1)
	s := harness.Summarize(f.Names, builds, f.Requests(), bound)
	t.Logf("%d timed builds of %d developers, %d failed; %.0f%% on their context's usual server, %d of %d contexts all on one server, %d builds split over servers",
		s.Builds, s.Developers, s.Failed, 100*s.Stayed, s.OneServer, s.Developers, s.Split)
	if s.Builds < 3*s.Developers {
		t.Fatalf("%d timed builds: want at least 3 per developer to judge the balance", s.Builds)
	}
	mean := float64(s.Builds) / float64(len(s.Servers))
	fastest, slowest := s.Servers[0], s.Servers[0]
	for _, sl := range s.Servers {
		t.Logf("%s: %d builds (%.0f%% of the mean), median %.2f s, usual server of %d contexts, at most %d at once, over the bound %d for %.1f%% of the time",
			sl.Name, sl.Builds, 100*float64(sl.Builds)/mean, sl.MedianS, sl.Contexts, sl.MaxAtOnce, bound, 100*sl.OverBound)
		if float64(sl.Builds) > 1.25*mean {
			t.Errorf("%s built %d of %d builds: more than 125%% of the mean %.1f", sl.Name, sl.Builds, s.Builds, mean)
		}
		// A build admitted under the bound keeps its server for its build
		// request (X-Mos-Build-Server), which may then go over it for a
		// while; plain hashing keeps 9 contexts on one server all along.
		if sl.OverBound > 0.10 {
			t.Errorf("%s served more than its bound %d builds at once for %.0f%% of the time (at most %d); want <= 10%%", sl.Name, bound, 100*sl.OverBound, sl.MaxAtOnce)
		}
		if sl.MedianS < fastest.MedianS {
			fastest = sl
		}
		if sl.MedianS > slowest.MedianS {
			slowest = sl
		}
	}
	// What the bound is for: no server's developers wait much longer than
	// another's. Plain consistent hashing put 3 / 9 / 8 of these contexts
	// on the servers, medians 4.6 / 15.3 / 13.4 s (3.3x); bounded, 1.1x to
	// 1.35x here on a loaded machine. The benchmark's target is 1.25x
	// (farm_20); this test, which must not fail on a noisy machine, allows
	// 1.5x.
	if slowest.MedianS > 1.5*fastest.MedianS {
		t.Errorf("median build time %.2f s on %s, %.2f s on %s: more than 1.5x", slowest.MedianS, slowest.Name, fastest.MedianS, fastest.Name)
	}
	if s.Split > 0 {
		t.Errorf("%d builds had requests answered by more than one server", s.Split)
	}
	// Affinity: a context leaves its server only while that one is at its
	// bound, and comes back (76% to 97% of builds stayed in runs here,
	// the lower figures with the machine loaded by other tests; plain
	// round robin would give about a third).
	if s.Stayed < 0.6 {
		t.Errorf("contexts moved: %.0f%% of builds on their context's usual server; want >= 60%%", 100*s.Stayed)
	}
}
