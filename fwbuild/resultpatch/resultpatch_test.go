package resultpatch

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mongoose-os/mos/common/binpatch"
)

func file(t *testing.T, dir, path string, data []byte) File {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(path))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return File{Path: path, Disk: p, Size: int64(len(data)), Mode: 0o644, SHA256: binpatch.Sum(data)}
}

func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// The store keeps what the next patch starts from, within its bound,
// never a zip patched against a file of its result, and drops the rest.
func TestKeepBoundsAndDrops(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(t.TempDir(), "ctx.sent")
	elf := file(t, dir, "objs/app.elf", random(100<<10, 1))
	bin := file(t, dir, "fw/other.bin", random(60<<10, 2))
	zip := file(t, dir, "fw.zip", append([]byte("PK"), random(100<<10, 1)...))
	small := file(t, dir, "gen/small.h", []byte("small"))
	k := Open(kept, 150<<10)
	os.MkdirAll(kept, 0o755)
	os.WriteFile(filepath.Join(kept, "stale"), []byte("x"), 0o644)
	if err := k.Keep([]File{bin, elf, small, zip}, nil); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(kept)
	if len(ents) != 1 || ents[0].Name() != bin.SHA256 {
		t.Errorf("kept %v, want only the first file within 150 KiB (%s)", ents, bin.SHA256)
	}

	// Patches: the ELF against the kept version the client holds (none
	// here: it is not kept), the zip against the ELF of the result.
	cur := random(60<<10, 2)
	cur[500] ^= 1
	bin2 := file(t, dir, "fw/other.bin", cur)
	ps := k.Plan([]File{bin2, elf, zip}, map[string]bool{"fw/other.bin": true, "objs/app.elf": true, "fw.zip": true},
		map[string]string{"fw/other.bin": bin.SHA256, "objs/app.elf": "unknown"})
	if len(ps) != 2 || ps[0].Path != "fw/other.bin" || ps[0].InResult || ps[1].Path != "fw.zip" || !ps[1].InResult || ps[1].Base != "objs/app.elf" {
		t.Fatalf("patches %+v", ps)
	}
	if out, err := binpatch.Apply(random(60<<10, 2), ps[0].Data, ps[0].Size, ps[0].SHA256); err != nil || string(out) != string(cur) {
		t.Errorf("patch of fw/other.bin: %v", err)
	}
}
