package builder

import (
	"strings"
	"testing"
)

func TestArgsCcache(t *testing.T) {
	m := &Mos{Binary: "/opt/bin/mos", BuildRunner: "native", FetchAllow: "github.com", Ccache: &Ccache{Dir: "/v/ccache", MaxSize: "5G", Remote: "redis://cache.example:6379"}}
	req := Request{Dir: "/v/ctx", ParamsFile: "/v/ctx/build_params.yml", LibsCacheDir: "/v/libcache", TempDir: "/v/ctx/tmp"}
	got := strings.Join(m.Args(req), " ")
	want := "--fetch-allow github.com --ccache=/v/ccache --ccache-max-size 5G --ccache-remote redis://cache.example:6379"
	if !strings.HasSuffix(got, want) {
		t.Errorf("Args =\n %s\nwant it to end in\n %s", got, want)
	}
	m.Ccache = &Ccache{Dir: "/v/ccache"}
	m.Sandbox = &Sandbox{VolumesDir: "/v"}
	got = strings.Join(m.Args(req), " ")
	if !strings.Contains(got, "--fetch-allow github.com --ccache=/v/ccache --sandbox --sandbox-hide /v") || strings.Contains(got, "--ccache-") {
		t.Errorf("Args without size and remote =\n %s", got)
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
