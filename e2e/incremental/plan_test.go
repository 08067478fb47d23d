package incremental

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPlan: a short run makes every edit kind once; a long one has the
// asked length and every kind too; the same seed gives the same plan and the same edits; and
// every edit changes the app's files (no step rebuilds an unchanged app).
func TestPlan(t *testing.T) {
	short := plan(rand.New(rand.NewPCG(7, 0x1ce)), false, longSteps)
	if got := slices.Sorted(slices.Values(short)); !slices.Equal(got, slices.Sorted(slices.Values(kinds))) {
		t.Errorf("short plan %v: want each of %v once", short, kinds)
	}
	long := plan(rand.New(rand.NewPCG(7, 0x1ce)), true, longSteps)
	if len(long) != longSteps {
		t.Errorf("long plan: %d steps, want %d", len(long), longSteps)
	}
	for _, k := range kinds {
		if !slices.Contains(long, k) {
			t.Errorf("long plan %v: no %s", long, k)
		}
	}
	for _, long := range []bool{false, true} {
		edits := func() []string {
			rng := rand.New(rand.NewPCG(42, 0x1ce))
			a := newApp()
			files := a.render()
			var out []string
			for i, k := range plan(rng, long, longSteps) {
				if !a.applicable(k) {
					t.Fatalf("long=%v step %d: %s is not applicable", long, i+1, k)
				}
				e := a.apply(k, rng)
				next := a.render()
				if maps.Equal(files, next) {
					t.Errorf("long=%v step %d (%s: %s) changed no file", long, i+1, k, e.what)
				}
				files = next
				out = append(out, e.what)
			}
			return out
		}
		if a, b := edits(), edits(); !slices.Equal(a, b) {
			t.Errorf("long=%v: one seed, two sequences:\n%v\n%v", long, a, b)
		}
	}
}
