package testenv

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCompiledFiles(t *testing.T) {
	log := filepath.Join(t.TempDir(), "build.log")
	// The host SDK's lines, then the real core's (indented, CXX for C++),
	// and lines that only look alike.
	text := "CC /app/src/main.c\n" +
		"  CC    /mongoose-os/src/mgos_init.c\n" +
		"  CXX   /mongoose-os/src/mgos_system.cpp\n" +
		"  GEN   build/gen/build_info.c\n" +
		"CCACHE_DIR=/tmp\n" +
		"Building app...\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"/app/src/main.c", "/mongoose-os/src/mgos_init.c", "/mongoose-os/src/mgos_system.cpp"}
	if got := CompiledFiles(t, log); !reflect.DeepEqual(got, want) {
		t.Errorf("CompiledFiles = %q, want %q", got, want)
	}
}
