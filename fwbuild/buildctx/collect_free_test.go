package buildctx

import (
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// Free disk under the floor removes the least recently used contexts
// until it is back over it, whatever their age and total size.
func TestCollectKeepsFreeDiskFloor(t *testing.T) {
	s := newStore(t, Options{})
	now := time.Now()
	big := strings.Repeat("x", 10000)
	for i, name := range []string{"a", "b", "c", "d"} {
		c := lock(t, s, name)
		update(t, c, testenv.Tree{"mos.yml": {Content: "m"}, "big.bin": {Content: big}}, false)
		c.Close()
		setLastUse(t, s, name, now.Add(-time.Duration(4-i)*time.Hour)) // a oldest
	}
	// Free disk starts half a context under the floor; each removal
	// frees one.
	const floor = 1 << 30
	free := func() int64 {
		left, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		return floor - 5000 + int64(4-len(left))*10000
	}
	st, err := s.Collect(CollectOptions{MinFree: floor, Free: free, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Removed, ",") != "2.20.0/hello/esp32/a" {
		t.Errorf("removed %v, want only the least recently used", st.Removed)
	}
	// No floor: nothing goes.
	st, err = s.Collect(CollectOptions{Now: now})
	if err != nil || len(st.Removed) != 0 {
		t.Errorf("without a floor removed %v, %v", st.Removed, err)
	}
}

// A namespace over its quota loses its own least recently used contexts;
// another's are kept, however old.
func TestCollectKeepsNamespacesInQuota(t *testing.T) {
	s := newStore(t, Options{})
	now := time.Now()
	big := strings.Repeat("x", 10000)
	for i, c := range []struct{ name, ns string }{{"bob1", "user:bob"}, {"a1", "user:alice"}, {"a2", "user:alice"}, {"a3", "user:alice"}} {
		ctx := lock(t, s, c.name)
		if _, err := ctx.Claim(c.ns); err != nil {
			t.Fatal(err)
		}
		update(t, ctx, testenv.Tree{"mos.yml": {Content: "m"}, "big.bin": {Content: big}}, false)
		ctx.Close()
		setLastUse(t, s, c.name, now.Add(-time.Duration(4-i)*time.Hour)) // bob1 oldest
	}
	st, err := s.Collect(CollectOptions{Now: now, Quota: func(ns string) int64 {
		if ns == "user:alice" {
			return 25000
		}
		return 0
	}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Removed, ",") != "2.20.0/hello/esp32/a1" {
		t.Errorf("removed %v, want alice's least recently used only", st.Removed)
	}
}
