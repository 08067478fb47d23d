package binpatch

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// pair is a base of n random-ish bytes and a version with a few bytes
// changed and a few inserted, as a relink after a one-line edit.
func pair(n int) (base, cur []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	base = make([]byte, n)
	for i := range base {
		base[i] = byte(r.IntN(256))
	}
	cur = append([]byte(nil), base[:n/2]...)
	cur = append(cur, []byte("a new line of code")...)
	cur = append(cur, base[n/2:]...)
	for i := 0; i < 20; i++ {
		cur[r.IntN(len(cur))] ^= 0x5a
	}
	return base, cur
}

func TestRoundTripIsSmall(t *testing.T) {
	base, cur := pair(3 << 20)
	p, err := Encode(base, cur)
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes do not compress: only the base makes the patch small.
	if len(p) > len(cur)/100 {
		t.Errorf("patch of %d bytes for a %d-byte file that differs in a few places", len(p), len(cur))
	}
	got, err := Apply(base, p, int64(len(cur)), Sum(cur))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, cur) {
		t.Fatal("decoded content differs")
	}
}

func TestWrongBaseOrSumFails(t *testing.T) {
	base, cur := pair(1 << 20)
	p, err := Encode(base, cur)
	if err != nil {
		t.Fatal(err)
	}
	other := append([]byte(nil), base...)
	other[len(other)/3] ^= 1
	if _, err := Apply(other, p, int64(len(cur)), Sum(cur)); err == nil {
		t.Error("a patch applied to another base passed its SHA-256 check")
	}
	if _, err := Apply(base, p, int64(len(cur)), Sum(base)); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("wrong stated sum: got %v", err)
	}
	if _, err := Decode(base, p, int64(len(cur))-1); err == nil {
		t.Error("a patch decoding to more than the stated size was accepted")
	}
	bad := append([]byte(nil), p...)
	bad[len(bad)/2] ^= 0xff
	if _, err := Apply(base, bad, int64(len(cur)), Sum(cur)); err == nil {
		t.Error("a corrupted patch was accepted")
	}
}
