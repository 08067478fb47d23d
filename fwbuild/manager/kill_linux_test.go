package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// manager is a running fwbuild-manager whose log lines arrive on lines.
type manager struct {
	cmd   *exec.Cmd
	addr  string
	lines chan string
	log   *strings.Builder
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startManager runs bin with args on a free 127.0.0.1 port and waits for
// it to listen.
func startManager(t *testing.T, bin string, args ...string) *manager {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"--logtostderr", "--v=1", "--address=127.0.0.1", "--port=" + strconv.Itoa(port)}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &manager{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), lines: make(chan string, 1000), log: &strings.Builder{}}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case m.lines <- sc.Text():
			default:
			}
		}
		close(m.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	m.waitLog(t, "listening on "+m.addr)
	return m
}

// waitLog reads log lines until one contains s.
func (m *manager) waitLog(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-m.lines:
			if !ok {
				t.Fatalf("manager exited before logging %q:\n%s", s, m.log)
			}
			m.log.WriteString(line + "\n")
			if strings.Contains(line, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q in the log within a minute:\n%s", s, m.log)
		}
	}
}

// post sends a stock-like build request for context ctxName.
func post(t *testing.T, addr, ctxName string) (int, error) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("mos.yml")
	w.Write([]byte("name: hello\nplatform: host\n"))
	zw.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "source.zip")
	fw.Write(zb.Bytes())
	mw.WriteField("build_params", "manifestadjustments:\n  platform: host\n")
	mw.WriteField("build_ctx", ctxName)
	mw.Close()
	resp, err := http.Post("http://"+addr+"/api/fwbuild/2.20.0/build", mw.FormDataContentType(), &body)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// alive reports whether pid runs (not gone, not a zombie), waiting up to
// 10 s for a process sent SIGKILL to die when want is false.
func alive(t *testing.T, pid int, want bool) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		running := err == nil
		if s := string(b); running {
			i := strings.LastIndexByte(s, ')')
			running = i < 0 || len(s) <= i+2 || s[i+2] != 'Z'
		}
		if running == want || time.Now().After(deadline) {
			return running
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKilledServerTakesItsBuilds kills -9 a real fwbuild-manager in the
// middle of a long build (a fake mos that starts a detached "compiler"
// and waits for it). With a PID namespace (the default for a native build
// without the sandbox) every process of the build is gone at once. Without
// one, mos dies with the server but the detached child lives on: then the
// restarted server does not build that context until the child ends,
// because the child holds the context's lock.
func TestKilledServerTakesItsBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	bin := buildManager(t)
	for _, pidns := range []bool{true, false} {
		t.Run("pidns="+strconv.FormatBool(pidns), func(t *testing.T) {
			dir := t.TempDir()
			volumes := filepath.Join(dir, "volumes")
			pids, starts, quick := filepath.Join(dir, "pids"), filepath.Join(dir, "starts"), filepath.Join(dir, "quick")
			// Host PIDs from /proc/self/stat ($$ is 1 in a namespace).
			mos := filepath.Join(dir, "mos")
			script := fmt.Sprintf(`#!/bin/sh
echo start >> %[2]s
[ -e %[3]s ] && exit 0
read -r p r < /proc/self/stat; echo "$p" >> %[1]s
setsid sh -c 'read -r p r < /proc/self/stat; echo "$p" >> %[1]s; exec sleep 1000' &
wait
`, pids, starts, quick)
			if err := os.WriteFile(mos, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			args := []string{"--volumes-dir=" + volumes, "--mos-binary=" + mos, "--build-runner=native", "--sandbox=none",
				"--build-pid-namespace=" + strconv.FormatBool(pidns)}

			first := startManager(t, bin, args...)
			go post(t, first.addr, "ci_main") // answered by nobody: the server dies
			var ps []int
			for deadline := time.Now().Add(time.Minute); len(ps) < 2; {
				if time.Now().After(deadline) {
					t.Fatalf("the build did not start:\n%s", first.log)
				}
				b, _ := os.ReadFile(pids)
				ps = ps[:0]
				for _, f := range strings.Fields(string(b)) {
					n, _ := strconv.Atoi(f)
					ps = append(ps, n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			first.cmd.Process.Signal(syscall.SIGKILL)
			first.cmd.Wait()
			mosPID, childPID := ps[0], ps[1]
			defer syscall.Kill(childPID, syscall.SIGKILL)
			if alive(t, mosPID, false) {
				t.Errorf("mos (pid %d) outlived its server", mosPID)
			}
			if pidns {
				if alive(t, childPID, false) {
					t.Errorf("the build's detached process (pid %d) outlived its server", childPID)
				}
			} else if !alive(t, childPID, true) {
				t.Fatalf("without a PID namespace the detached process should live on (pid %d)", childPID)
			}

			if err := os.WriteFile(quick, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			second := startManager(t, bin, args...)
			answered := make(chan int, 1)
			go func() {
				code, err := post(t, second.addr, "ci_main")
				if err != nil {
					t.Error(err)
				}
				answered <- code
			}()
			if !pidns {
				// The orphan holds the context: the new server waits for it
				// and builds nothing meanwhile.
				second.waitLog(t, "waiting for the context's lock file (held by another process)")
				if b, _ := os.ReadFile(starts); strings.Count(string(b), "start") != 1 {
					t.Errorf("a build started while the orphan held the context: %q", b)
				}
				syscall.Kill(childPID, syscall.SIGKILL)
			}
			if code := <-answered; code != http.StatusOK {
				t.Errorf("restarted server: %d\n%s", code, second.log)
			}
			if b, _ := os.ReadFile(starts); strings.Count(string(b), "start") != 2 {
				t.Errorf("builds started: %q, want 2", b)
			}
		})
	}
}

// Without --auth-file the server says loudly that it is open and listens
// on 127.0.0.1 only, unless --address says otherwise.
func TestOpenServerWarnsAndStaysLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	bin := buildManager(t)
	mos := filepath.Join(t.TempDir(), "mos")
	if err := os.WriteFile(mos, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, "--logtostderr", "--port="+port, "--volumes-dir="+filepath.Join(t.TempDir(), "v"),
		"--mos-binary="+mos, "--build-runner=native", "--sandbox=none")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "listening on") {
			break
		}
	}
	if !strings.Contains(log.String(), "WARNING: no --auth-file: this server accepts every request from anyone who can reach 127.0.0.1") {
		t.Errorf("no warning about an open server:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "listening on 127.0.0.1:"+port+" ") {
		t.Errorf("not listening on 127.0.0.1 only:\n%s", log.String())
	}
}
