//go:build unix

package faultpoint

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain doubles as the child: with FAULTPOINT_CHILD set it hits "a"
// five times, printing the count before each hit.
func TestMain(m *testing.M) {
	if os.Getenv("FAULTPOINT_CHILD") != "" {
		for i := 1; i <= 5; i++ {
			fmt.Println(i)
			Hit("b")
			Hit("a")
		}
		fmt.Println("survived")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, env ...string) (string, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "FAULTPOINT_CHILD=1")...)
	out, err := cmd.Output()
	return string(out), err
}

func TestKillsAtTheNthHit(t *testing.T) {
	out, err := child(t, EnvKill+"=a:3")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL; output %q", err, out)
	}
	if out != "1\n2\n3\n" {
		t.Errorf("output %q: want death at the third hit", out)
	}
}

func TestUnarmedAndOtherNamesDoNothing(t *testing.T) {
	for _, env := range []string{"", EnvKill + "=c:1", EnvKill + "=a:9", EnvKill + "=a:x"} {
		out, err := child(t, env)
		if err != nil || !strings.HasSuffix(out, "survived\n") {
			t.Errorf("%q: %v, %q", env, err, out)
		}
	}
}

func TestTraceCountsHits(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "trace")
	if _, err := child(t, EnvTrace+"="+tr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "a\n"); got != 5 {
		t.Errorf("trace has %d hits of a, want 5:\n%s", got, b)
	}
}
