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

func endToEnd(t *testing.T, runner string) {
	root := testenv.RepoRoot(t)
	mos := filepath.Join(t.TempDir(), "mos")
	build := exec.Command("go", "build", "-o", mos, "./cli")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cli: %v\n%s", err, out)
	}

	// The upload a stock client makes of examples/hello with --repo
	// ../sdk-host: the app, its in-tree libs, the out-of-tree core lib
	// under local_libs/ (mos.yml rewritten to point there), and the SDK as
	// the mongoose-os module under deps/modules/.
	files := map[string]string{}
	readUpload(t, filepath.Join(root, "examples", "hello"), "", files)
	readUpload(t, filepath.Join(root, "examples", "sdk-host", "libs", "core"), "local_libs/core/", files)
	readUpload(t, filepath.Join(root, "examples", "sdk-host"), "deps/modules/mongoose-os/", files)
	const coreLoc = "location: ../sdk-host/libs/core"
	if !strings.Contains(files["mos.yml"], coreLoc) {
		t.Fatalf("examples/hello/mos.yml no longer has %q; update this test", coreLoc)
	}
	files["mos.yml"] = strings.Replace(files["mos.yml"], coreLoc, "location: local_libs/core", 1)
	delete(files, ".gitignore")

	cfg := config.Default()
	cfg.VolumesDir = filepath.Join(t.TempDir(), "volumes")
	cfg.BuildRunner = runner
	cfg.MosBinary = mos
	cfg.BuildTimeout = 5 * time.Minute
	s := newServer(t, cfg)

	post := func(step string, files map[string]string, extra ...field) map[string]string {
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
			t.Fatalf("%s: status %d:\n%s", step, rec.Code, out)
		}
		return resultFiles(t, rec)
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
