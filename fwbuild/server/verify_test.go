//go:build unix

package server

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/config"
	"github.com/mongoose-os/mos/fwbuild/verify"
)

// TestVerifyIncrementalBuilds: with --verify-fraction 1, real builds of
// examples/hello: an incremental build after an edit is rebuilt from
// scratch and found equal; then an object file of the context is put
// back to an older one behind make's back (make relinks it, the sync
// sees nothing), the next incremental build is stale, its verification
// finds the mismatch, marks the context dirty and counts it in /metrics
// and on the status page, and the build after starts afresh and is right.
func TestVerifyIncrementalBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	for _, tool := range []string{"make", "gcc", "python3"} {
		testenv.RequireTool(t, tool)
	}
	cfg := realConfig(t, config.RunnerNative)
	cfg.VerifyFraction = 1
	outcomes := make(chan verify.Outcome, 8)
	s := newServer(t, cfg, WithVerifyHook(func(o verify.Outcome) { outcomes <- o }))
	wait := func(step string) verify.Outcome {
		t.Helper()
		select {
		case o := <-outcomes:
			return o
		case <-time.After(5 * time.Minute): // a deadline, not a pause: the hook ends the wait
			t.Fatalf("%s: no verification ended within 5 minutes", step)
		}
		return verify.Outcome{}
	}
	post := func(step string, files map[string]string, extra ...field) map[string]string {
		t.Helper()
		res := postHost(t, s, step, files, extra...)
		if res == nil {
			t.FailNow()
		}
		return res
	}

	files := helloUpload(t)
	first := post("first build", files)
	name := buildCtx(t, first)
	all := compiled(t, first)
	ctxField := field{protocol.FieldBuildCtx, name}
	dir := ctxDir(cfg, "host", name)
	obj := findFile(t, filepath.Join(dir, "build", "objs"), "upcase.c.o")
	oldObj, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}

	const marker = "e2e-verify-B"
	changed := map[string]string{}
	for k, v := range files {
		changed[k] = v
	}
	changed["src/upcase.c"] += "\nconst char *e2e_verify = \"" + marker + "\";\n"
	if one := compiled(t, post("one-file change", changed, ctxField)); len(one) != 1 {
		t.Fatalf("one-file change compiled %v", one)
	}
	if o := wait("one-file change"); o.Result != verify.Equal || o.Name != name {
		t.Fatalf("verification of an honest incremental build: %+v", o)
	}

	// Behind make's back: the object of the old upcase.c, newer than the
	// ELF, so make relinks it.
	if err := os.WriteFile(obj, oldObj, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := os.Chtimes(obj, now, now); err != nil {
		t.Fatal(err)
	}
	stale := post("stale incremental build", changed, ctxField)
	if strings.Contains(stale["build/objs/hello.elf"], marker) {
		t.Fatal("the stale object was not linked: the test's corruption did not work")
	}
	o := wait("stale incremental build")
	if o.Result != verify.Mismatch || o.Name != name || o.Why == "" {
		t.Fatalf("verification of a stale incremental build: %+v", o)
	}
	t.Logf("mismatch found: %s (%d differences)", o.Why, o.Diffs)
	if _, err := os.Stat(dir + ".dirty"); err != nil {
		t.Errorf("context not marked dirty after the mismatch: %v", err)
	}
	metrics := get(t, s, "/metrics")
	for _, want := range []string{
		"fwbuild_verify_mismatches_total 1\n",
		`fwbuild_verify_runs_total{result="equal"} 1` + "\n",
		`fwbuild_verify_runs_total{result="mismatch"} 1` + "\n",
		`fwbuild_verify_runs_total{result="error"} 0` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	page := get(t, s, "/")
	file, _, _ := strings.Cut(o.Why, ":") // the file, "fw.zip" or the like; the rest is escaped on the page
	for _, want := range []string{
		"Verification of incremental builds", `<b class="failed">1</b>contexts marked dirty`,
		"<td>" + name + "</td><td>" + testVersion + "</td><td class=\"step\">" + file + ":",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}

	// The next build starts afresh, and is right.
	fresh := post("build after the mismatch", changed, ctxField)
	if got := compiled(t, fresh); len(got) != len(all) {
		t.Errorf("build after the mismatch compiled %d files, a fresh one %d", len(got), len(all))
	}
	if !strings.Contains(fresh["build/objs/hello.elf"], marker) {
		t.Error("the build after the mismatch is still stale")
	}
	if _, err := os.Stat(dir + ".dirty"); err == nil {
		t.Error("context still dirty after its fresh build")
	}
}

// findFile returns the one file named base under dir.
func findFile(t *testing.T, dir, base string) string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == base {
			found = append(found, p)
		}
		return err
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("%s under %s: %v, %v", base, dir, found, err)
	}
	return found[0]
}

// get answers GET path (a monitoring page) with 200, or fails.
func get(t *testing.T, s *Server, path string) string {
	t.Helper()
	rec := do(t, s, httptestRequest(http.MethodGet, path))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestVerifyOffWhereBuildPathsDiffer: a native build without the sandbox
// writes its dir into the firmware, so a clean build elsewhere never
// matches: verification is turned off rather than marking every verified
// context dirty.
func TestVerifyOffWhereBuildPathsDiffer(t *testing.T) {
	for _, tc := range []struct {
		sandbox string
		want    bool
	}{{config.SandboxOn, true}, {config.SandboxNone, false}} {
		cfg := testConfig(t)
		cfg.VerifyFraction, cfg.Sandbox = 0.5, tc.sandbox
		s := newServer(t, cfg, WithRunner(newFakeRunner()))
		if got := s.verify.Enabled(); got != tc.want {
			t.Errorf("--sandbox %s: verification enabled %v, want %v", tc.sandbox, got, tc.want)
		}
		page := get(t, s, "/")
		if got := strings.Contains(page, "Verification of incremental builds"); got != tc.want {
			t.Errorf("--sandbox %s: status page shows verification: %v", tc.sandbox, got)
		}
	}
}
