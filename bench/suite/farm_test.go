package suite

import (
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
)

// The farm's section replaces only itself: the rest of RESULTS.md stays
// byte for byte (the file holds sections other runs wrote).
func TestReplaceSection(t *testing.T) {
	const h = "# Farm"
	for _, c := range []struct{ md, want string }{
		{"# A\n\nx\n", "# A\n\nx\n\n# Farm\nnew\n"},
		{"# A\n\n# Farm\nold\n\n# B\ny\n", "# A\n\n# Farm\nnew\n\n# B\ny\n"},
		{"# A\n\n# Farm\nold\n## sub\nold\n", "# A\n\n# Farm\nnew\n"},
		{"", "\n\n# Farm\nnew\n"},
		// The links' section markers that follow stay (a -farm-only run
		// took the begin marker with the farm's old section).
		{"# A\n\n# Farm\nold\n\n" + LinksBegin + "\n# Links\nz\n" + LinksEnd + "\n",
			"# A\n\n# Farm\nnew\n\n" + LinksBegin + "\n# Links\nz\n" + LinksEnd + "\n"},
	} {
		if got := ReplaceSection(c.md, h, "# Farm\nnew\n"); got != c.want {
			t.Errorf("ReplaceSection(%q) = %q, want %q", c.md, got, c.want)
		}
	}
}

func TestCheckFarm(t *testing.T) {
	servers := func(builds [3]int, medians [3]float64) *FarmResults {
		r := &FarmResults{}
		for i := range builds {
			r.Servers = append(r.Servers, harness.ServerLoad{Name: "fw" + string(rune('1'+i)), Builds: builds[i], MedianS: medians[i]})
			r.Builds += builds[i]
		}
		return r
	}
	verdicts := func(r *FarmResults) string {
		var v []string
		for _, t := range CheckFarm(r) {
			v = append(v, map[bool]string{true: "PASS", false: "FAIL"}[t.Pass])
		}
		return strings.Join(v, " ")
	}
	for _, c := range []struct {
		r    *FarmResults
		want string
	}{
		{servers([3]int{50, 59, 59}, [3]float64{3.63, 10.51, 9.34}), "PASS FAIL PASS"}, // plain hashing, bench run
		{servers([3]int{40, 40, 61}, [3]float64{2, 2, 2.4}), "FAIL PASS PASS"},         // 61 > 1.25 * 47
		{servers([3]int{47, 47, 47}, [3]float64{2, 2, 2.5}), "PASS PASS PASS"},
	} {
		if got := verdicts(c.r); got != c.want {
			t.Errorf("%+v: %s, want %s", c.r.Servers, got, c.want)
		}
	}
	c := servers([3]int{47, 47, 47}, [3]float64{2, 2, 2})
	c.Failed = 1
	if got := verdicts(c); got != "PASS PASS FAIL" {
		t.Errorf("a failed build: %s, want PASS PASS FAIL", got)
	}
	if ts := CheckFarm(nil); len(ts) != 1 || ts[0].Pass || ts[0].Detail != "not measured" {
		t.Errorf("no figures: %+v", ts)
	}
}
