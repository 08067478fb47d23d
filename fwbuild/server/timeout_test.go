//go:build unix

package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// TestTimeoutKillsTheBuild runs the real builder with a fake mos that never
// ends and ignores SIGTERM, as does the child it starts.
func TestTimeoutKillsTheBuild(t *testing.T) {
	cfg := testConfig(t)
	pidFile := filepath.Join(t.TempDir(), "pids")
	cfg.MosBinary = filepath.Join(t.TempDir(), "mos")
	// Host PIDs from /proc/self/stat: in a PID namespace $$ would be 1.
	script := "#!/bin/sh\ntrap '' TERM\nsh -c 'read -r p r < /proc/self/stat; echo $p >> " + pidFile + "; exec sleep 1000' &\n" +
		"read -r p r < /proc/self/stat; echo $p >> " + pidFile + "\nwait\n"
	if err := os.WriteFile(cfg.MosBinary, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.BuildTimeout = time.Second
	cfg.BuildKillGrace = 100 * time.Millisecond
	s := newServer(t, cfg)
	rec := do(t, s, stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, "ci_main"}))
	if rec.Code != protocol.StatusBuildFailed {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	files := resultFiles(t, rec)
	if got := files["build/build.log"]; got != "build timed out after 1s\n" {
		t.Errorf("build.log %q", got)
	}
	if buildCtx(t, files) != "ci_main" {
		t.Error("wrong context")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake mos did not run: %v", err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		if !testenv.ProcessGone(t, pid) {
			t.Errorf("process %d survived the timeout", pid)
		}
	}
}
