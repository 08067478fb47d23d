//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// buildManager compiles this command into a temp dir.
func buildManager(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fwbuild-manager")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	bin := buildManager(t)
	volumes := filepath.Join(t.TempDir(), "volumes")
	fakeMos := filepath.Join(t.TempDir(), "mos")
	if err := os.WriteFile(fakeMos, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("bad flags", func(t *testing.T) {
		cases := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--port=0"}, 2, "fwbuild-manager: --port 0: must be between 1 and 65535"},
			{[]string{"--build-runner=podman", "--max-concurrent-builds=0"}, 2, "--max-concurrent-builds 0"},
			{[]string{"serve"}, 2, `fwbuild-manager: unexpected arguments ["serve"]`},
			{[]string{"--image-pull-interval=0"}, 2, "flag provided but not defined: -image-pull-interval"},
			// An open server on every interface: refused before it listens.
			{[]string{"--address=0.0.0.0", "--volumes-dir=" + volumes}, 2, `fwbuild-manager: --address "0.0.0.0" without --auth-file`},
			{[]string{"--logtostderr", "--volumes-dir=" + volumes, "--mos-binary=/nonexistent/mos"}, 1, "starting: --mos-binary /nonexistent/mos"},
		}
		for _, tc := range cases {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := exitCode(err); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("%v: exit %d (%v), stderr:\n%s\nwant exit %d with %q", tc.args, code, err, stderr.String(), tc.code, tc.want)
			}
		}
	})

	t.Run("serves until SIGTERM", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(bin, "--logtostderr", "--address=127.0.0.1", "--port="+strconv.Itoa(port),
			"--volumes-dir="+volumes, "--mos-binary="+fakeMos, "--build-runner=native")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		// Wait for the log line saying it listens, not for a time.
		var log strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on 127.0.0.1:"+strconv.Itoa(port)) {
				break
			}
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatalf("GET /: %v\n%s", err, log.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "fwbuild-manager") {
			t.Errorf("GET /: %d %q", resp.StatusCode, body)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(stderr)
		log.Write(rest)
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, log.String())
		}
		if !strings.Contains(log.String(), "shut down\n") {
			t.Errorf("no shutdown in the log:\n%s", log.String())
		}
		for _, d := range []string{"libcache", "tmp"} {
			if fi, err := os.Stat(filepath.Join(volumes, d)); err != nil || !fi.IsDir() {
				t.Errorf("%s not created: %v", d, err)
			}
		}
		if ents, _ := os.ReadDir(filepath.Join(volumes, "tmp")); len(ents) != 0 {
			t.Errorf("temp area left after shutdown: %v", ents)
		}
	})
}
