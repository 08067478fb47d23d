package cachepolicy

import (
	"path/filepath"
	"testing"
)

// TestForSeparatesNamespaces: every namespace its own dir and key
// namespace, one base for all, written only by the trusted.
func TestForSeparatesNamespaces(t *testing.T) {
	seen := map[string]string{}
	for _, ns := range []string{"", "user:alice", "user:mallory", "team:fw", "user:team:fw"} {
		b := For("/cc", ns, false)
		if other, dup := seen[b.Dir]; dup {
			t.Errorf("%q and %q share %s", ns, other, b.Dir)
		}
		seen[b.Dir] = ns
		if filepath.Dir(b.Dir) != "/cc/ns" || b.Namespace != filepath.Base(b.Dir) || b.Base != "/cc/base" || b.BaseWrite {
			t.Errorf("For(%q) = %+v", ns, b)
		}
		if For("/cc", ns, false) != b {
			t.Errorf("For(%q) changes between calls", ns)
		}
	}
	if b := For("/cc", "user:ci", true); !b.BaseWrite || b.Base != BaseDir("/cc") {
		t.Errorf("trusted: %+v", b)
	}
}
