package builder

import (
	"fmt"
	"os/exec"
	"strings"
)

// CheckSandbox says whether sandboxed builds can run here with runner
// (docker or native): native needs bwrap able to make a sandbox (user
// namespaces). A server checks it at start rather than fail every build.
func CheckSandbox(runner string) error {
	if runner != "native" {
		return nil
	}
	bin, err := exec.LookPath("bwrap")
	if err != nil {
		return fmt.Errorf("sandboxed native builds need bwrap: install the bubblewrap package (or run with --sandbox none): %w", err)
	}
	out, err := exec.Command(bin, "--unshare-all", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("sandboxed native builds: %s cannot create a sandbox here (%v: %s); allow unprivileged user namespaces or run with --sandbox none",
			bin, err, strings.TrimSpace(string(out)))
	}
	return nil
}
