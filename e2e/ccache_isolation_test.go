package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/testenv"
)

// The compile cache under a hostile account (issue 20, rows 1-4): alice,
// mallory and ci (the group ci, trusted to fill the shared base cache)
// build the hello app on a sandboxed native server; mallory's SDK
// Makefile attacks the cache from inside her build.

// aliceSecret is in alice's main.c only: no object of anyone else holds it.
const aliceSecret = "ALICE_PRIVATE_7f3e9a"

// ccacheServer starts a server with accounts alice, mallory and ci
// (password "<name> pw"), group ci: ci, on its own volumes dir, with the
// build runner (native or docker); extra flags follow.
func (e *env) ccacheServer(name, runner string, extra ...string) *harness.Server {
	e.t.Helper()
	testenv.RequireTool(e.t, "ccache")
	if runner == "docker" {
		testenv.RequireDocker(e.t)
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(e.t), "examples", "sdk-host", "platforms", "host", "sdk.version"))
		if err != nil {
			e.t.Fatal(err)
		}
		if image := strings.TrimSpace(string(b)); exec.Command("docker", "image", "inspect", image).Run() != nil {
			e.t.Skipf("SDK image %s is absent (scripts/sdk-image.sh makes it)", image)
		}
	} else {
		testenv.RequireTool(e.t, "bwrap")
	}
	var b strings.Builder
	for _, u := range []string{"alice", "mallory", "ci"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+" pw"), bcrypt.MinCost)
		if err != nil {
			e.t.Fatal(err)
		}
		b.WriteString(u + ":" + string(h) + "\n")
	}
	b.WriteString("group ci: ci\n")
	users := filepath.Join(e.work, name+"-users")
	if err := os.WriteFile(users, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	log := filepath.Join(e.work, name+".log")
	args := append([]string{"--auth-file", users, "--address", "127.0.0.1", "--sandbox", "on", "--ccache-trusted-group", "ci"}, extra...)
	srv, err := harness.StartServer(context.Background(), harness.ServerOptions{
		Manager: bins.Manager, Mos: bins.Mos, Runner: runner,
		VolumesDir: filepath.Join(e.work, name+"-volumes"), LogFile: log, Extra: args,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		srv.Stop()
		if e.t.Failed() {
			b, _ := os.ReadFile(log)
			e.t.Logf("%s log:\n%s", name, b)
		}
	})
	return srv
}

// buildAs builds app on srv as user, in context ctx; the build must pass.
func (e *env) buildAs(srv *harness.Server, user, app, ctx string) harness.Result {
	e.t.Helper()
	url := strings.Replace(srv.URL(), "://", "://"+user+":"+strings.ReplaceAll(user+" pw", " ", "%20")+"@", 1)
	args := []string{"build", "--server", url, "--repo", "../sdk-host", "--build-context", ctx}
	r, err := harness.Build(context.Background(), bins.Mos, app, e.mosEnv, args, srv)
	if err != nil {
		e.t.Fatalf("%s's build in %s: %v\n%s", user, ctx, err, r.Output)
	}
	return r
}

