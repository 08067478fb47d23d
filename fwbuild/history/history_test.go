package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadBounded(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := f.Load(); err != nil || len(got) != 0 {
		t.Fatalf("no file yet: %v, %v", got, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var builds []Build
	for i := 0; i < 5; i++ {
		builds = append(builds, Build{App: "hello", Context: "c" + string(rune('0'+i)), User: "alice",
			Arrived: t0.Add(time.Duration(i) * time.Minute), Ended: t0.Add(time.Duration(i)*time.Minute + 5*time.Second),
			BuildTime: 4 * time.Second, Status: 200, Steps: 140, Cached: 133, Ran: true})
	}
	if err := f.Save(builds); err != nil {
		t.Fatal(err)
	}
	// A new File (a restarted server) reads the last three back.
	g, err := Open(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got, err := g.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Context != "c2" || got[2].Context != "c4" {
		t.Fatalf("loaded %+v, want c2..c4", got)
	}
	if got[2] != builds[4] {
		t.Errorf("loaded %+v\nwant %+v", got[2], builds[4])
	}
	// Only the file itself is left, no temp file.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != FileName {
		t.Errorf("dir holds %v, want only %s", ents, FileName)
	}
}

func TestLoadRefusesForeignFiles(t *testing.T) {
	for name, content := range map[string]string{
		"not json": "{builds: [",
		"too big":  `{"builds":[]}` + strings.Repeat(" ", maxFileSize),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(dir, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got, err := f.Load(); err == nil || !strings.Contains(err.Error(), FileName) {
				t.Errorf("Load() = %v, %v; want an error naming %s", got, err, FileName)
			}
			// The next save replaces it.
			if err := f.Save([]Build{{App: "a", Status: 418}}); err != nil {
				t.Fatal(err)
			}
			if got, err := f.Load(); err != nil || len(got) != 1 || got[0].Status != 418 {
				t.Errorf("after Save: %v, %v", got, err)
			}
		})
	}
}

// A symlink planted as the history file is not followed out of the
// volumes dir.
func TestSaveStaysInDir(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "victim")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Load(); err == nil {
		t.Error("Load followed a symlink out of the dir")
	}
	if err := f.Save([]Build{{App: "a"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the file outside was changed: %q", b)
	}
}

func TestLogins(t *testing.T) {
	l := NewLogins(2)
	t0 := time.Now()
	l.Refused("alice", "10.0.0.1:5000", t0)
	l.Refused("test", "10.0.0.2:5000", t0.Add(time.Second))
	l.Refused("bob", "10.0.0.3:5000", t0.Add(2*time.Second))
	n, last := l.Snapshot()
	if n != 3 || len(last) != 2 || last[0].User != "bob" || last[1].User != "test" {
		t.Errorf("Snapshot() = %d, %+v; want 3, bob then test", n, last)
	}
}
