// Package compose tests the server as a team installs it: the image of
// fwbuild/Dockerfile and the stack of fwbuild/docker-compose.yml, as
// shipped, brought up with `docker compose` (or docker-compose) on host
// networking at 127.0.0.1, a build of the stand-in SDK's example through
// it, and the stack taken down. make test-compose runs it (after make
// build: the image takes bin/ from the host, as no golang image can be
// pulled here); without MOS_COMPOSE_TEST=1 it skips.
package compose

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/cli/localbuild"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/testenv"
)

// composeCommand is `docker compose` where the v2 plugin answers, else
// docker-compose; nil when neither does.
func composeCommand() []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	return nil
}

func run(t *testing.T, dir string, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
	return out.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestComposeStack(t *testing.T) {
	if os.Getenv("MOS_COMPOSE_TEST") != "1" {
		t.Skip("MOS_COMPOSE_TEST=1 not set (make test-compose sets it)")
	}
	if exec.Command("docker", "info").Run() != nil {
		t.Skip("no Docker daemon answers")
	}
	compose := composeCommand()
	if compose == nil {
		t.Skip("neither `docker compose` nor docker-compose works (apt-get install -y docker-compose)")
	}
	t.Logf("compose: %s", strings.Join(compose, " "))
	if exec.Command("docker", "image", "inspect", "mos-sdk-host:local").Run() != nil {
		t.Skip("SDK image mos-sdk-host:local is missing (scripts/sdk-image.sh makes it)")
	}
	root := testenv.RepoRoot(t)
	mos := filepath.Join(root, "bin", "mos")
	for _, b := range []string{mos, filepath.Join(root, "bin", "fwbuild-manager")} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s is missing: run make build first (make test-compose does)", b)
		}
	}
	// No registry here: the local base (debootstrap), also as the build
	// stage's image, with bin/ from the host.
	run(t, root, nil, filepath.Join(root, "fwbuild", "base-image.sh"))

	dir := t.TempDir()
	volumes := filepath.Join(dir, "volumes")
	if err := os.MkdirAll(volumes, 0o755); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("alice:"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	env := []string{
		"COMPOSE_PROJECT_NAME=mostestcompose" + port,
		"FWBUILD_USERS=" + users, "FWBUILD_VOLUMES=" + volumes, "FWBUILD_PORT=" + port,
		"FWBUILD_ADDRESS=127.0.0.1",
		"FWBUILD_BASE=fwbuild-base:local", "FWBUILD_BUILDER=fwbuild-base:local", "FWBUILD_PREBUILT=1",
	}
	fwbuildDir := filepath.Join(root, "fwbuild")
	composeArgs := func(more ...string) []string {
		return append(append(append([]string{}, compose...), "-f", "docker-compose.yml", "--profile", "host"), more...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(composeArgs("logs", "--no-color")[0], composeArgs("logs", "--no-color")[1:]...)
			cmd.Dir, cmd.Env = fwbuildDir, append(os.Environ(), env...)
			out, _ := cmd.CombinedOutput()
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("compose logs (tail):\n%s", out)
		}
		cmd := exec.Command(composeArgs("down", "--timeout", "30")[0], composeArgs("down", "--timeout", "30")[1:]...)
		cmd.Dir, cmd.Env = fwbuildDir, append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
		// The builds' files are root's (the server runs as root in its
		// container): remove them through a container too.
		exec.Command("docker", "run", "--rm", "--network", "none", "-v", dir+":"+dir, "fwbuild-base:local", "rm", "-rf", volumes).Run()
	})
	// Host networking (dockerd here has no bridge): the host profile's
	// service only.
	out := run(t, fwbuildDir, env, composeArgs("up", "-d", "--build", "fwbuild-manager-host")...)
	t.Logf("compose up: %d bytes of output", len(out))

	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			// With accounts even /healthz wants one: 401 proves the
			// server is up and not open.
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("anonymous GET /healthz: %d, want 401 (the compose file's server has accounts)", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the compose stack did not answer on %s within 60 s: %v", base, err)
		}
		time.Sleep(200 * time.Millisecond) // an external process (the container) coming up
	}

	app := checkout(t, dir)
	url := "http://alice:s3cret@127.0.0.1:" + port
	build := func(ctx string, extra ...string) runner.CcacheStats {
		t.Helper()
		args := append([]string{"build", "--server", url, "--repo", "../sdk-host", "--build-context", ctx}, extra...)
		r, err := harness.Build(context.Background(), mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "mos-home")}, args, nil)
		if err != nil {
			t.Fatalf("build in context %s through the compose stack: %v", ctx, err)
		}
		if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
			t.Fatalf("context %s: no build/fw.zip: %v", ctx, err)
		}
		st, err := runner.ReadCcacheStats(filepath.Join(app, "build", localbuild.CcacheStatsFile))
		if err != nil {
			t.Fatalf("context %s: ccache stats: %v", ctx, err)
		}
		t.Logf("context %s: %.1f s, %d compiled, ccache %d hits, %d misses", ctx, r.Seconds, r.Compiled, st.Hits, st.Misses)
		return st
	}
	first := build("compose_a")
	if first.Compiles() == 0 {
		t.Fatalf("first build: ccache counted no compiles")
	}
	// A new context built from scratch (--clean: not a copy of compose_a)
	// compiles everything again, from the compile cache that the docker
	// runner shares across contexts (every context at /mos/ctx).
	second := build("compose_b", "--clean")
	if second.Compiles() != first.Compiles() {
		t.Errorf("new context: ccache counted %d compiles, the first build %d", second.Compiles(), first.Compiles())
	}
	if second.Hits*10 < second.Compiles()*9 {
		t.Errorf("new context: %d of %d compiles from the cache, want at least 90%%", second.Hits, second.Compiles())
	}
	// A new context without --clean starts as a copy of the nearest one:
	// nothing to compile.
	r, err := harness.Build(context.Background(), mos, app, []string{"MOS_DIR=" + filepath.Join(dir, "mos-home")},
		[]string{"build", "--server", url, "--repo", "../sdk-host", "--build-context", "compose_c"}, nil)
	if err != nil {
		t.Fatalf("build in context compose_c through the compose stack: %v", err)
	}
	if r.Compiled != 0 {
		t.Errorf("a new context started from the nearest one compiled %d files, want 0", r.Compiled)
	}

	// The status page through the stack: both contexts, alice's, and the
	// recent builds in the volumes dir's history file.
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.SetBasicAuth("alice", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{">compose_a<", ">compose_b<", ">user:alice<", "Cached"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(volumes, "status-history.json")); err != nil {
		t.Errorf("no status history in the volumes dir: %v", err)
	}

	// A wrong password is refused, the right one let in.
	for _, tc := range []struct {
		pass string
		want int
	}{{"wrong", http.StatusUnauthorized}, {"s3cret", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.SetBasicAuth("alice", tc.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET /healthz as alice:%s: %d, want %d", tc.pass, resp.StatusCode, tc.want)
		}
	}
}

// checkout copies examples/hello and examples/sdk-host into dir.
func checkout(t *testing.T, dir string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	for _, ex := range []string{"hello", "sdk-host"} {
		if err := harness.CopyTree(filepath.Join(root, "examples", ex), filepath.Join(dir, ex), "build", "deps"); err != nil {
			t.Fatal(fmt.Errorf("copying examples/%s: %w", ex, err))
		}
	}
	return filepath.Join(dir, "hello")
}
