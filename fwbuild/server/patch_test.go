package server

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mongoose-os/mos/common/binpatch"
	"github.com/mongoose-os/mos/common/protocol"
)

// patchRunner builds an "ELF" that changes in a few bytes each build and
// a firmware zip that stores it, as the real core's does.
func patchRunner() runnerFunc {
	r := rand.New(rand.NewPCG(5, 6))
	elf := make([]byte, 512<<10)
	for i := range elf {
		elf[i] = byte(r.IntN(256))
	}
	var n atomic.Int32
	return func(req builderRequest) (builderResult, error) {
		k := int(n.Add(1))
		cur := append([]byte(nil), elf...)
		cur[k*1000] ^= 0x55
		files := map[string][]byte{
			"build/build.log":     []byte("CC src/main.c\n"),
			"build/objs/app.elf":  cur,
			"build/fw.zip":        append([]byte("PK stored app.elf "), cur...),
			"build/fw/app-1.zip":  append([]byte("PK stored app.elf "), cur...),
			"build/gen/small.txt": []byte("small"),
		}
		for p, c := range files {
			full := filepath.Join(req.Dir, filepath.FromSlash(p))
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, c, 0o644); err != nil {
				return builderResult{}, err
			}
		}
		return builderResult{}, nil
	}
}

func haveOf(files map[string]string) []protocol.HaveEntry {
	var hs []protocol.HaveEntry
	for p, c := range stripBuild(files) {
		if p != protocol.DeltaListName && !strings.HasPrefix(p, ".fwbuild") {
			hs = append(hs, protocol.HaveEntry{Path: p, SHA256: sha(c)})
		}
	}
	return hs
}

// Only a client that announces patches gets them; what it rebuilds is
// the full result; a stock-shaped request gets stock's answer.
func TestResultPatches(t *testing.T) {
	cfg := testConfig(t)
	s := newServer(t, cfg, WithRunner(patchRunner()))
	app := helloApp(nil)
	ctx := field{protocol.FieldBuildCtx, "p1"}
	patchReq := func(have []protocol.HaveEntry) map[string]string {
		req := stockRequest(t, stockZip(t, app), ctx, field{protocol.FieldHave, mustJSON(t, have)})
		req.Header.Set(protocol.HeaderAcceptPatch, protocol.PatchZstd)
		return resultFiles(t, do(t, s, req))
	}
	first := patchReq([]protocol.HaveEntry{})
	var dl protocol.DeltaList
	json.Unmarshal([]byte(first[protocol.DeltaListName]), &dl)
	if len(dl.Patches) != 1 || dl.Patches[0].Path != "fw.zip" || !dl.Patches[0].InResult {
		t.Errorf("first build, client holding nothing: patches %+v, want fw.zip against the ELF", dl.Patches)
	}
	client := applyResult(t, map[string]string{}, first)

	second := patchReq(haveOf(prefixed(client)))
	dl = protocol.DeltaList{}
	json.Unmarshal([]byte(second[protocol.DeltaListName]), &dl)
	var got []string
	for _, p := range dl.Patches {
		got = append(got, p.Path)
	}
	if strings.Join(got, ",") != "objs/app.elf,fw.zip" {
		t.Fatalf("patched %v, want objs/app.elf then fw.zip", got)
	}
	if len(second["build/objs/app.elf"]) > 20<<10 || len(second["build/fw.zip"]) > 20<<10 {
		t.Errorf("patches of %d and %d bytes for a 512 KiB file changed in one byte", len(second["build/objs/app.elf"]), len(second["build/fw.zip"]))
	}
	client = applyResult(t, client, second)

	// What the client rebuilt is the build's result: the ELF the server
	// stated, the zip storing it, the files a full result has.
	if sha(client["objs/app.elf"]) != dl.Patches[0].SHA256 || client["fw.zip"] != "PK stored app.elf "+client["objs/app.elf"] {
		t.Error("the rebuilt ELF or fw.zip is not the build's")
	}
	// A stock request (no have, no announcement) gets stock's answer: no
	// delta header, no delta list, every file whole.
	stockRec := do(t, s, stockRequest(t, stockZip(t, app), ctx))
	full := stripBuild(resultFiles(t, stockRec))
	if stockRec.Header().Get(protocol.HeaderDelta) != "" || full[protocol.DeltaListName] != "" ||
		len(full["objs/app.elf"]) != 512<<10 || !strings.HasPrefix(full["fw.zip"], "PK stored app.elf ") {
		t.Errorf("stock request: delta header %q, files %v", stockRec.Header().Get(protocol.HeaderDelta), names(full))
	}
	if strings.Join(names(client), ",") != strings.Join(names(full), ",") {
		t.Errorf("client holds %v, a full result %v", names(client), names(full))
	}
	client = full

	// A delta request without the announcement: whole files, no patches.
	req := stockRequest(t, stockZip(t, app), ctx, field{protocol.FieldHave, mustJSON(t, haveOf(prefixed(client)))})
	plain := resultFiles(t, do(t, s, req))
	dl = protocol.DeltaList{}
	json.Unmarshal([]byte(plain[protocol.DeltaListName]), &dl)
	if len(dl.Patches) != 0 || strings.Contains(plain[protocol.DeltaListName], "patches") {
		t.Errorf("patches %+v sent to a client that did not ask", dl.Patches)
	}
	if len(plain["build/objs/app.elf"]) != 512<<10 {
		t.Errorf("ELF of %d bytes sent to a client that did not ask for patches", len(plain["build/objs/app.elf"]))
	}
	// A new context's first build: the client's ELF is one the first
	// context kept, so it is patched against it all the same.
	client = applyResult(t, client, patchReq(haveOf(prefixed(client))))
	req = stockRequest(t, stockZip(t, app), field{protocol.FieldBuildCtx, "p2"}, field{protocol.FieldHave, mustJSON(t, haveOf(prefixed(client)))})
	req.Header.Set(protocol.HeaderAcceptPatch, protocol.PatchZstd)
	other := resultFiles(t, do(t, s, req))
	dl = protocol.DeltaList{}
	json.Unmarshal([]byte(other[protocol.DeltaListName]), &dl)
	if len(dl.Patches) != 2 || dl.Patches[0].Path != "objs/app.elf" || dl.Patches[0].InResult {
		t.Errorf("new context: patches %+v, want the ELF against the client's", dl.Patches)
	}
	applyResult(t, client, other)

	// The server keeps the ELF's last version, not the zips.
	ents, _ := os.ReadDir(ctxDir(cfg, "esp32", "p1") + ".sent")
	if len(ents) == 0 || len(ents) > 2 {
		t.Errorf("%d kept contents, want the ELF's (and the client's previous one)", len(ents))
	}
}

