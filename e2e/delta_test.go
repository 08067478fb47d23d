package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/testenv"
)

// Delta transfer against our server: only what changed goes up, only what
// differs comes down, and build/ ends as a full download leaves it.
func TestDeltaTransfer(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	args := []string{"--repo", "../sdk-host", "--build-context", "delta_ctx", "--verbose"}
	cold := e.build(app, args...)
	e.wantCompiled("cold", cold, full)
	unchanged := e.build(app, args...)
	e.wantCompiled("unchanged", unchanged, 0)
	if !strings.Contains(unchanged.Output, "Uploading 0 of ") {
		t.Errorf("an unchanged tree uploaded contents:\n%s", unchanged.Output)
	}
	appendTo(t, filepath.Join(app, "src", "hello.c"), "/* edited */\n")
	one := e.build(app, args...)
	e.wantCompiled("one file edited", one, 1)
	if !strings.Contains(one.Output, "Uploading 1 of ") {
		t.Errorf("a one-file change did not upload exactly one content:\n%s", one.Output)
	}

	// The same change as a stock upload, for scale.
	appendTo(t, filepath.Join(app, "src", "hello.c"), "/* again */\n")
	stock := e.build(app, append(args, "--no-delta")...)
	e.wantCompiled("one file edited, full upload", stock, 1)
	if one.BytesUp*3 > stock.BytesUp || unchanged.BytesDown*3 > stock.BytesDown {
		t.Errorf("delta moved up %d / down %d bytes (unchanged: down %d), a full upload %d / %d",
			one.BytesUp, one.BytesDown, unchanged.BytesDown, stock.BytesUp, stock.BytesDown)
	}
	// The firmware zip is written three times (fw.zip, and in fw/ the
	// -last.zip and the versioned one) and stored uncompressed; a full
	// download carries all three, a delta one.
	fw, err := os.Stat(filepath.Join(app, "build", "fw.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if stock.BytesDown < 3*fw.Size() || one.BytesDown >= 2*fw.Size() {
		t.Errorf("downloaded %d bytes by delta, %d in full: the %d-byte firmware zip should come three times in full, once by delta",
			one.BytesDown, stock.BytesDown, fw.Size())
	}
	t.Logf("one-file change: delta up %d down %d; full up %d down %d; fw.zip %d", one.BytesUp, one.BytesDown, stock.BytesUp, stock.BytesDown, fw.Size())

	// After a delta build, build/ holds exactly what the server's result is.
	appendTo(t, filepath.Join(app, "src", "hello.c"), "/* and again */\n")
	os.WriteFile(filepath.Join(app, "build", "gen", "stale.h"), []byte("gone after the build"), 0o644)
	e.wantCompiled("delta after a full upload", e.build(app, args...), 1)
	ctxBuild := filepath.Join(e.work, "volumes", "2.20.0", "apps", "hello", "host", "build_contexts", "delta_ctx", "build")
	want := testenv.Tree{}
	for p, f := range testenv.ReadTree(t, ctxBuild) {
		if archive.ResultFilter("build/"+p, false) {
			want[p] = testenv.File{Content: f.Content}
		}
	}
	got := testenv.ReadTree(t, filepath.Join(app, "build"))
	// The client's own files: its log, and its build_stat.json written
	// over the server's (as stock does).
	delete(got, "build.local.log")
	delete(want, "gen/build_stat.json")
	if _, ok := got["gen/build_stat.json"]; !ok {
		t.Error("no build/gen/build_stat.json")
	}
	delete(got, "gen/build_stat.json")
	for p := range got {
		f := got[p]
		f.Mode = 0
		got[p] = f
	}
	if len(got) != len(want) {
		t.Errorf("client build/ has %d files, the server's result %d", len(got), len(want))
	}
	for p, w := range want {
		if got[p].Content != w.Content {
			t.Errorf("build/%s differs from the server's", p)
		}
	}
	if _, ok := got["gen/stale.h"]; ok {
		t.Error("a file the result does not hold survived the delta")
	}
	caches, _ := filepath.Glob(filepath.Join(e.work, "mos-home", "remote-cache", "hashes-*.json"))
	if len(caches) != 1 {
		t.Fatalf("hash caches %v, want one for the app", caches)
	}
	// It holds the build dir's files too (the firmware is the largest), so
	// the next build's listing of build/ does not read them again.
	b, err := os.ReadFile(caches[0])
	if err != nil {
		t.Fatal(err)
	}
	fwZip, _ := json.Marshal(filepath.Join(app, "build", "fw.zip"))
	if !bytes.Contains(b, fwZip) {
		t.Errorf("the hash cache has no entry for build/fw.zip")
	}
}

// Listings go as changes against the ones the server kept: an unchanged
// build sends far fewer bytes than with whole listings, and a base the
// server does not have (lost, another server) costs whole listings, never
// a wrong build.
func TestListingsAgainstKeptBase(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	args := []string{"--repo", "../sdk-host", "--verbose"}
	e.wantCompiled("cold", e.build(app, args...), full)
	kept, _ := filepath.Glob(filepath.Join(e.work, "mos-home", "remote-cache", "listings-*.json"))
	if len(kept) != 1 {
		t.Fatalf("kept listings %v, want one file", kept)
	}
	withBase := e.build(app, args...)
	e.wantCompiled("unchanged, against the base", withBase, 0)

	if err := os.Remove(kept[0]); err != nil {
		t.Fatal(err)
	}
	whole := e.build(app, args...)
	e.wantCompiled("unchanged, whole listings", whole, 0)
	if withBase.BytesUp >= whole.BytesUp {
		t.Errorf("against the base %d bytes went up, with whole listings %d", withBase.BytesUp, whole.BytesUp)
	}
	t.Logf("unchanged build: %d bytes up against the base, %d with whole listings", withBase.BytesUp, whole.BytesUp)

	// Bases the server never kept: it asks for the whole listing and
	// answers the whole result; the build is right all the same.
	data, err := os.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := json.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"plan", "have"} {
		m, ok := k[l].(map[string]any)
		if !ok {
			t.Fatalf("kept listings hold no %s listing: %s", l, data)
		}
		m["digest"] = strings.Repeat("0", 64)
	}
	data, _ = json.Marshal(k)
	if err := os.WriteFile(kept[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	appendTo(t, filepath.Join(app, "src", "hello.c"), "/* edited */\n")
	lost := e.build(app, args...)
	e.wantCompiled("one file edited, bases unknown to the server", lost, 1)
	if _, err := os.Stat(filepath.Join(app, "build", "fw.zip")); err != nil {
		t.Errorf("no firmware after the build with unknown bases: %v", err)
	}
}

// TestDeltaResultCorrectsModes: a result file the client holds with the
// right bytes but a stale mode gets the result's mode (the delta result
// compared content only, so the stale mode stayed).
func TestDeltaResultCorrectsModes(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("modes")
	e.build(app, "--repo", "../sdk-host")
	elf := filepath.Join(app, "build", "objs", "hello.elf")
	fi, err := os.Stat(elf)
	if err != nil {
		t.Fatal(err)
	}
	want := fi.Mode().Perm()
	if want&0o111 == 0 {
		t.Fatalf("%s: mode %v after a build, want executable", elf, want)
	}
	if err := os.Chmod(elf, 0o644); err != nil {
		t.Fatal(err)
	}
	e.build(app, "--repo", "../sdk-host")
	if fi, err := os.Stat(elf); err != nil || fi.Mode().Perm() != want {
		t.Errorf("%s after an unchanged rebuild: %v %v, want mode %v", elf, fi.Mode(), err, want)
	}
}

// A one-file rebuild's answer carries the ELF and the firmware zips as
// binary patches, and build/ ends as the server's result.
func TestDeltaResultPatches(t *testing.T) {
	e := newEnv(t)
	app := e.checkout("a")
	args := []string{"--repo", "../sdk-host", "--build-context", "patch_ctx", "--verbose"}
	e.wantCompiled("cold", e.build(app, args...), full)
	appendTo(t, filepath.Join(app, "src", "hello.c"), "int edited(void) { return 1; }\n")
	one := e.build(app, args...)
	// The cold build planned; the next one put its plan in the build
	// request (a round trip less).
	log, _ := os.ReadFile(filepath.Join(e.work, "server.log"))
	if n := strings.Count(string(log), "] plan "); n != 1 {
		t.Errorf("%d plan requests for two builds, want 1 (the second inside the build request)", n)
	}
	e.wantCompiled("one file edited", one, 1)
	if !strings.Contains(one.Output, "result files came as binary patches") {
		t.Errorf("no binary patches in a one-file rebuild's answer:\n%s", one.Output)
	}
	fw, err := os.Stat(filepath.Join(app, "build", "fw.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if one.BytesDown*4 > fw.Size() {
		t.Errorf("downloaded %d bytes for a one-file change; the firmware zip alone is %d", one.BytesDown, fw.Size())
	}
	t.Logf("one-file change: down %d bytes, fw.zip %d", one.BytesDown, fw.Size())

	ctxBuild := filepath.Join(e.work, "volumes", "2.20.0", "apps", "hello", "host", "build_contexts", "patch_ctx", "build")
	got := testenv.ReadTree(t, filepath.Join(app, "build"))
	delete(got, "build.local.log")
	delete(got, "gen/build_stat.json")
	n := 0
	for p, f := range testenv.ReadTree(t, ctxBuild) {
		if !archive.ResultFilter("build/"+p, false) || p == "gen/build_stat.json" {
			continue
		}
		n++
		if got[p].Content != f.Content {
			t.Errorf("build/%s differs from the server's result", p)
		}
	}
	if len(got) != n {
		t.Errorf("client build/ has %d files, the server's result %d", len(got), n)
	}
}
