package possession

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"testing"
)

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestNamespacesApartAndKept(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	a, b := hashOf("a"), hashOf("b")
	if err := x.Add("user:alice", a); err != nil {
		t.Fatal(err)
	}
	if got := x.Lacks("user:alice", []string{a, b, a}); !reflect.DeepEqual(got, []string{b}) {
		t.Errorf("alice lacks %v, want only b", got)
	}
	if got := x.Lacks("user:bob", []string{a, b}); !reflect.DeepEqual(got, []string{a, b}) {
		t.Errorf("bob lacks %v, want both: alice's record is hers", got)
	}
	if got := x.Lacks("user:alice", []string{"not a hash"}); len(got) != 1 {
		t.Errorf("a malformed hash counts as held: %v", got)
	}
	if err := x.Add("user:alice", "zz"); err == nil {
		t.Error("a malformed hash was recorded")
	}
	// A new Index (a restart) reads the records back.
	y, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := y.Lacks("user:alice", []string{a, b}); !reflect.DeepEqual(got, []string{b}) {
		t.Errorf("after reopening alice lacks %v, want only b", got)
	}
}

func TestBounded(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, 40)
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for i := 0; i < 200; i++ {
		h := hashOf(fmt.Sprint(i))
		hs = append(hs, h)
		if err := x.Add("user:alice", h); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(x.set["user:alice"].held); n > 40 {
		t.Errorf("%d hashes held, over the bound of 40", n)
	}
	if got := x.Lacks("user:alice", hs[199:]); len(got) != 0 {
		t.Error("the most recent hash was dropped")
	}
	if got := x.Lacks("user:alice", hs[:1]); len(got) != 1 {
		t.Error("the oldest hash is still held")
	}
	fi, err := os.Stat(x.file("user:alice"))
	if err != nil || fi.Size() > 2*40*sha256.Size {
		t.Errorf("record file %v, %v: over twice the bound", fi.Size(), err)
	}
}
