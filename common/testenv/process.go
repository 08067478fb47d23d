package testenv

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ProcessGone reports whether pid no longer runs (no such process, or a
// zombie left for a reaper that is not this process). A process sent
// SIGKILL takes a moment to die on a busy machine: it is given up to 10
// seconds. The test is skipped where /proc cannot be read.
func ProcessGone(t testing.TB, pid int) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) {
			return true
		}
		if err != nil {
			t.Skipf("cannot read /proc: %v", err)
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 && s[i+2] == 'Z' {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
