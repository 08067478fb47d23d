package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A stream as go test -json writes it, by hand: a passing package, a
// skipped suite of subtests, a failing test, a package without tests.
const stream = `{"Action":"start","Package":"github.com/mongoose-os/mos/cli/manifest"}
{"Action":"run","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance","Output":"=== RUN   TestConformance\n"}
{"Action":"run","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/a/esp32"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/a/esp32","Output":"    conformance_test.go:40: ../shared/conformance absent\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/a/esp32","Output":"--- SKIP: TestConformance/a/esp32 (0.00s)\n"}
{"Action":"skip","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/a/esp32"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/b/host","Output":"    conformance_test.go:40: ../shared/conformance absent\n"}
{"Action":"skip","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance/b/host"}
{"Action":"pass","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestConformance"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestMerge","Output":"=== RUN   TestMerge\n"}
{"Action":"pass","Package":"github.com/mongoose-os/mos/cli/manifest","Test":"TestMerge"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Output":"PASS\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/cli/manifest","Output":"ok  \tgithub.com/mongoose-os/mos/cli/manifest\t0.1s\n"}
{"Action":"pass","Package":"github.com/mongoose-os/mos/cli/manifest"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestDocker","Output":"=== RUN   TestDocker\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestDocker","Output":"    docker.go:20: no Docker daemon answered\n"}
{"Action":"skip","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestDocker"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestUpload","Output":"=== RUN   TestUpload\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestUpload","Output":"    server_test.go:99: status 500, want 200\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestUpload","Output":"--- FAIL: TestUpload (0.01s)\n"}
{"Action":"fail","Package":"github.com/mongoose-os/mos/fwbuild/server","Test":"TestUpload"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Output":"FAIL\n"}
{"Action":"output","Package":"github.com/mongoose-os/mos/fwbuild/server","Output":"FAIL\tgithub.com/mongoose-os/mos/fwbuild/server\t0.2s\n"}
{"Action":"fail","Package":"github.com/mongoose-os/mos/fwbuild/server"}
{"Action":"output","Package":"github.com/mongoose-os/mos/common/doc","Output":"?   \tgithub.com/mongoose-os/mos/common/doc\t[no test files]\n"}
{"Action":"skip","Package":"github.com/mongoose-os/mos/common/doc"}
`

func TestSummaryOfStream(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	if err := s.Read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	s.Finish()
	want := "ok  \tgithub.com/mongoose-os/mos/cli/manifest\t0.1s\n" +
		"    server_test.go:99: status 500, want 200\n" +
		"--- FAIL: TestUpload (0.01s)\n" +
		"FAIL\n" +
		"FAIL\tgithub.com/mongoose-os/mos/fwbuild/server\t0.2s\n" +
		"?   \tgithub.com/mongoose-os/mos/common/doc\t[no test files]\n" +
		"\nSkipped:\n" +
		"  cli/manifest TestConformance: 2 tests skipped: ../shared/conformance absent\n" +
		"  fwbuild/server TestDocker skipped: no Docker daemon answered\n" +
		"\n2 passed, 1 failed, 3 skipped\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestPanicShowsRunningTestOutput(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	s.Read(strings.NewReader(`{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t1.0s\n"}
{"Action":"fail","Package":"p"}
`))
	s.Finish()
	if !strings.Contains(out.String(), "panic: test timed out") {
		t.Errorf("output of a test that never finished is lost:\n%s", out.String())
	}
}

// TestRealGoTest runs the command on a small module with a passing, a
// skipped and a failing test: go test's exit code comes through, and the
// summary names the skip and its reason.
func TestRealGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: compiles and runs go test twice")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.com/m\n\ngo 1.21\n",
		"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) {}\n\nfunc TestNeedsThing(t *testing.T) { t.Skip(\"thing absent\") }\n",
		"b/b_test.go": "package b\n\nimport \"testing\"\n\nfunc TestBad(t *testing.T) { t.Fatal(\"it broke\") }\n",
		"c/c.go":      "package c\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "testsummary")
	if out, err := exec.Command(goBin, "build", "-o", bin, self).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(pkgs ...string) (string, int) {
		cmd := exec.Command(bin, pkgs...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GO="+goBin, "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("./...")
	if code == 0 {
		t.Errorf("a failing test must make the exit code non-zero:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestBad", "it broke", "FAIL\texample.com/m/b", "ok  \texample.com/m/a",
		"example.com/m/a TestNeedsThing skipped: thing absent", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== RUN") {
		t.Errorf("plain go test output has no === RUN lines:\n%s", out)
	}
	out, code = run("./a/")
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed, 1 skipped") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
