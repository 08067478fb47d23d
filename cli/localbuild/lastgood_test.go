package localbuild

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// A failed build, incremental or clean, leaves the last good build's
// fw.zip, fw/ and objs/ in place and says they are from it.
func TestFailedBuildKeepsLastGood(t *testing.T) {
	testenv.RequireTool(t, "make")
	testenv.RequireTool(t, "gcc")
	app, sdk := testenv.Examples(t)
	req := request(app, sdk)
	runBuild(t, req)
	build := filepath.Join(app, "build")
	snap := func() map[string]string {
		m := map[string]string{}
		for p, f := range testenv.ReadTree(t, build) {
			if p == "fw.zip" || strings.HasPrefix(p, "fw/") || strings.HasSuffix(p, ".elf") {
				m[p] = f.Content
			}
		}
		return m
	}
	good := snap()
	if good["fw.zip"] == "" {
		t.Fatalf("no fw.zip after the good build: %v", good)
	}
	hello := filepath.Join(app, "src", "hello.c")
	src, _ := os.ReadFile(hello)
	if err := os.WriteFile(hello, append(src, []byte("\nthis does not compile\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, clean := range []bool{false, true} {
		var buf bytes.Buffer
		req.Log = &buf
		req.Params.Clean = clean
		if _, err := Build(context.Background(), req); err == nil {
			t.Fatalf("clean=%v: the broken build succeeded", clean)
		}
		got := snap()
		for p, c := range good {
			if got[p] != c {
				t.Errorf("clean=%v: %s of the last good build is gone or changed", clean, p)
			}
		}
		if _, err := os.Stat(filepath.Join(build, "objs")); err != nil {
			t.Errorf("clean=%v: objs/: %v", clean, err)
		}
		if !strings.Contains(buf.String(), "fw.zip, fw/ and objs/ in "+build+" are from the last good build") {
			t.Errorf("clean=%v: log does not say so:\n%s", clean, buf.String())
		}
		if ents, _ := os.ReadDir(build); len(ents) > 0 {
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), lastGoodAside) {
					t.Errorf("clean=%v: %s left in build/", clean, e.Name())
				}
			}
		}
	}
	// Fixed: the next build replaces them.
	if err := os.WriteFile(hello, src, 0o644); err != nil {
		t.Fatal(err)
	}
	req.Params.Clean = false
	runBuild(t, req)
	if _, err := os.Stat(filepath.Join(build, "fw.zip")); err != nil {
		t.Error(err)
	}
}

// A build killed after setting the last good build aside: the next build
// puts back what build/ lacks and drops what it has anew.
func TestRecoverLastGood(t *testing.T) {
	build := filepath.Join(t.TempDir(), "build")
	testenv.WriteTree(t, build, testenv.Tree{
		lastGoodAside + "/fw.zip":   {Content: "old fw"},
		lastGoodAside + "/objs/a.o": {Content: "old o"},
		lastGoodAside + "/fw/x.zip": {Content: "old x"},
		"objs/a.o":                  {Content: "new o"},
		"build.log":                 {Content: "log"},
	})
	if err := recoverLastGood(build); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, build, testenv.Tree{
		"fw.zip":    {Content: "old fw"},
		"fw/x.zip":  {Content: "old x"},
		"objs/a.o":  {Content: "new o"},
		"build.log": {Content: "log"},
	})
}
