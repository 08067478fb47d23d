package suite

import (
	"strings"
	"testing"
)

func TestLinksSectionAndTargets(t *testing.T) {
	run := LinkRun{Binaries: ThisTree, Command: "go run ./bench/run -links", Shaping: ShapingTBF, Scenarios: []LinkScenario{
		{Workload: WorkloadReal, Link: "20mbit_20ms", Change: ChangeOneC, MedianS: 2.9, BytesDown: 600 << 10},
		{Workload: WorkloadReal, Link: "loopback", Change: ChangeOneC, MedianS: 2.0},
		{Workload: WorkloadReal, Link: "20mbit_20ms", Change: ChangeNone, MedianS: 0.6},
		{Workload: WorkloadMCU, Link: "20mbit_20ms", Change: ChangeOneC, MedianS: 1.5, BytesDown: 2 << 20},
		{Workload: WorkloadMCU, Link: "loopback", Change: ChangeOneC, MedianS: 1.0},
		{Workload: WorkloadMCU, Link: "20mbit_20ms", Change: ChangeNone, MedianS: 0.4},
	}}
	// An older run: no workload (the real core's), the proxy shaping.
	before := LinkRun{Binaries: "before", Scenarios: []LinkScenario{
		{Link: "loopback", Change: ChangeOneC, MedianS: 1.7},
		{Link: "loopback", Change: ChangeNone, MedianS: 0.2},
	}}
	ts := CheckLinks([]LinkRun{before, run})
	want := []struct {
		name string
		pass bool
	}{
		{"links, real: one-file change at 20", false}, // 2.9 > 2.0 + 0.6
		{"links, real: one-file change, bytes down", true},
		{"links, real: unchanged at 20", false},
		{"links, real: loopback one_c_file no slower than before", false}, // 2.0 > 1.7 x 1.1 + 0.1
		{"links, mcu: one-file change at 20", true},
		{"links, mcu: one-file change, bytes down", false},
		{"links, mcu: unchanged at 20", true},
	}
	if len(ts) != len(want) {
		t.Fatalf("targets %+v: want %d", ts, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(ts[i].Name, w.name) || ts[i].Pass != w.pass {
			t.Errorf("target %d: %+v, want %q pass %v", i, ts[i], w.name, w.pass)
		}
	}
	sec := LinksMarkdown([]LinkRun{before, run}, Machine{})
	if !strings.HasPrefix(sec, LinksBegin) || !strings.HasSuffix(sec, LinksEnd+"\n") || strings.Index(sec, "| loopback") > strings.Index(sec, "| 20mbit") ||
		strings.Count(sec, "### MCU") != 1 || strings.Count(sec, "### Real core") != 2 || !strings.Contains(sec, "Shaping: "+ShapingTBF) {
		t.Errorf("section:\n%s", sec)
	}
	md := "# Results\n\nkept text\n"
	once := ReplaceLinksSection(md, sec)
	twice := ReplaceLinksSection(once+"after\n", strings.Replace(sec, "2.90 s", "1.00 s", 1))
	if !strings.HasPrefix(twice, md) || !strings.HasSuffix(twice, "after\n") || strings.Count(twice, LinksBegin) != 1 || !strings.Contains(twice, "1.00 s") {
		t.Errorf("replaced twice:\n%s", twice)
	}
}
