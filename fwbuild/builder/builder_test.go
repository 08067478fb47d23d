//go:build unix

package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// fakeMos writes an executable shell script standing in for mos.
func fakeMos(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mos")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func request(t *testing.T) Request {
	t.Helper()
	base := t.TempDir()
	ctx := filepath.Join(base, "build_contexts", "ci_main")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	return Request{
		Dir:          ctx,
		ParamsFile:   filepath.Join(ctx, "build_params.yml"),
		LibsCacheDir: filepath.Join(base, "libcache"),
		TempDir:      filepath.Join(ctx, "tmp"),
		OutputFile:   ctx + ".output.log",
		Log:          "build ctx=ci_main app=hello platform=host",
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgs(t *testing.T) {
	m := &Mos{Binary: "/opt/bin/mos", BuildRunner: "native", FetchAllow: "github.com,127.0.0.1:9418"}
	req := Request{Dir: "/v/ctx", ParamsFile: "/v/ctx/build_params.yml", LibsCacheDir: "/v/libcache", TempDir: "/v/ctx/tmp"}
	got := strings.Join(m.Args(req), " ")
	want := "/opt/bin/mos build -C /v/ctx --local --build-params /v/ctx/build_params.yml --build-runner native --libs-cache-dir /v/libcache --temp-dir /v/ctx/tmp --confine /v/ctx --fetch-allow github.com,127.0.0.1:9418"
	if got != want {
		t.Errorf("Args =\n %s\nwant\n %s", got, want)
	}
	m.Sandbox = &Sandbox{VolumesDir: "/v", Memory: "2g", CPUs: "1.5", PIDs: 100}
	got = strings.Join(m.Args(req), " ")
	if want := want + " --sandbox --sandbox-hide /v --sandbox-memory 2g --sandbox-cpus 1.5 --sandbox-pids 100"; got != want {
		t.Errorf("sandboxed Args =\n %s\nwant\n %s", got, want)
	}
	if got := shellLine([]string{"/a b/mos", "x'y", ""}); got != `'/a b/mos' 'x'\''y' ''` {
		t.Errorf("shellLine = %s", got)
	}
}

func TestRunSuccess(t *testing.T) {
	req := request(t)
	args := filepath.Join(t.TempDir(), "args")
	bin := fakeMos(t, `printf '%s\n' "$@" > `+args+`
pwd >> `+args+`
mkdir -p build && echo "CC src/main.c" > build/build.log
echo "Success, built hello/host"
`)
	m := &Mos{Binary: bin, BuildRunner: "docker", Timeout: time.Minute}
	res, err := m.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed || res.Reason != "" {
		t.Errorf("result %+v", res)
	}
	wantArgs := strings.Join(m.Args(req)[1:], "\n") + "\n" + req.Dir + "\n"
	if got := read(t, args); got != wantArgs {
		t.Errorf("mos got args\n%s\nwant\n%s", got, wantArgs)
	}
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); got != "CC src/main.c\n" {
		t.Errorf("build.log changed on success: %q", got)
	}
	if got := read(t, req.OutputFile); got != "Success, built hello/host\n" {
		t.Errorf("output file %q", got)
	}
}

func TestRunFailureAddsReasonAndLastLines(t *testing.T) {
	req := request(t)
	bin := fakeMos(t, `mkdir -p build && printf 'line1\nline2\n' > build/build.log
i=1; while [ $i -le 15 ]; do echo "out $i" >&2; i=$((i+1)); done
exit 3
`)
	res, err := (&Mos{Binary: bin, BuildRunner: "native"}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || res.Reason != "build failed: mos exited with status 3" {
		t.Errorf("result %+v", res)
	}
	var want strings.Builder
	want.WriteString("line1\nline2\n\n--- last lines mos printed ---\n")
	for i := 6; i <= 15; i++ {
		want.WriteString("out " + strconv.Itoa(i) + "\n")
	}
	want.WriteString("build failed: mos exited with status 3\n")
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); got != want.String() {
		t.Errorf("build.log =\n%s\nwant\n%s", got, want.String())
	}
}

func TestRunFailureWithoutLogCopiesOutput(t *testing.T) {
	req := request(t)
	bin := fakeMos(t, "echo 'Error: mos.yml: no such file' >&2; exit 1\n")
	res, err := (&Mos{Binary: bin, BuildRunner: "native"}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// mos's "Error:" line is the cause and ends the log; no exit status.
	want := "--- mos output ---\nError: mos.yml: no such file\n"
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); !res.Failed || got != want {
		t.Errorf("result %+v, build.log =\n%s\nwant\n%s", res, got, want)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	req := request(t)
	pidFile := filepath.Join(t.TempDir(), "pids")
	// mos ignores SIGTERM (so does its child, which inherits that), so
	// only the SIGKILL to the group after the grace period ends them.
	bin := fakeMos(t, `trap '' TERM
sleep 1000 &
echo "$$ $!" > `+pidFile+`
wait
`)
	m := &Mos{Binary: bin, BuildRunner: "native", Timeout: time.Second, KillGrace: 100 * time.Millisecond}
	res, err := m.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || res.Reason != "build timed out after 1s" {
		t.Errorf("result %+v", res)
	}
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); got != "build timed out after 1s\n" {
		t.Errorf("build.log = %q", got)
	}
	fields := strings.Fields(read(t, pidFile))
	if len(fields) != 2 {
		t.Fatalf("pid file %q: the fake mos did not start its child within the timeout", fields)
	}
	for _, f := range fields {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		if !testenv.ProcessGone(t, pid) {
			t.Errorf("process %d still running after the timeout", pid)
		}
	}
}

func TestTimeoutSIGTERMEndsAWellBehavedBuild(t *testing.T) {
	req := request(t)
	bin := fakeMos(t, "trap 'echo stopping make; exit 143' TERM\nsleep 1000 &\nwait\n")
	// A grace period far longer than the test: the build must end on
	// SIGTERM, not wait for SIGKILL.
	m := &Mos{Binary: bin, BuildRunner: "native", Timeout: 500 * time.Millisecond, KillGrace: time.Hour}
	res, err := m.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || res.Reason != "build timed out after 500ms" || res.Duration > 10*time.Minute {
		t.Errorf("result %+v", res)
	}
	log := read(t, filepath.Join(req.Dir, "build", "build.log"))
	if !strings.Contains(log, "stopping make\n") || !strings.HasSuffix(log, "build timed out after 500ms\n") {
		t.Errorf("build.log = %q", log)
	}
}

func TestCancelStopsTheBuild(t *testing.T) {
	req := request(t)
	started := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(started, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	bin := fakeMos(t, "echo up > "+started+"\nexec sleep 1000\n")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Opening the fifo blocks until the fake mos writes to it: the
		// build is running when the request goes away.
		if b, err := os.ReadFile(started); err == nil && len(b) > 0 {
			cancel()
		}
	}()
	m := &Mos{Binary: bin, BuildRunner: "native", Timeout: time.Hour, KillGrace: time.Hour}
	res, err := m.Run(ctx, req)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || res.Reason != "build stopped: context canceled" {
		t.Errorf("result %+v", res)
	}
}

func TestStartErrorIsAnError(t *testing.T) {
	req := request(t)
	_, err := (&Mos{Binary: filepath.Join(t.TempDir(), "missing"), BuildRunner: "native"}).Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "starting mos") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run = %v", err)
	}
}

