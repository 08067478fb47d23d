package manifest_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

var errNotHere = errors.New("not on this machine")

// ResolveLibs finds the libs a cond adds and the libs of libs, leaves out
// the ones the provider cannot obtain when SkipLib says so, and never asks
// for modules or prebuilt binaries.
func TestResolveLibsSkipsUnavailable(t *testing.T) {
	req, p := setup(t, testenv.Tree{
		"app/mos.yml": yml(
			"manifest_version: 2020-08-02",
			"libs:",
			"  - location: https://github.com/o/a_lib",
			"  - location: https://github.com/o/remote_only",
			"conds:",
			"  - when: mos.platform == \"esp32\"",
			"    apply:",
			"      libs: [{location: https://github.com/o/by_cond}]",
		),
		"libs/a_lib/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/b_lib}]",
			"modules: [{name: x_module, location: https://github.com/o/x}]"),
		"libs/b_lib/mos.yml":   yml("manifest_version: 2020-08-02"),
		"libs/by_cond/mos.yml": yml("manifest_version: 2020-08-02"),
	})
	p.libErr = map[string]error{"https://github.com/o/remote_only": errNotHere}
	req.SkipLib = func(err error) bool { return errors.Is(err, errNotHere) }
	res, err := manifest.ResolveLibs(context.Background(), req)
	if err != nil {
		t.Fatalf("ResolveLibs: %v", err)
	}
	var names []string
	for _, l := range res.Libs {
		names = append(names, l.Lib.Name)
	}
	sort.Strings(names)
	if want := []string{"a_lib", "b_lib", "by_cond", "core"}; !reflect.DeepEqual(names, want) {
		t.Errorf("libs %v, want %v", names, want)
	}
	var mods []string
	for _, m := range res.Modules {
		mods = append(mods, m.Name+"="+m.Location)
	}
	if want := []string{"x_module=https://github.com/o/x", "mongoose-os=" + manifest.MosModuleLocation}; !reflect.DeepEqual(mods, want) {
		t.Errorf("modules %v, want %v", mods, want)
	}
	if len(p.binCalls) != 0 {
		t.Errorf("prebuilt binaries asked for: %v", p.binCalls)
	}

	// Without SkipLib the same tree is an error naming the lib.
	req2, p2 := setup(t, testenv.Tree{
		"app/mos.yml": yml("manifest_version: 2020-08-02", "libs: [{location: https://github.com/o/remote_only}]"),
	})
	p2.libErr = map[string]error{"https://github.com/o/remote_only": errNotHere}
	var le *manifest.LibError
	if _, err := manifest.ResolveLibs(context.Background(), req2); !errors.As(err, &le) || le.Name != "remote_only" {
		t.Errorf("error %v, want a LibError for remote_only", err)
	}
}