func prefixed(files map[string]string) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		out["build/"+p] = c
	}
	return out
}

// applyResult applies a delta result with patches to what the client
// holds (paths relative to build/), as cli/remote does.
func applyResult(t *testing.T, have map[string]string, delta map[string]string) map[string]string {
	t.Helper()
	var dl protocol.DeltaList
	if err := json.Unmarshal([]byte(delta[protocol.DeltaListName]), &dl); err != nil {
		t.Fatalf("%s: %v", protocol.DeltaListName, err)
	}
	got := map[string]string{}
	for p, c := range have {
		got[p] = c
	}
	stage := map[string]string{}
	for name, c := range delta {
		if name != protocol.DeltaListName {
			stage[strings.TrimPrefix(name, "build/")] = c
		}
	}
	for _, p := range dl.Patches {
		base, ok := have[p.Base]
		if p.InResult {
			if b, ok2 := stage[p.Base]; ok2 {
				base, ok = b, true
			}
		}
		if !ok {
			t.Fatalf("patch of %s: no base %s", p.Path, p.Base)
		}
		out, err := binpatch.Apply([]byte(base), []byte(stage[p.Path]), p.Size, p.SHA256)
		if err != nil {
			t.Fatalf("patch of %s: %v", p.Path, err)
		}
		stage[p.Path] = string(out)
	}
	for p, c := range stage {
		got[p] = c
	}
	for _, c := range dl.Copies {
		got[c.Path] = got[c.From]
		if sha(got[c.Path]) != c.SHA256 {
			t.Fatalf("copy %s of %s: wrong content", c.Path, c.From)
		}
	}
	for _, p := range dl.Deleted {
		delete(got, p)
	}
	return got
}
