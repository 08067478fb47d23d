package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces cli -> common <- fwbuild: common imports
// neither side, fwbuild never imports cli, and testenv is only for tests.
func TestImportDirection(t *testing.T) {
	root := RepoRoot(t)
	const mod = "github.com/mongoose-os/mos/"
	rules := []struct {
		pkgs      string
		forbidden []string
	}{
		{"./common/...", []string{mod + "cli/", mod + "fwbuild/"}},
		{"./fwbuild/...", []string{mod + "cli/", mod + "common/testenv"}},
		{"./cli/...", []string{mod + "fwbuild/", mod + "common/testenv"}},
	}
	for _, r := range rules {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", r.pkgs)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "matched no packages") {
				continue
			}
			t.Fatalf("go list %s: %v\n%s", r.pkgs, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.HasPrefix(fields[0], mod) {
				continue
			}
			for _, imp := range fields[1:] {
				for _, bad := range r.forbidden {
					if strings.HasPrefix(imp+"/", bad) || strings.HasPrefix(imp, bad) {
						t.Errorf("%s imports %s (forbidden for %s)", fields[0], imp, r.pkgs)
					}
				}
			}
		}
	}
}
