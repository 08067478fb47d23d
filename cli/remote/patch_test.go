package remote

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/binpatch"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// elfPair is an "ELF" and its next version, a few bytes apart.
func elfPair() (old, cur string) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	old = string(b)
	b[1000] ^= 1
	b[200000] ^= 1
	return old, string(b) + "relinked"
}

func mustPatch(t *testing.T, base, cur string) string {
	t.Helper()
	p, err := binpatch.Encode([]byte(base), []byte(cur))
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// A delta with patches installs what a full result would, and a patch
// that does not rebuild its file names it and changes nothing.
func TestInstallDeltaPatches(t *testing.T) {
	oldELF, newELF := elfPair()
	newZip := "PK\x03\x04 stored: " + newELF + " manifest"
	dir := filepath.Join(t.TempDir(), "build")
	os.MkdirAll(dir, 0o755)
	before := testenv.Tree{"objs/app.elf": {Content: oldELF, Mode: 0o755}, "fw.zip": {Content: "PK old"}, "build.log": {Content: "old log"}}
	testenv.WriteTree(t, dir, before)

	elfPatch := protocol.DeltaPatch{Path: "objs/app.elf", Mode: 0o755, Size: int64(len(newELF)), SHA256: binpatch.Sum([]byte(newELF)),
		Base: "objs/app.elf", BaseSHA256: binpatch.Sum([]byte(oldELF))}
	zipPatch := protocol.DeltaPatch{Path: "fw.zip", Mode: 0o644, Size: int64(len(newZip)), SHA256: binpatch.Sum([]byte(newZip)),
		Base: "objs/app.elf", BaseSHA256: elfPatch.SHA256, InResult: true}
	dl := &protocol.DeltaList{Deleted: []string{}, Patches: []protocol.DeltaPatch{elfPatch, zipPatch},
		Copies: []protocol.DeltaCopy{{Path: "fw/app-last.zip", From: "fw.zip", Mode: 0o644, SHA256: zipPatch.SHA256}}}
	files := map[string]string{
		"objs/app.elf": mustPatch(t, oldELF, newELF),
		"fw.zip":       mustPatch(t, newELF, newZip),
		"build.log":    "new log",
	}
	if n := len(files["objs/app.elf"]) + len(files["fw.zip"]); n > len(newELF)/20 {
		t.Errorf("patches take %d bytes for two files of %d", n, len(newELF))
	}

	for name, corrupt := range map[string]func(map[string]string, *protocol.DeltaList){
		"damaged patch": func(f map[string]string, _ *protocol.DeltaList) {
			b := []byte(f["objs/app.elf"])
			b[len(b)/2] ^= 0xff
			f["objs/app.elf"] = string(b)
		},
		"wrong sum": func(_ map[string]string, dl *protocol.DeltaList) { dl.Patches[0].SHA256 = sha256Hex("other") },
		"other base": func(_ map[string]string, dl *protocol.DeltaList) {
			dl.Patches[0].BaseSHA256 = sha256Hex("a base the client does not hold")
		},
		"base outside": func(_ map[string]string, dl *protocol.DeltaList) { dl.Patches[0].Base = "../../etc/passwd" },
	} {
		t.Run(name, func(t *testing.T) {
			f := map[string]string{}
			for k, v := range files {
				f[k] = v
			}
			bad := *dl
			bad.Patches = append([]protocol.DeltaPatch(nil), dl.Patches...)
			corrupt(f, &bad)
			err := installDelta(deltaZip(t, f, &bad), dir, false)
			if err == nil || !strings.Contains(err.Error(), "patch of objs/app.elf") {
				t.Fatalf("err = %v, want an error naming objs/app.elf", err)
			}
			testenv.CheckTree(t, dir, before)
		})
	}

	if err := installDelta(deltaZip(t, files, dl), dir, false); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{
		"objs/app.elf": {Content: newELF, Mode: 0o755}, "fw.zip": {Content: newZip, Mode: 0o644},
		"fw/app-last.zip": {Content: newZip, Mode: 0o644}, "build.log": {Content: "new log"},
	})
}
