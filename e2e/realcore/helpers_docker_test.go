package realcore

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/suite"
	"github.com/mongoose-os/mos/common/testenv"
)

// dockerRealCopy copies ../shared/real (read-only in CI) into a temp dir and
// returns the copy, skipping the test when it is absent.
func dockerRealCopy(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testenv.SharedDir(t), "real")
	if _, err := os.Stat(filepath.Join(src, "mongoose-os", "platforms", "ubuntu", "Makefile.build")); err != nil {
		t.Skipf("the real core is absent (%v); skipping", err)
	}
	dst := filepath.Join(t.TempDir(), "real")
	testenv.CopyDir(t, src, dst)
	return dst
}

// dockerUbuntuImage is the SDK image the core's platforms/ubuntu/sdk.version
// names; the test is skipped when no Docker daemon answers or the image is
// absent (scripts/ubuntu-image.sh makes it; .ci/run runs that).
func dockerUbuntuImage(t *testing.T, core string) string {
	t.Helper()
	testenv.RequireDocker(t)
	f := filepath.Join(core, "platforms", "ubuntu", "sdk.version")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatalf("reading the SDK image name: %v", err)
	}
	image := strings.TrimSpace(string(data))
	if out, err := exec.Command("docker", "image", "inspect", image).CombinedOutput(); err != nil {
		t.Skipf("SDK image %s is absent (%s); scripts/ubuntu-image.sh makes it (.ci/run does); skipping",
			image, strings.TrimSpace(string(out)))
	}
	return image
}

// dockerApp writes the real-core app (the benchmark's): platform ubuntu,
// its own src/main.c, the libs rpc-common, http-server and
// rpc-service-config (found in --libs-dir).
func dockerApp(t *testing.T, dir string) string {
	t.Helper()
	tree := testenv.Tree{}
	for name, content := range suite.RealApp {
		tree[name] = testenv.File{Content: content}
	}
	testenv.WriteTree(t, dir, tree)
	return dir
}

// dockerBuildArgs is the real-core build in the SDK image (see
// ../shared/real/README.md). The build needs no network, so the container
// gets none (--network=none).
func dockerBuildArgs(real string) []string {
	args := append([]string{"build", "--local", "--build-runner", "docker"}, suite.RealFlags(real)...)
	return append(args, "--build-docker-extra=--network=none")
}
