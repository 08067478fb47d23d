package suite

import (
	"strings"
	"testing"
)

func TestLinksSectionAndTargets(t *testing.T) {
	run := LinkRun{Binaries: ThisTree, Command: "go run ./bench/run -links", Scenarios: []LinkScenario{
		{Link: "20mbit_20ms", Change: ChangeOneC, MedianS: 2.9, BytesDown: 600 << 10},
		{Link: "loopback", Change: ChangeOneC, MedianS: 2.0},
		{Link: "20mbit_20ms", Change: ChangeNone, MedianS: 0.6},
	}}
	ts := CheckLinks(&run)
	if len(ts) != 3 || ts[0].Pass || !ts[1].Pass || ts[2].Pass {
		t.Errorf("targets %+v: want 2.9 s > 2.0 + 0.6 failed, 600 KiB passed, 0.6 s unchanged failed", ts)
	}
	sec := LinksMarkdown([]LinkRun{run}, Machine{})
	if !strings.HasPrefix(sec, LinksBegin) || !strings.HasSuffix(sec, LinksEnd+"\n") || strings.Index(sec, "| loopback") > strings.Index(sec, "| 20mbit") {
		t.Errorf("section:\n%s", sec)
	}
	md := "# Results\n\nkept text\n"
	once := ReplaceLinksSection(md, sec)
	twice := ReplaceLinksSection(once+"after\n", strings.Replace(sec, "2.90 s", "1.00 s", 1))
	if !strings.HasPrefix(twice, md) || !strings.HasSuffix(twice, "after\n") || strings.Count(twice, LinksBegin) != 1 || !strings.Contains(twice, "1.00 s") {
		t.Errorf("replaced twice:\n%s", twice)
	}
}