func TestFindMos(t *testing.T) {
	bin := fakeMos(t, "exit 0\n")
	got, err := FindMos(bin)
	if err != nil || got != bin {
		t.Errorf("FindMos(%s) = %s, %v", bin, got, err)
	}
	if _, err := FindMos(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "--mos-binary") {
		t.Errorf("missing explicit binary: %v", err)
	}
	t.Setenv("PATH", filepath.Dir(bin))
	if got, err := FindMos(""); err != nil || got != bin {
		t.Errorf("FindMos from PATH = %s, %v", got, err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := FindMos(""); err == nil || !strings.Contains(err.Error(), "give --mos-binary") {
		t.Errorf("no mos anywhere: %v", err)
	}
}

func TestLastLines(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc\n"},
		{"a\nb\n", 5, "a\nb\n"},
		{"only", 1, "only\n"},
		{"a\nb\n", 2, "a\nb\n"},
		{"\n\n", 2, ""},
	}
	for _, tc := range cases {
		if got := string(lastLines([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestRunWithoutOutputFile(t *testing.T) {
	req := request(t)
	req.OutputFile = ""
	bin := fakeMos(t, "echo lost; exit 4\n")
	res, err := (&Mos{Binary: bin, BuildRunner: "native"}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); !res.Failed || got != "build failed: mos exited with status 4\n" {
		t.Errorf("result %+v, build.log %q", res, got)
	}
}

// A refused build (mos exits protocol.ExitRefused) is Refused with mos's
// message as the reason, and build.log is left alone: nothing was built.
func TestRunRefusedCarriesTheMessage(t *testing.T) {
	req := request(t)
	mos := fakeMos(t, "echo 'Reading lib...'\necho 'Error: mos.yml: filesystem[0]: /etc/passwd is outside the build context' >&2\nexit "+strconv.Itoa(protocol.ExitRefused)+"\n")
	res, err := (&Mos{Binary: mos, BuildRunner: "native", KillGrace: time.Second}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Refused || !res.Failed || res.Reason != "mos.yml: filesystem[0]: /etc/passwd is outside the build context" {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(req.Dir, "build", "build.log")); err == nil {
		t.Error("build.log written for a refused build")
	}
	// Any other failure is not a refusal.
	res, err = (&Mos{Binary: fakeMos(t, "exit 2\n"), BuildRunner: "native", KillGrace: time.Second}).Run(context.Background(), req)
	if err != nil || res.Refused || !res.Failed {
		t.Errorf("exit 2: %+v, %v", res, err)
	}
}

// lineWriter sends each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// Progress gets build.log as it grows: the first line arrives while the
// build still runs (it waits for the test to read that line), and the
// last build's log is not passed on.
func TestRunFollowsBuildLog(t *testing.T) {
	req := request(t)
	if err := os.MkdirAll(filepath.Join(req.Dir, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(req.Dir, "build", "build.log"), []byte("CC old.c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goOn := filepath.Join(t.TempDir(), "go-on")
	if err := syscall.Mkfifo(goOn, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// The fake mos writes a line, then blocks on the fifo until the test
	// has seen that line, then writes one more without a newline.
	bin := fakeMos(t, `echo "  CC    src/main.c" > build/build.log
read x < `+goOn+`
printf 'LD hello.elf' >> build/build.log
`)
	w := make(lineWriter, 64)
	req.Progress = w
	type outcome struct {
		res Result
		err error
	}
	ended := make(chan outcome, 1)
	go func() {
		res, err := (&Mos{Binary: bin, BuildRunner: "native", Timeout: time.Minute}).Run(context.Background(), req)
		ended <- outcome{res, err}
	}()
	var got strings.Builder
	for !strings.Contains(got.String(), "\n") {
		select {
		case s := <-w:
			got.WriteString(s)
		case o := <-ended:
			t.Fatalf("build ended (%+v, %v) before its first line was passed on; got %q", o.res, o.err, got.String())
		}
	}
	if got.String() != "  CC    src/main.c\n" {
		t.Fatalf("first progress %q", got.String())
	}
	f, err := os.OpenFile(goOn, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("go\n")
	f.Close()
	o := <-ended
	if o.err != nil || o.res.Failed {
		t.Fatalf("Run = %+v, %v", o.res, o.err)
	}
	// Run returns after the rest was passed on.
	close(w)
	for s := range w {
		got.WriteString(s)
	}
	if want := "  CC    src/main.c\nLD hello.elf"; got.String() != want {
		t.Errorf("progress %q, want %q", got.String(), want)
	}
}

// mos writes its messages to build.log and to its output: a failure adds
// none of them again, and build.log ends with mos's own "Error:" line, the
// real cause, which the client shows once.
func TestRunFailureNamesTheCauseOnce(t *testing.T) {
	req := request(t)
	bin := fakeMos(t, `mkdir -p build
for l in 'Reading lib "rpc"...' 'WARNING: lib "rpc" missing' 'Error: lib "rpc": not found'; do echo "$l" >> build/build.log; echo "$l" >&2; done
exit 1
`)
	res, err := (&Mos{Binary: bin, BuildRunner: "native"}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed {
		t.Errorf("result %+v", res)
	}
	want := "Reading lib \"rpc\"...\nWARNING: lib \"rpc\" missing\nError: lib \"rpc\": not found\n"
	if got := read(t, filepath.Join(req.Dir, "build", "build.log")); got != want {
		t.Errorf("build.log =\n%s\nwant\n%s", got, want)
	}
}
