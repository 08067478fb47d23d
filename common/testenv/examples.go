package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Examples copies the repo's examples/hello and examples/sdk-host into a
// temp dir and returns the app dir and the SDK dir there (siblings, so the
// app's ../sdk-host references hold). Build outputs of a developer's own
// builds (build/, deps/) are not copied.
func Examples(t testing.TB) (app, sdk string) {
	t.Helper()
	root := RepoRoot(t)
	dst := t.TempDir()
	for _, name := range []string{"hello", "sdk-host"} {
		CopyDir(t, filepath.Join(root, "examples", name), filepath.Join(dst, name))
		for _, out := range []string{"build", "deps"} {
			os.RemoveAll(filepath.Join(dst, name, out))
		}
	}
	return filepath.Join(dst, "hello"), filepath.Join(dst, "sdk-host")
}

// CompiledFiles returns the sources make compiled, from the "CC <path>"
// lines of a build log: the host SDK prints them as they are, the real
// core's Makefile.build indented and with "CXX <path>" for C++.
func CompiledFiles(t testing.TB, buildLog string) []string {
	t.Helper()
	f, err := os.Open(buildLog)
	if err != nil {
		t.Fatalf("reading build log: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for _, tag := range []string{"CC ", "CXX "} {
			if rest, ok := strings.CutPrefix(line, tag); ok {
				out = append(out, strings.TrimSpace(rest))
			}
		}
	}
	return out
}
