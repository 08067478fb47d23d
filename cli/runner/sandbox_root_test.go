package runner

import (
	"strings"
	"testing"
)

// With a Root, make sees the context there (its real path bound too), and
// every path below the context is given to make below Root.
func TestSandboxRoot(t *testing.T) {
	s := &Sandbox{Writable: []string{"/vol/apps/a/ctx1"}, ReadOnly: []string{"/vol/libcache"}, Root: "/mos/ctx"}
	for host, want := range map[string]string{
		"/vol/apps/a/ctx1":                   "/mos/ctx",
		"/vol/apps/a/ctx1/build/gen/vars.mk": "/mos/ctx/build/gen/vars.mk",
		"/vol/apps/a/ctx10/src/x.c":          "/vol/apps/a/ctx10/src/x.c",
		"/vol/libcache/core/src/c.c":         "/vol/libcache/core/src/c.c",
	} {
		if got := s.inside(host); got != want {
			t.Errorf("inside(%s) = %s, want %s", host, got, want)
		}
	}
	args := strings.Join(s.bwrapArgs(s.inside("/vol/apps/a/ctx1"), []string{"make"}, nil), " ")
	for _, want := range []string{"--bind /vol/apps/a/ctx1 /vol/apps/a/ctx1", "--bind /vol/apps/a/ctx1 /mos/ctx", "--chdir /mos/ctx -- make"} {
		if !strings.Contains(args, want) {
			t.Errorf("bwrap args lack %q: %s", want, args)
		}
	}
	n := &Native{Sandbox: s}
	if n.Path("/vol/apps/a/ctx1/deps/modules/mongoose-os") != "/mos/ctx/deps/modules/mongoose-os" || n.MosPath("/vol/apps/a/ctx1/m") != "/mos/ctx/m" {
		t.Error("the native runner does not give make the paths below Root")
	}
	if (&Native{}).Path("/a/b") != "/a/b" {
		t.Error("without a sandbox, paths changed")
	}
}
