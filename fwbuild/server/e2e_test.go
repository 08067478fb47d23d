//go:build unix

package server

import (
	"bufio"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// readUpload reads the files under dir as slash paths prefixed with
// prefix, skipping top-level build/ and deps/ and Go test files.
func readUpload(t *testing.T, dir, prefix string, into map[string]string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "build" || rel == "deps" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		into[prefix+rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compiled counts the "CC <file>" lines of a result's build.log.
func compiled(t *testing.T, files map[string]string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(files["build/build.log"]))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "CC ") {
			out = append(out, strings.TrimPrefix(sc.Text(), "CC "))
		}
	}
	return out
}

func hostParams(t *testing.T) string {
	t.Helper()
	p := stockParams(t)
	return strings.Replace(p, "  platform: esp32\n", "  platform: host\n", 1)
}

// TestEndToEndWithRealMos builds bin/mos, serves with the native runner
// and posts stock-shaped uploads of examples/hello: the first build
// compiles everything, the second (same context) nothing, a one-file
// change one file, clean=1 everything again. The upload is mode-less, as a
// stock client's: the SDK's Makefile runs tools/mgos_fw_meta.py directly,
// so the builds also prove that #! files arrive executable.
func TestEndToEndWithRealMos(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	for _, tool := range []string{"make", "gcc", "python3"} {
		testenv.RequireTool(t, tool)
	}
	endToEnd(t, config.RunnerNative)
}

// TestEndToEndDockerRunner is the same with --build-runner docker: mos
// starts one container of the host SDK image per build.
func TestEndToEndDockerRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	testenv.RequireDocker(t)
	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "examples", "sdk-host", "platforms", "host", "sdk.version"))
	if err != nil {
		t.Fatal(err)
	}
	image := strings.TrimSpace(string(b))
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Skipf("SDK image %s is absent (scripts/sdk-image.sh makes it); skipping", image)
	}
	endToEnd(t, config.RunnerDocker)
}

// realServer serves with runner and a mos built from this tree.
func realServer(t *testing.T, runner string) *Server {
	t.Helper()
	return newServer(t, realConfig(t, runner))
}

// realConfig is the config of realServer.
func realConfig(t *testing.T, runner string) config.Config {
	t.Helper()
	mos := filepath.Join(t.TempDir(), "mos")
	build := exec.Command("go", "build", "-o", mos, "./cli")
	build.Dir = testenv.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cli: %v\n%s", err, out)
	}
	cfg := config.Default()
	cfg.VolumesDir = filepath.Join(t.TempDir(), "volumes")
	cfg.BuildRunner = runner
	cfg.MosBinary = mos
	cfg.BuildTimeout = 5 * time.Minute
	cfg.VerifyFraction = 0
	return cfg
}

// helloUpload is the upload a stock client makes of examples/hello with
// --repo ../sdk-host: the app with its in-tree libs (the core lib among
// them), and the SDK as the mongoose-os module under deps/modules/.
func helloUpload(t *testing.T) map[string]string {
	t.Helper()
	root := testenv.RepoRoot(t)
	files := map[string]string{}
	readUpload(t, filepath.Join(root, "examples", "hello"), "", files)
	readUpload(t, filepath.Join(root, "examples", "sdk-host"), "deps/modules/mongoose-os/", files)
	if _, ok := files["libs/core/mos.yml"]; !ok {
		t.Fatal("examples/hello has no libs/core; update this test")
	}
	delete(files, ".gitignore")
	return files
}

// postHost posts files as a stock client does for a host build and
// returns the result's files; anything but 200 fails the test.
func postHost(t *testing.T, s *Server, step string, files map[string]string, extra ...field) map[string]string {
	t.Helper()
	// Stock field order, with the build params of a host build.
	fields := append([]field{{protocol.FieldPreferPrebuiltLibs, "0"}, {protocol.FieldBuildParams, hostParams(t)}}, extra...)
	ct, b := body(t, stockZip(t, files), fields...)
	rec := do(t, s, httptestPost(ct, b))
	if rec.Code != http.StatusOK {
		out := rec.Body.String()
		if rec.Code == protocol.StatusBuildFailed {
			out = resultFiles(t, rec)["build/build.log"]
		}
		t.Errorf("%s: status %d:\n%s", step, rec.Code, out)
		return nil
	}
	return resultFiles(t, rec)
}

