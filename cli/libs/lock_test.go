package libs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/testenv"
)

// holdLockEnv makes the test binary a helper process that takes the lock of
// the dir it names, says "locked" on stdout and keeps the lock until its
// stdin closes.
const holdLockEnv = "LIBS_TEST_HOLD_LOCK"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdLockEnv); dir != "" {
		os.Exit(holdLock(dir))
	}
	os.Exit(m.Run())
}

func holdLock(dir string) int {
	unlock, err := lockDir(context.Background(), dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer unlock()
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func TestConcurrentFetchSameLib(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v\n"}, "src/a.c": {Content: "int a;\n"}})
	head := f.head(f.originDir("sensors"))
	const n = 4
	results := make([]manifest.Fetched, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate providers, as separate builds would have.
			p := f.provider(nil)
			results[i], errs[i] = p.Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Errorf("fetch %d: %v", i, errs[i])
			continue
		}
		if results[i].RepoVersion != head || results[i].Dir != filepath.Join(f.app, "deps", "sensors") || results[i].RepoDirty {
			t.Errorf("fetch %d: %+v", i, results[i])
		}
	}
	if got := strings.Count(f.log.String(), "cloning "); got != 1 {
		t.Errorf("cloned %d times:\n%s", got, f.log.String())
	}
	testenv.Git(t, filepath.Join(f.app, "deps", "sensors"), "fsck", "--strict")
}

// cancelOnLine is a log sink that cancels a context when a line contains
// a given text.
type cancelOnLine struct {
	mu     sync.Mutex
	text   string
	cancel context.CancelFunc
	seen   strings.Builder
}

func (c *cancelOnLine) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.Write(p)
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return len(p), nil
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	f := newFixture(t)
	url := f.origin("sensors", testenv.Tree{"mos.yml": {Content: "v\n"}})
	dir := filepath.Join(f.app, "deps", "sensors")

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), holdLockEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	// While the other process holds the lock, a fetch waits (and here gives
	// up as soon as it says it waits).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &cancelOnLine{text: "waiting for another build using " + dir, cancel: cancel}
	p := f.provider(func(o *Options) { o.Log = sink })
	_, err = p.Lib(ctx, &manifest.Dep{Location: url}, f.app, "latest", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a canceled wait; log:\n%s", err, sink.seen.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("clone dir touched while locked elsewhere: %v", err)
	}

	// Once the other process is gone the lock is free.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	got, err := f.provider(nil).Lib(context.Background(), &manifest.Dep{Location: url}, f.app, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.RepoVersion != f.head(f.originDir("sensors")) {
		t.Errorf("got %+v", got)
	}
}
