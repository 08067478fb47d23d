package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The committed flag references (docs/flags) are what the command tree and
// the server's flag set generate now: a flag added, renamed or reworded
// without `make docs` fails here.
func TestCommittedFlagDocsAreCurrent(t *testing.T) {
	committed := filepath.Join("..", "..", "docs", "flags")
	fresh := t.TempDir()
	if err := generateMarkdown(fresh); err != nil {
		t.Fatal(err)
	}
	want := readDir(t, fresh)
	got := readDir(t, committed)
	if len(want) < 10 || want["mos_build.md"] == "" || !strings.Contains(want["fwbuild-manager.md"], "`--auth-file`") {
		t.Fatalf("generated %d pages, without mos_build.md or fwbuild-manager's --auth-file", len(want))
	}
	var stale []string
	for name, text := range want {
		if got[name] != text {
			stale = append(stale, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			stale = append(stale, name+" (no such command)")
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("docs/flags differs from the code in %s: run make docs and commit", strings.Join(stale, ", "))
	}
}

// The comparison notices a stale page: generating over a dir with an
// edited page and an extra one puts both right.
func TestGenerateMarkdownReplaces(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mos_build.md"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mos_gone.md"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := generateMarkdown(dir); err != nil {
		t.Fatal(err)
	}
	pages := readDir(t, dir)
	if _, ok := pages["mos_gone.md"]; ok {
		t.Error("a page of no command was left")
	}
	if !strings.Contains(pages["mos_build.md"], "--build-context") {
		t.Errorf("mos_build.md not regenerated: %q", pages["mos_build.md"])
	}
	if strings.Contains(pages["fwbuild-manager.md"], "| `--max-concurrent-builds` | `") {
		t.Error("fwbuild-manager.md prints this machine's CPU count as a default")
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = string(b)
	}
	return m
}
