package remote

import (
	"path/filepath"
	"testing"
	"time"
)

// Result patches are asked for only where they pay: until a large answer
// came fast (loopback, a fast LAN), where encoding and applying them
// costs more than the bytes they save take to cross.
func TestPatchesAskedForWhereTheyPay(t *testing.T) {
	dir := t.TempDir()
	k := &keptListings{file: filepath.Join(dir, "kept.json")}
	if !k.wantPatches() {
		t.Fatal("no download measured yet: want patches")
	}
	const big = 13 << 20
	k.noteDownload(big, 25*time.Millisecond) // 545 MB/s: loopback
	if k.wantPatches() {
		t.Errorf("after %d bytes in 25 ms: patches still asked for", big)
	}
	k.noteDownload(200<<10, 400*time.Millisecond) // too small to tell a link's rate
	if k.wantPatches() {
		t.Errorf("a 200 KiB answer changed the measured rate (%.0f B/s)", k.DownRate)
	}
	if err := k.save(); err != nil {
		t.Fatal(err)
	}
	b := &build{req: &Request{}}
	if back := b.loadKeptFile(k.file); back.wantPatches() {
		t.Errorf("the rate was not kept: loaded %+v", back)
	}
	k.noteDownload(big, 5*time.Second) // 2.7 MB/s: 20 Mbit/s
	if !k.wantPatches() {
		t.Errorf("after %d bytes in 5 s: no patches asked for", big)
	}
}
