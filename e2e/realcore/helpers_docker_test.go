package realcore

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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

// dockerMosBinary builds our mos into a temp dir.
func dockerMosBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mos")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/mongoose-os/mos/cli")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building mos: %v\n%s", err, out)
	}
	return bin
}

// dockerApp writes the test app: platform ubuntu, its own src/main.c, the
// libs rpc-common, http-server and rpc-service-config (found in --libs-dir).
func dockerApp(t *testing.T, dir string) string {
	t.Helper()
	testenv.WriteTree(t, dir, testenv.Tree{
		"mos.yml": {Content: `author: mos tests
description: an app of ours on the real core, built in the ubuntu SDK image
version: 1.0
platform: ubuntu
sources:
  - src
libs:
  - origin: https://github.com/mongoose-os-libs/rpc-common
  - origin: https://github.com/mongoose-os-libs/http-server
  - origin: https://github.com/mongoose-os-libs/rpc-service-config
manifest_version: 2017-09-29
`},
		"src/main.c": {Content: `#include "mgos.h"

enum mgos_app_init_result mgos_app_init(void) {
  LOG(LL_INFO, ("docker app up"));
  return MGOS_APP_INIT_SUCCESS;
}
`},
	})
	return dir
}

// dockerBuildArgs is the real-core build in the SDK image (see
// ../shared/real/README.md). The build needs no network, so the container
// gets none (--network=none).
func dockerBuildArgs(real string) []string {
	return []string{
		"build", "--local", "--build-runner", "docker", "--platform", "ubuntu",
		"--repo", filepath.Join(real, "mongoose-os"),
		"--libs-dir", filepath.Join(real, "libs"),
		"--module", "mbedtls_module:" + filepath.Join(real, "modules", "mbedtls"),
		"--no-libs-update",
		"--cflags-extra=-Wno-implicit-const-int-float-conversion",
		"--build-docker-extra=--network=none",
	}
}
