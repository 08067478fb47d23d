package buildctx

import (
	"os"
	"path/filepath"
	"testing"
)

// A context's patch bases may come from its siblings' kept results, but
// only from those of its own namespace.
func TestSentDirsOfOwnNamespace(t *testing.T) {
	s := newStore(t, Options{})
	claim := func(name, ns string) *Context {
		c := lock(t, s, name)
		if _, err := c.Claim(ns); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.MkdirAll(c.SentDir(), 0o755); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, ns := range map[string]string{"alice_a": "user:alice", "alice_b": "user:alice", "bob_a": "user:bob"} {
		claim(name, ns).Close()
	}
	c := claim("alice_new", "user:alice")
	defer c.Close()
	got := c.SentDirsOf()
	want := map[string]bool{filepath.Join(filepath.Dir(c.Dir), "alice_a.sent"): true, filepath.Join(filepath.Dir(c.Dir), "alice_b.sent"): true}
	if len(got) != len(want) || !want[got[0]] || !want[got[1]] {
		t.Errorf("sibling sent dirs %v, want alice's other two", got)
	}
}
