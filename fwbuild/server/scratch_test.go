package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofrs/flock"
)

func TestStaleTempAreasAreRemovedAtStart(t *testing.T) {
	cfg := testConfig(t)
	tmp := filepath.Join(cfg.VolumesDir, "tmp")
	for _, p := range []string{"srv_dead/req_1/source.zip", "srv_live/req_2/source.zip", "srv_nolock/req_3/x"} {
		full := filepath.Join(tmp, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"srv_dead.lock", "srv_live.lock", "srv_gone.lock"} {
		if err := os.WriteFile(filepath.Join(tmp, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Another live server holds its area's lock.
	live := flock.New(filepath.Join(tmp, "srv_live.lock"))
	if ok, err := live.TryLock(); err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer live.Close()

	s, err := New(cfg, WithRunner(newFakeRunner()))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), filepath.Base(s.scratch.dir)) {
			got = append(got, e.Name())
		}
	}
	if strings.Join(got, ",") != "srv_live,srv_live.lock" {
		t.Errorf("after start tmp holds %v (besides the server's own area), want the live server's only", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.scratch.dir, s.scratch.dir + ".lock"} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after Close: %v", p, err)
		}
	}
}
