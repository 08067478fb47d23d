package testenv

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// RequireDocker skips the test, saying why, unless a Docker daemon answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker client not found on PATH; skipping (.ci/run installs and starts Docker)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answered (docker info: %v: %s); skipping (.ci/run starts dockerd)", err, out)
	}
}
