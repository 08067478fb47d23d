package realcore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/bench/suite"
	"github.com/mongoose-os/mos/common/testenv"
)

// TestDockerIncremental builds an app of ours on the real core with
// --build-runner docker in the image platforms/ubuntu/sdk.version names,
// three times: cold (the core, every lib and the app compiled), unchanged
// (nothing compiled), and after editing the app's one .c file (that file and
// the build info the core's Makefile regenerates after any object changes).
func TestDockerIncremental(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping three real-core builds in Docker")
	}
	real := dockerRealCopy(t)
	dockerUbuntuImage(t, filepath.Join(real, "mongoose-os"))
	mos := bins.Mos
	work := t.TempDir()
	app := dockerApp(t, filepath.Join(work, "app"))
	env := []string{"MOS_DIR=" + filepath.Join(work, "mos-home")}
	args := dockerBuildArgs(real)
	mainC := filepath.Join(app, "src", "main.c")
	buildInfoC := filepath.Join(app, "build", "gen", "build_info.c")

	build := func(what string) []string {
		t.Helper()
		r, err := harness.Build(context.Background(), mos, app, env, args, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		compiled := testenv.CompiledFiles(t, filepath.Join(app, "build", "build.log"))
		t.Logf("%s: %.1f s, %d files compiled", what, r.Seconds, len(compiled))
		return compiled
	}

	cold := build("cold")
	log, err := os.ReadFile(filepath.Join(app, "build", "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "Docker arguments: run ") ||
		!strings.Contains(string(log), " docker.io/mgos/ubuntu-build:bionic-r4 make ") {
		t.Errorf("cold build did not run make in the ubuntu SDK image; build.log:\n%s", log)
	}
	// The core itself (through MGOS_PATH, mounted at /mongoose-os), each lib
	// the app lists, the mbedTLS module and the app's own file.
	for _, want := range []string{
		"/mongoose-os/src/mgos_init.c",
		filepath.Join(real, "libs", "rpc-common", "src") + "/",
		filepath.Join(real, "libs", "http-server", "src") + "/",
		filepath.Join(real, "libs", "rpc-service-config", "src") + "/",
		filepath.Join(real, "modules", "mbedtls", "library") + "/",
		mainC,
		buildInfoC,
	} {
		if !slices.ContainsFunc(cold, func(f string) bool { return strings.HasPrefix(f, want) }) {
			t.Errorf("cold build compiled nothing under %s; compiled:\n%s", want, strings.Join(cold, "\n"))
		}
	}
	for _, p := range []string{"build/fw.zip", "build/objs/app.elf"} {
		if st, err := os.Stat(filepath.Join(app, p)); err != nil || st.Size() == 0 {
			t.Errorf("cold build left no %s: %v", p, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	if got := build("unchanged"); len(got) != 0 {
		t.Errorf("unchanged build compiled %d files, want none:\n%s", len(got), strings.Join(got, "\n"))
	}

	src, err := os.ReadFile(mainC)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), suite.RealAppLogLine, suite.RealAppLogLine+", edited", 1)
	if edited == string(src) {
		t.Fatal("the app's main.c has no log line to edit")
	}
	if err := os.WriteFile(mainC, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	got := build("one .c edited")
	slices.Sort(got)
	want := []string{buildInfoC, mainC}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after editing main.c compiled %q, want %q", got, want)
	}
	elf, err := os.ReadFile(filepath.Join(app, "build", "objs", "app.elf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(elf), suite.RealAppLogLine+", edited") {
		t.Error("the ELF after the edit does not hold the edited log line")
	}
}