func endToEnd(t *testing.T, runner string) {
	s := realServer(t, runner)
	files := helloUpload(t)
	post := func(step string, files map[string]string, extra ...field) map[string]string {
		t.Helper()
		res := postHost(t, s, step, files, extra...)
		if res == nil {
			t.FailNow()
		}
		return res
	}

	first := post("first build", files)
	name := buildCtx(t, first)
	all := compiled(t, first)
	if len(all) < 5 {
		t.Fatalf("first build compiled %d files: %v\n%s", len(all), all, first["build/build.log"])
	}
	for _, want := range []string{"build/fw.zip", "build/objs/hello.elf", "build/gen/mos_final.yml", "build/fs/hello.txt"} {
		if _, ok := first[want]; !ok {
			t.Errorf("first result lacks %s: %v", want, names(first))
		}
	}
	ctxField := field{protocol.FieldBuildCtx, name}

	if again := compiled(t, post("second build", files, ctxField)); len(again) != 0 {
		t.Errorf("second build of an unchanged upload compiled %v", again)
	}

	changed := map[string]string{}
	for k, v := range files {
		changed[k] = v
	}
	changed["src/upcase.c"] += "\n/* changed */\n"
	one := compiled(t, post("one-file change", changed, ctxField))
	if len(one) != 1 || !strings.HasSuffix(one[0], "/src/upcase.c") {
		t.Errorf("one-file change compiled %v", one)
	}

	clean := compiled(t, post("clean build", changed, ctxField, field{protocol.FieldClean, "1"}))
	if len(clean) != len(all) {
		t.Errorf("clean build compiled %d files, the first %d", len(clean), len(all))
	}
}

// TestConcurrentRealBuilds posts real builds at once: two clients with
// different sources to one context (serialized: each gets the firmware of
// its own sources), and four different contexts (in parallel: all build).
func TestConcurrentRealBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	for _, tool := range []string{"make", "gcc", "python3"} {
		testenv.RequireTool(t, tool)
	}
	s := realServer(t, config.RunnerNative)
	base := helloUpload(t)
	// variant returns the upload with a marker string compiled in; the
	// firmware ELF of that upload holds it, and no other variant's.
	variant := func(v string) map[string]string {
		files := map[string]string{}
		for k, c := range base {
			files[k] = c
		}
		files["src/upcase.c"] += "\nconst char *e2e_variant = \"e2e-variant-" + v + "\";\n"
		return files
	}
	type job struct{ variant, ctx string }
	check := func(jobs []job) {
		t.Helper()
		results := make([]map[string]string, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = postHost(t, s, "variant "+j.variant, variant(j.variant), field{protocol.FieldBuildCtx, j.ctx})
			}()
		}
		wg.Wait()
		for i, j := range jobs {
			res := results[i]
			if res == nil {
				continue // postHost reported it
			}
			if got := buildCtx(t, res); got != j.ctx {
				t.Errorf("variant %s: context %q, want %q", j.variant, got, j.ctx)
			}
			elf := res["build/objs/hello.elf"]
			for _, other := range jobs {
				has := strings.Contains(elf, "e2e-variant-"+other.variant)
				if want := other.variant == j.variant; has != want {
					t.Errorf("variant %s: firmware holds variant %s: %v, want %v", j.variant, other.variant, has, want)
				}
			}
			if _, ok := res["build/fw.zip"]; !ok {
				t.Errorf("variant %s: no build/fw.zip in %v", j.variant, names(res))
			}
		}
	}
	check([]job{{"A", "shared"}, {"B", "shared"}})
	check([]job{{"C", "ctx1"}, {"D", "ctx2"}, {"E", "ctx3"}, {"F", "ctx4"}})
}
