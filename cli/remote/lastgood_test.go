package remote

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// A failed remote build leaves the last good build's fw.zip, fw/ and
// objs/ in build/, whatever the answer holds or deletes, and says so.
func TestFailedBuildKeepsLastGood(t *testing.T) {
	good := map[string]string{"build/objs/demo.elf": "good elf", "build/fw/demo-esp32-last.zip": "good fw"}
	for _, tc := range []struct {
		name string
		omit []string
		bad  map[string]string // what the failed answer carries
	}{
		{"answer without them", []string{"build/fw.zip"}, nil},
		{"answer with other ones", nil, map[string]string{"build/objs/demo.elf": "bad elf", "build/fw/demo-esp32-last.zip": "bad fw", "build/objs/x.o": "bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ts := newStockServer(t)
			srv.extra = good
			e := newEnv(t)
			first := e.build(e.req(ts.URL))
			srv.fail, srv.omit, srv.extra = true, tc.omit, tc.bad
			e.log.Reset()
			_, err := Build(context.Background(), e.req(ts.URL))
			if !errors.Is(err, ErrBuildFailed) {
				t.Fatalf("err = %v, want ErrBuildFailed", err)
			}
			got := testenv.ReadTree(t, e.buildDir())
			for p, want := range map[string]string{"fw.zip": "firmware of " + first.Context, "objs/demo.elf": "good elf", "fw/demo-esp32-last.zip": "good fw"} {
				if got[p].Content != want {
					t.Errorf("%s after the failed build: %q, want the last good %q", p, got[p].Content, want)
				}
			}
			if _, ok := got["objs/x.o"]; ok {
				t.Error("the failed answer's objs/x.o was installed")
			}
			if got["build.log"].Content != "build 2 in "+first.Context+"\n" {
				t.Errorf("build.log %q: the failed build's log is not installed", got["build.log"].Content)
			}
			msg := "fw.zip, fw/ and objs/ in " + e.buildDir() + " are from the last good build"
			if !strings.Contains(e.log.String(), msg) {
				t.Errorf("log lacks %q:\n%s", msg, e.log)
			}
		})
	}
}

// A failed build's delta answer deleting the last good build's files
// deletes nothing of them.
func TestFailedDeltaKeepsLastGood(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	testenv.WriteTree(t, dir, testenv.Tree{"fw.zip": {Content: "good"}, "objs/a.o": {Content: "o"}, "fw/x.zip": {Content: "x"}, "gen/old.h": {Content: "h"}})
	zip := resultZip(t, map[string]string{"build.log": "error"}, []string{"fw.zip", "objs/a.o", "fw/x.zip", "gen/old.h"})
	in := &installer{buildDir: dir, failed: true}
	if err := in.install(zip, true); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{"fw.zip": {Content: "good"}, "objs/a.o": {Content: "o"}, "fw/x.zip": {Content: "x"}, "build.log": {Content: "error"}})
}
