package builder

import (
	"strings"
	"testing"

	"github.com/mongoose-os/mos/fwbuild/cachepolicy"
)

func TestArgsCcache(t *testing.T) {
	m := &Mos{Binary: "/opt/bin/mos", BuildRunner: "native", FetchAllow: "github.com", Ccache: &Ccache{Dir: "/v/ccache", MaxSize: "5G", Remote: "redis://cache.example:6379"}}
	req := Request{Dir: "/v/ctx", ParamsFile: "/v/ctx/build_params.yml", LibsCacheDir: "/v/libcache", TempDir: "/v/ctx/tmp"}
	got := strings.Join(m.Args(req), " ")
	id := cachepolicy.ID("")
	want := "--fetch-allow github.com --ccache=/v/ccache/ns/" + id + " --ccache-base /v/ccache/base --ccache-namespace " + id + " --ccache-max-size 5G --ccache-remote redis://cache.example:6379"
	if !strings.HasSuffix(got, want) {
		t.Errorf("Args =\n %s\nwant it to end in\n %s", got, want)
	}
	m.Ccache = &Ccache{Dir: "/v/ccache"}
	m.Sandbox = &Sandbox{VolumesDir: "/v"}
	got = strings.Join(m.Args(req), " ")
	if !strings.Contains(got, "--ccache-namespace "+id+" --sandbox --sandbox-hide /v") || strings.Contains(got, "--ccache-max-size") || strings.Contains(got, "--ccache-remote") {
		t.Errorf("Args without size and remote =\n %s", got)
	}
}

// TestArgsCcacheNamespaces: each namespace its own cache dir and keys;
// only a trusted build writes the base.
func TestArgsCcacheNamespaces(t *testing.T) {
	m := &Mos{Binary: "/opt/bin/mos", BuildRunner: "native", Ccache: &Ccache{Dir: "/v/ccache"}}
	args := func(ns string, trusted bool) string {
		return strings.Join(m.Args(Request{Dir: "/v/ctx", CcacheNamespace: ns, CcacheTrusted: trusted}), " ")
	}
	alice, mallory, ci := args("user:alice", false), args("user:mallory", false), args("user:ci", true)
	a, mm := cachepolicy.ID("user:alice"), cachepolicy.ID("user:mallory")
	if a == mm || !strings.Contains(alice, "--ccache=/v/ccache/ns/"+a+" ") || !strings.Contains(mallory, "--ccache=/v/ccache/ns/"+mm+" ") {
		t.Errorf("alice and mallory share a cache:\n %s\n %s", alice, mallory)
	}
	if strings.Contains(alice, "--ccache-base-write") || !strings.HasSuffix(ci, "--ccache-base /v/ccache/base --ccache-namespace "+cachepolicy.ID("user:ci")+" --ccache-base-write") {
		t.Errorf("base written by the untrusted or not by the trusted:\n %s\n %s", alice, ci)
	}
}

// TestArgsNoCcache: a request with NoCcache builds without the cache the
// runner has (a verification build must not take objects from it).
func TestArgsNoCcache(t *testing.T) {
	m := &Mos{Binary: "/opt/bin/mos", BuildRunner: "native", FetchAllow: "github.com", Ccache: &Ccache{Dir: "/v/ccache", MaxSize: "5G"}}
	req := Request{Dir: "/v/ctx", ParamsFile: "/v/ctx/build_params.yml", LibsCacheDir: "/v/libcache", TempDir: "/v/ctx/tmp", NoCcache: true}
	got := strings.Join(m.Args(req), " ")
	if strings.Contains(got, "ccache") || !strings.HasSuffix(got, "--fetch-allow github.com") {
		t.Errorf("Args with NoCcache =\n %s", got)
	}
}
