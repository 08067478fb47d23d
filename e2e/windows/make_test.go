package windows

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// make windows builds mos.exe alone: one go build, for Windows, of the
// client only, into bin/windows/mos.exe (make -n: what it would run).
func TestMakeWindowsBuildsMosExeOnly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed (Debian package make)")
	}
	cmd := exec.Command("make", "-n", "windows")
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n windows: %v\n%s", err, out)
	}
	var builds []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " build ") {
			builds = append(builds, l)
		}
	}
	if len(builds) != 1 {
		t.Fatalf("make -n windows runs %d go builds, want 1:\n%s", len(builds), out)
	}
	b := builds[0]
	for _, want := range []string{"GOOS=windows", "-o bin/windows/mos.exe", " ./cli", "-trimpath"} {
		if !strings.Contains(b, want) {
			t.Errorf("make windows: %q lacks %q", b, want)
		}
	}
}
