package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the root of this repository (the dir holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatalf("cannot locate testenv source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared next to the repo (reference data) or skips the
// test saying that folder is absent. MOS_SHARED_DIR overrides the place.
func SharedDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("MOS_SHARED_DIR")
	if d == "" {
		d = filepath.Join(RepoRoot(t), "..", "shared")
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Skipf("reference data folder %s is absent (set MOS_SHARED_DIR to its place); skipping", d)
	}
	return d
}

// HostSDK returns the path of the host-gcc platform SDK the repo ships.
func HostSDK(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "examples", "sdk-host")
}

// RequireTool skips the test when name is not on PATH.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found on PATH; skipping", name)
	}
	return p
}
