package ccachestats

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), File)
	os.WriteFile(p, []byte("# /a.c\ncache_miss\nlocal_storage_miss\n# /b.c\ndirect_cache_hit\nremote_storage_hit\n# /c.c\npreprocessed_cache_hit\n# x\ncalled_for_link\nremote_storage_error\n"), 0o644)
	st, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Hits: 2, Misses: 1, RemoteHits: 1, RemoteErrors: 1, Uncacheable: 1}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	if r := st.HitRate(); r < 0.66 || r > 0.67 {
		t.Errorf("hit rate %v", r)
	}
	if _, err := Read(filepath.Join(t.TempDir(), File)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing log: %v, want os.ErrNotExist", err)
	}
}
