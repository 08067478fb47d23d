//go:build !windows

package localbuild

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

func fileUID(t *testing.T, p string) string {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid))
}
