package cas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, s *Store, content string) string {
	t.Helper()
	h := hashOf([]byte(content))
	if err := s.Put(h, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	return h
}

func read(t *testing.T, s *Store, h string) (string, error) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	if err := s.CopyTo(h, dst, 0o640); err != nil {
		return "", err
	}
	fi, _ := os.Stat(dst)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("copy has mode %v, want 0640", fi.Mode().Perm())
	}
	b, err := os.ReadFile(dst)
	return string(b), err
}

// files lists what is on disk under the store's dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	return out
}

func TestPutAndCopy(t *testing.T) {
	s, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	h := put(t, s, "hello")
	if got, err := read(t, s, h); err != nil || got != "hello" {
		t.Errorf("CopyTo = %q, %v", got, err)
	}
	if m := s.Missing([]string{h, hashOf([]byte("x")), hashOf([]byte("x"))}); len(m) != 1 || m[0] != hashOf([]byte("x")) {
		t.Errorf("Missing = %v", m)
	}
	if s.Size() != 5 {
		t.Errorf("Size = %d", s.Size())
	}
}

func TestPutRefusesWrongContent(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	h := hashOf([]byte("right"))
	for name, tc := range map[string]struct {
		content string
		size    int64
	}{
		"other content": {"wrong", 5},
		"truncated":     {"rig", 5},
		"longer":        {"right!", 5},
	} {
		err := s.Put(h, tc.size, strings.NewReader(tc.content))
		if !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: err = %v, want ErrMismatch", name, err)
		}
	}
	if err := s.Put("nothex", 1, strings.NewReader("x")); !errors.Is(err, ErrBadHash) {
		t.Errorf("bad name: err = %v", err)
	}
	if s.Has(h) || len(files(t, dir)) != 0 {
		t.Errorf("a refused blob left something behind: %v", files(t, dir))
	}
}

// failingReader fails after some bytes, as a dropped connection does.
type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestTruncatedUploadLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	content := bytes.Repeat([]byte("a"), 1000)
	err := s.Put(hashOf(content), 1000, failingReader{bytes.NewReader(content[:500])})
	if err == nil {
		t.Fatal("a failed read stored a blob")
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

func TestCorruptBlobIsDroppedNotUsed(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	h := put(t, s, "good content")
	os.WriteFile(filepath.Join(dir, h[:2], h), []byte("bad content!"), 0o644)
	if _, err := read(t, s, h); !errors.Is(err, ErrMissing) {
		t.Fatalf("CopyTo of a corrupt blob: err = %v, want ErrMissing", err)
	}
	if s.Has(h) {
		t.Error("the corrupt blob is still in the store")
	}
	if m := s.Missing([]string{h}); len(m) != 1 {
		t.Error("the corrupt blob is not reported missing")
	}
	// Sent again, it is good again.
	put(t, s, "good content")
	if got, err := read(t, s, h); err != nil || got != "good content" {
		t.Errorf("after re-put: %q, %v", got, err)
	}
}

// What a power loss leaves of a blob written without fsync (an empty
// file under its name) is found when read after a restart, and dropped.
func TestTornBlobAfterRestartIsDropped(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	h := put(t, s, "content the disk never got")
	if err := os.Truncate(filepath.Join(dir, h[:2], h), 0); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, s, h); !errors.Is(err, ErrMissing) {
		t.Fatalf("CopyTo of a torn blob: err = %v, want ErrMissing", err)
	}
	if m := s.Missing([]string{h}); len(m) != 1 {
		t.Error("the torn blob is not reported missing")
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	s, _ := Open(t.TempDir(), 30)
	a := put(t, s, strings.Repeat("a", 10))
	b := put(t, s, strings.Repeat("b", 10))
	c := put(t, s, strings.Repeat("c", 10))
	s.Missing([]string{a}) // a is used: b is now the oldest
	d := put(t, s, strings.Repeat("d", 10))
	for h, want := range map[string]bool{a: true, b: false, c: true, d: true} {
		if s.Has(h) != want {
			t.Errorf("Has(%s...) = %v, want %v", h[:6], !want, want)
		}
	}
	if s.Size() != 30 {
		t.Errorf("Size = %d, want 30", s.Size())
	}
	if st := s.Stats(); st != (Stats{Blobs: 3, Bytes: 30, Evicted: 1, EvictedBytes: 10}) {
		t.Errorf("Stats = %+v, want 3 blobs of 30 bytes, 1 evicted of 10", st)
	}
}

func TestReloadKeepsContentAndOrder(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<20)
	old := put(t, s, "old blob")
	recent := put(t, s, "recent blob")
	// Make the order visible in mtimes, as use over time does.
	t0 := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, old[:2], old), t0, t0)
	os.WriteFile(filepath.Join(dir, old[:2], tmpPrefix+"leftover"), []byte("x"), 0o600)

	s2, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Has(old) || !s2.Has(recent) || s2.Size() != int64(len("old blob")+len("recent blob")) {
		t.Fatalf("reload lost blobs: size %d", s2.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, old[:2], tmpPrefix+"leftover")); err == nil {
		t.Error("a temp file left by a crash survived the reload")
	}
	// A tighter bound on reload evicts the least recently used first.
	s3, err := Open(dir, int64(len("recent blob")))
	if err != nil {
		t.Fatal(err)
	}
	if s3.Has(old) || !s3.Has(recent) {
		t.Errorf("eviction after reload kept old=%v recent=%v", s3.Has(old), s3.Has(recent))
	}
}

func TestConcurrentPuts(t *testing.T) {
	s, _ := Open(t.TempDir(), 1<<20)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			content := fmt.Sprintf("blob %d", i%3) // the same three blobs, many times
			if err := s.Put(hashOf([]byte(content)), int64(len(content)), strings.NewReader(content)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	want := int64(3 * len("blob 0"))
	if s.Size() != want {
		t.Errorf("Size = %d, want %d (each blob counted once)", s.Size(), want)
	}
}

// Putting content the store holds checks it all the same: a success
// proves the caller had it.
func TestPutOfAHeldBlobChecksContent(t *testing.T) {
	s, _ := Open(t.TempDir(), 1<<20)
	h := put(t, s, "right")
	if err := s.Put(h, 5, strings.NewReader("wrong")); !errors.Is(err, ErrMismatch) {
		t.Errorf("other bytes under a held hash: err = %v, want ErrMismatch", err)
	}
	if err := s.Put(h, 5, strings.NewReader("right")); err != nil {
		t.Errorf("the right bytes again: %v", err)
	}
	if got, err := read(t, s, h); err != nil || got != "right" {
		t.Errorf("held blob now %q, %v", got, err)
	}
}