// hostileSDK makes the SDK of the checkout app run the shell script body
// (in the platform dir, as the build's user, inside the sandbox) when make
// reads its makefile, and export the make lines vars.
func hostileSDK(t *testing.T, app, body, vars string) {
	t.Helper()
	dir := filepath.Join(app, "..", "sdk-host", "platforms", "host")
	if err := os.WriteFile(filepath.Join(dir, "evil.sh"), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "evil-gcc"), []byte("#!/bin/sh\nexec /usr/bin/gcc \"$@\" -Wa,--defsym,MALLORY_MARKER_GCC=1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "evil-prefix"), []byte("#!/bin/sh\nexec \"$@\" -Wa,--defsym,MALLORY_MARKER_CACHE=1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mk := filepath.Join(dir, "Makefile.build")
	b, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	hook := ".DEFAULT_GOAL := all\nEVIL_DIR := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))\n" +
		"$(shell chmod +x $(EVIL_DIR)evil.sh $(EVIL_DIR)evil-gcc $(EVIL_DIR)evil-prefix)\n" +
		"$(info $(shell cd $(EVIL_DIR) && ./evil.sh 2>&1))\n" + vars
	b = bytes.Replace(b, []byte(".DEFAULT_GOAL := all\n"), []byte(hook), 1)
	if err := os.WriteFile(mk, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// elfOf is the ELF in the firmware zip the build of app left.
func elfOf(t *testing.T, app string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(app, "build", "fw.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".elf") {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no ELF in %s/build/fw.zip", app)
	return nil
}

func buildLog(t *testing.T, app string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app, "build", "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var ccacheLineRE = regexp.MustCompile(`ccache: (\d+) of (\d+) compiles from the cache`)

// cacheHits are the hits and compiles of the build's ccache line.
func cacheHits(t *testing.T, app string) (hits, compiles int) {
	t.Helper()
	m := ccacheLineRE.FindStringSubmatch(buildLog(t, app))
	if m == nil {
		t.Fatalf("no ccache line in the build log:\n%s", buildLog(t, app))
	}
	hits, _ = strconv.Atoi(m[1])
	compiles, _ = strconv.Atoi(m[2])
	return hits, compiles
}

// Row 1: mallory's build compiles the core's sources again through the
// cache with her own wrapper (CCACHE_RECACHE and CCACHE_PREFIX, neither
// hashed), storing objects with her marker under the keys of the clean
// compiles; alice's next build in a new context must not get them.
func TestCcacheMalloryCannotPoisonAlice(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		t.Run(runner, func(t *testing.T) { ccachePoison(t, runner) })
	}
}

func ccachePoison(t *testing.T, runner string) {
	e := newEnv(t)
	srv := e.ccacheServer("srv", runner)
	mallory := e.checkout("mallory")
	hostileSDK(t, mallory, "true\n", "export CCACHE_RECACHE := 1\nexport CCACHE_PREFIX := $(EVIL_DIR)evil-prefix\n")
	e.buildAs(srv, "mallory", mallory, "m1")
	if !bytes.Contains(elfOf(t, mallory), []byte("MALLORY_MARKER_CACHE")) {
		t.Fatalf("mallory's wrapper did not run: no marker in her own firmware\n%s", buildLog(t, mallory))
	}
	alice := e.checkout("alice")
	e.buildAs(srv, "alice", alice, "a1")
	if bytes.Contains(elfOf(t, alice), []byte("MALLORY_MARKER_CACHE")) {
		t.Errorf("alice's firmware holds mallory's marker: her objects came from mallory's cache entries\n%s", buildLog(t, alice))
	}
}

// Row 2: mallory's build extracts every cache result it can find around
// its cache dir; alice's private string must not be among them.
func TestCcacheMalloryCannotReadAlice(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		t.Run(runner, func(t *testing.T) { ccacheRead(t, runner) })
	}
}

func ccacheRead(t *testing.T, runner string) {
	e := newEnv(t)
	srv := e.ccacheServer("srv", runner)
	alice := e.checkout("alice")
	appendTo(t, filepath.Join(alice, "src", "main.c"), "\nconst char alice_secret[] = \""+aliceSecret+"\";\n")
	e.buildAs(srv, "alice", alice, "a1")
	if !bytes.Contains(elfOf(t, alice), []byte(aliceSecret)) {
		t.Fatal("alice's secret is not in her own firmware")
	}
	mallory := e.checkout("mallory")
	hostileSDK(t, mallory, `mkdir -p /tmp/x && cd /tmp/x || exit 0
for f in $(find "$CCACHE_DIR/../.." "$CCACHE_DIR" -name '*R' 2>/dev/null); do
  ccache --extract-result "$f" >/dev/null 2>&1
  grep -q -a `+aliceSecret+` ccache-result.o 2>/dev/null && { echo "MALLORY SAW $f"; break; }
done
echo "mallory searched $CCACHE_DIR"
`, "")
	e.buildAs(srv, "mallory", mallory, "m1")
	log := buildLog(t, mallory)
	if !strings.Contains(log, "mallory searched") {
		t.Fatalf("mallory's search did not run:\n%s", log)
	}
	if strings.Contains(log, "MALLORY SAW") {
		t.Errorf("mallory's build read alice's object from the compile cache:\n%s", log)
	}
}

// Row 3: mallory's build moves the dir of the compiler links aside and
// plants her own gcc where the links were; alice's next build must not
// run it.
func TestCcacheMalloryCannotPlantCompiler(t *testing.T) {
	e := newEnv(t)
	srv := e.ccacheServer("srv", "native")
	mallory := e.checkout("mallory")
	hostileSDK(t, mallory, `d=${PATH%%:*}; p=$(dirname "$d")
mv "$p" "$p.old" 2>&1; mkdir -p "$d" 2>&1 && cp ./evil-gcc "$d/gcc" 2>&1 && chmod +x "$d/gcc" && echo "MALLORY PLANTED $d/gcc"
`, "")
	e.buildAs(srv, "mallory", mallory, "m1")
	alice := e.checkout("alice")
	e.buildAs(srv, "alice", alice, "a1")
	if bytes.Contains(elfOf(t, alice), []byte("MALLORY_MARKER_GCC")) {
		t.Errorf("alice's build ran mallory's compiler; mallory's log:\n%s", buildLog(t, mallory))
	}
}

// The shared base cache: what a build of the trusted group compiled
// serves an untrusted account's first build of the same app (>= 95%
// hits), and an untrusted account's builds never fill it.
func TestCcacheBaseFromTrustedBuilds(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		t.Run(runner, func(t *testing.T) { ccacheBase(t, runner) })
	}
}

func ccacheBase(t *testing.T, runner string) {
	e := newEnv(t)
	srv := e.ccacheServer("srv", runner)
	ci := e.checkout("ci")
	e.buildAs(srv, "ci", ci, "c1")
	alice := e.checkout("alice")
	e.buildAs(srv, "alice", alice, "a1")
	hits, compiles := cacheHits(t, alice)
	t.Logf("alice's first build after ci's: %d of %d compiles from the cache", hits, compiles)
	if compiles == 0 || hits*100 < compiles*95 {
		t.Errorf("alice's first build after ci's: %d of %d compiles from the cache, want >= 95%%\n%s", hits, compiles, buildLog(t, alice))
	}
	// alice's change is in her namespace only: mallory's first build of
	// the same change compiles it.
	appendTo(t, filepath.Join(alice, "src", "main.c"), "\nint alice_change;\n")
	e.buildAs(srv, "alice", alice, "a1")
	mallory := e.checkout("mallory")
	appendTo(t, filepath.Join(mallory, "src", "main.c"), "\nint alice_change;\n")
	e.buildAs(srv, "mallory", mallory, "m1")
	if hits, compiles := cacheHits(t, mallory); hits == compiles {
		t.Errorf("mallory's build got alice's object of main.c: %d of %d compiles from the cache\n%s", hits, compiles, buildLog(t, mallory))
	}
}

// redisCLI runs redis-cli against addr.
func redisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// redisSockScript finds the forwarded redis socket in ccache's settings.
const redisSockScript = `s=$(echo "$CCACHE_REMOTE_STORAGE" | tr ' ' '\n' | grep redis+unix | sed 's|^redis+unix://[^/]*||; s|[?|].*||')
echo "mallory found socket '$s'"
`

// Rows 1, 2 and 4 through a shared Redis (two servers, each with its own
// cache dir): mallory's poisoned objects, her reads and her admin
// commands through the socket her build is given.
func TestCcacheRedisIsolation(t *testing.T) {
	testenv.RequireTool(t, "redis-server")
	testenv.RequireTool(t, "redis-cli")
	e := newEnv(t)
	rd, err := harness.StartRedis(context.Background(), filepath.Join(e.work, "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.Stop)
	remote := []string{"--ccache-remote", "redis://" + rd.Addr}
	srvA := e.ccacheServer("srvA", "native", remote...)
	srvB := e.ccacheServer("srvB", "native", remote...)

	t.Run("poison", func(t *testing.T) {
		mallory := e.checkout("mallory1")
		hostileSDK(t, mallory, "true\n", "export CCACHE_RECACHE := 1\nexport CCACHE_PREFIX := $(EVIL_DIR)evil-prefix\n")
		e.buildAs(srvA, "mallory", mallory, "m1")
		if !bytes.Contains(elfOf(t, mallory), []byte("MALLORY_MARKER_CACHE")) {
			t.Fatalf("mallory's wrapper did not run\n%s", buildLog(t, mallory))
		}
		alice := e.checkout("alice1")
		e.buildAs(srvB, "alice", alice, "a1")
		if bytes.Contains(elfOf(t, alice), []byte("MALLORY_MARKER_CACHE")) {
			t.Errorf("alice's firmware (other server) holds mallory's marker from Redis\n%s", buildLog(t, alice))
		}
	})

	t.Run("read", func(t *testing.T) {
		alice := e.checkout("alice2")
		appendTo(t, filepath.Join(alice, "src", "main.c"), "\nconst char alice_secret[] = \""+aliceSecret+"\";\n")
		e.buildAs(srvB, "alice", alice, "a2")
		mallory := e.checkout("mallory2")
		hostileSDK(t, mallory, redisSockScript+`mkdir -p /tmp/x && cd /tmp/x || exit 0
n=0
for k in $(redis-cli -s "$s" --scan 2>/dev/null) $(redis-cli -s "$s" KEYS '*' 2>/dev/null); do
  n=$((n+1))
  redis-cli -s "$s" --no-raw GET "$k" >/dev/null 2>&1
  redis-cli -s "$s" GET "$k" 2>/dev/null | head -c -1 > r
  ccache --extract-result r >/dev/null 2>&1
  grep -q -a `+aliceSecret+` ccache-result.o 2>/dev/null && { echo "MALLORY SAW $k"; break; }
done
echo "mallory tried $n keys"
`, "")
		e.buildAs(srvA, "mallory", mallory, "m2")
		log := buildLog(t, mallory)
		if !strings.Contains(log, "mallory tried") || strings.Contains(log, "found socket ''") {
			t.Fatalf("mallory's search did not run:\n%s", log)
		}
		if strings.Contains(log, "MALLORY SAW") {
			t.Errorf("mallory's build read alice's object from Redis:\n%s", log)
		}
	})

	t.Run("commands", func(t *testing.T) {
		redisCLI(t, rd.Addr, "SET", "canary", "1")
		before := redisCLI(t, rd.Addr, "CONFIG", "GET", "maxmemory")
		mallory := e.checkout("mallory3")
		hostileSDK(t, mallory, redisSockScript+`redis-cli -s "$s" CONFIG SET maxmemory 1234567 2>&1
redis-cli -s "$s" FLUSHALL 2>&1
`, "")
		e.buildAs(srvA, "mallory", mallory, "m3")
		if !strings.Contains(buildLog(t, mallory), "mallory found socket '/") {
			t.Fatalf("mallory's build found no socket:\n%s", buildLog(t, mallory))
		}
		if got := redisCLI(t, rd.Addr, "EXISTS", "canary"); got != "1" {
			t.Errorf("FLUSHALL through mallory's socket dropped every key\n%s", buildLog(t, mallory))
		}
		if got := redisCLI(t, rd.Addr, "CONFIG", "GET", "maxmemory"); got != before {
			t.Errorf("CONFIG SET through mallory's socket: maxmemory %q, was %q", got, before)
		}
	})
}
