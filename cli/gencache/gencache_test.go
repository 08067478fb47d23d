package gencache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

func key(ctx string) Key {
	return Key{Server: "http://buildsrv:8000", AppDir: "/home/u/app", Platform: "esp32", Context: ctx}
}

func TestSaveRestoreForget(t *testing.T) {
	mos := t.TempDir()
	c := New(mos)
	gen := filepath.Join(t.TempDir(), "gen")
	first := testenv.Tree{
		"build_ctx.txt":   {Content: "build_ctx_1"},
		"build_stat.json": {Content: "{}"},
		"inc/mgos_conf.h": {Content: "#define X 1\n"},
	}
	testenv.WriteTree(t, gen, first)
	if err := c.Save(key(""), gen); err != nil {
		t.Fatal(err)
	}

	// Replacing the entry drops files the new gen lacks.
	os.RemoveAll(gen)
	second := testenv.Tree{"build_ctx.txt": {Content: "build_ctx_2"}, "mos_final.yml": {Content: "name: app\n"}}
	testenv.WriteTree(t, gen, second)
	if err := c.Save(key(""), gen); err != nil {
		t.Fatal(err)
	}
	// Another context of the same app is another entry.
	other := filepath.Join(t.TempDir(), "gen")
	testenv.WriteTree(t, other, testenv.Tree{"build_ctx.txt": {Content: "ci_main"}})
	if err := c.Save(key("ci_main"), other); err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(t.TempDir(), "build", "gen")
	n, err := c.Restore(key(""), restored)
	if err != nil || n != 2 {
		t.Fatalf("Restore = %d, %v; want 2 files", n, err)
	}
	testenv.CheckTree(t, restored, second)

	// Restore adds only what is missing.
	os.Remove(filepath.Join(restored, "build_ctx.txt"))
	os.WriteFile(filepath.Join(restored, "mos_final.yml"), []byte("mine"), 0o644)
	if n, err := c.Restore(key(""), restored); err != nil || n != 1 {
		t.Fatalf("second Restore = %d, %v; want 1 file", n, err)
	}
	testenv.CheckTree(t, restored, testenv.Tree{"build_ctx.txt": {Content: "build_ctx_2"}, "mos_final.yml": {Content: "mine"}})

	if b, err := c.ReadFile(key("ci_main"), "build_ctx.txt"); err != nil || string(b) != "ci_main" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}

	// The entry has its key for humans, and nothing else is left around.
	var k Key
	data, err := os.ReadFile(filepath.Join(c.entryDir(key("")), "key.json"))
	if err != nil || json.Unmarshal(data, &k) != nil || k != key("") {
		t.Errorf("key.json = %s, %v", data, err)
	}
	ents, _ := os.ReadDir(filepath.Join(mos, DirName, "gen"))
	if len(ents) != 4 { // two entries and their lock files
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache dir holds %v; want two entries and two locks", names)
	}

	if err := c.Forget(key("")); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(key("")); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
	fresh := filepath.Join(t.TempDir(), "gen")
	if n, err := c.Restore(key(""), fresh); err != nil || n != 0 {
		t.Errorf("Restore after Forget = %d, %v", n, err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Restore of nothing created %s", fresh)
	}
	if _, err := c.ReadFile(key(""), "build_ctx.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile after Forget: %v", err)
	}
	// The other context is still there.
	if b, err := c.ReadFile(key("ci_main"), "build_ctx.txt"); err != nil || string(b) != "ci_main" {
		t.Errorf("ReadFile(ci_main) after forgetting the unnamed one = %q, %v", b, err)
	}
}

func TestSaveMissingGen(t *testing.T) {
	c := New(t.TempDir())
	err := c.Save(key(""), filepath.Join(t.TempDir(), "nope"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}

func TestContexts(t *testing.T) {
	c := New(t.TempDir())
	k := NameKey{Server: "http://buildsrv:8000", App: "demo", Platform: "esp32", Name: "ci_main"}
	if _, ok, err := c.LookupContext(k); ok || err != nil {
		t.Fatalf("empty map: ok=%v err=%v", ok, err)
	}
	if err := c.ForgetContext(k); err != nil {
		t.Errorf("forgetting in an empty map: %v", err)
	}
	if err := c.RecordContext(k, "build_ctx_1"); err != nil {
		t.Fatal(err)
	}
	k2 := k
	k2.Platform = "esp8266"
	if err := c.RecordContext(k2, "build_ctx_2"); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordContext(k, "build_ctx_3"); err != nil {
		t.Fatal(err)
	}
	for kk, want := range map[NameKey]string{k: "build_ctx_3", k2: "build_ctx_2"} {
		if got, ok, err := c.LookupContext(kk); !ok || err != nil || got != want {
			t.Errorf("LookupContext(%v) = %q, %v, %v; want %q", kk, got, ok, err, want)
		}
	}
	if err := c.ForgetContext(k); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.LookupContext(k); ok {
		t.Error("forgotten context still found")
	}
	if got, ok, _ := c.LookupContext(k2); !ok || got != "build_ctx_2" {
		t.Errorf("other context lost: %q %v", got, ok)
	}
}

func TestContextsCorrupt(t *testing.T) {
	c := New(t.TempDir())
	os.MkdirAll(c.Dir(), 0o755)
	os.WriteFile(c.contextsPath(), []byte("{not json"), 0o644)
	k := NameKey{Name: "x"}
	if _, _, err := c.LookupContext(k); err == nil {
		t.Error("want an error for a corrupt map")
	}
	if err := c.RecordContext(k, "y"); err == nil {
		t.Error("want an error recording into a corrupt map")
	}
}

// TestContextsParallel: concurrent writers (as parallel CI jobs) lose no
// record.
func TestContextsParallel(t *testing.T) {
	mos := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := New(mos) // each its own Cache, as separate processes
			errs <- c.RecordContext(NameKey{App: "demo", Name: fmt.Sprintf("job%d", i)}, fmt.Sprintf("ctx%d", i))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := New(mos)
	for i := 0; i < n; i++ {
		got, ok, err := c.LookupContext(NameKey{App: "demo", Name: fmt.Sprintf("job%d", i)})
		if !ok || err != nil || got != fmt.Sprintf("ctx%d", i) {
			t.Errorf("job%d: %q %v %v", i, got, ok, err)
		}
	}
}

// TestSaveParallel: concurrent saves of one entry leave one whole copy.
func TestSaveParallel(t *testing.T) {
	mos := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		gen := filepath.Join(t.TempDir(), "gen")
		testenv.WriteTree(t, gen, testenv.Tree{"build_ctx.txt": {Content: fmt.Sprint("ctx", i)}, "a/b.h": {Content: fmt.Sprint(i)}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- New(mos).Save(key(""), gen)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "gen")
	if _, err := New(mos).Restore(key(""), out); err != nil {
		t.Fatal(err)
	}
	tree := testenv.ReadTree(t, out)
	ctx, i := tree["build_ctx.txt"].Content, tree["a/b.h"].Content
	if len(tree) != 2 || ctx != "ctx"+i {
		t.Errorf("restored a mixed copy: %v", tree)
	}
}
