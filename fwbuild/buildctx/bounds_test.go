package buildctx

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/testenv"
)

// Over-long names are refused with a message quoting only their start.
func TestLongNamesQuoteAPrefix(t *testing.T) {
	long := strings.Repeat("b", 5000)
	err := CheckName(long)
	if !errors.Is(err, ErrBadName) || len(err.Error()) > 200 || !strings.Contains(err.Error(), "(5000 bytes) is longer than 128 bytes") {
		t.Errorf("5000-byte name: %.300v", err)
	}
	if err := CheckName(strings.Repeat("b", MaxNameLength)); err != nil {
		t.Errorf("name at the limit: %v", err)
	}
	for _, k := range []Key{
		{"2.20.0", strings.Repeat("a", 10000), "esp32"},
		{"2.20.0", strings.Repeat("a/", 5000), "esp32"},
		{"2.20.0", "hello", strings.Repeat("..", 5000)},
		{strings.Repeat("1", 5000), "hello", "esp32"},
	} {
		err := k.Check()
		if !errors.Is(err, ErrBadKey) || len(err.Error()) > 200 || !strings.Contains(err.Error(), "is longer than 128 bytes") {
			t.Errorf("%.20s/%.20s/%.20s: %.300v", k.Version, k.App, k.Platform, err)
		}
	}
	// Nothing is created for such a name.
	s := newStore(t, Options{})
	if _, err := s.Lock(context.Background(), key, long); !errors.Is(err, ErrBadName) {
		t.Errorf("Lock: %.200v", err)
	}
	if ents, _ := os.ReadDir(s.Root()); len(ents) != 0 {
		t.Errorf("volumes dir holds %v", ents)
	}
}

func TestClaimKeepsNamespacesApart(t *testing.T) {
	s := newStore(t, Options{})
	a := lock(t, s, "ci_main")
	if _, err := a.Claim("user:alice"); err != nil {
		t.Fatalf("new context: %v", err)
	}
	update(t, a, testenv.Tree{"mos.yml": {Content: "alice"}}, false)
	a.Close()

	c := lock(t, s, "ci_main")
	for _, ns := range []string{"user:bob", "team:fw", ""} {
		if _, err := c.Claim(ns); !errors.Is(err, ErrNotOwner) {
			t.Errorf("%q claims alice's context: %v, want ErrNotOwner", ns, err)
		}
	}
	if _, err := c.Claim("user:alice"); err != nil {
		t.Errorf("alice again: %v", err)
	}
	c.Close()

	// A context of the anonymous namespace (a server without accounts)
	// stays usable without accounts; the first named namespace adopts it,
	// and its next update starts it afresh.
	anon := lock(t, s, "old")
	if _, err := anon.Claim(""); err != nil {
		t.Fatal(err)
	}
	update(t, anon, testenv.Tree{"mos.yml": {Content: "anon"}, "planted.c": {Content: "x"}}, false)
	if _, err := os.Stat(anon.OwnerFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("anonymous context records an owner: %v", err)
	}
	if adopted, err := anon.Claim(""); adopted || err != nil {
		t.Errorf("anonymous again: %v %v", adopted, err)
	}
	if adopted, err := anon.Claim("user:alice"); !adopted || err != nil {
		t.Errorf("alice adopts an anonymous context with files: %v %v", adopted, err)
	}
	if owner, err := anon.Owner(); owner != "user:alice" || err != nil {
		t.Errorf("adopted: owner %q %v", owner, err)
	}
	if !anon.Dirty() {
		t.Error("adopted context is not dirty")
	}
	res := update(t, anon, testenv.Tree{"mos.yml": {Content: "alice"}}, false)
	if !res.Fresh {
		t.Errorf("adopted context synced, not started afresh: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(anon.Dir, "planted.c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file of the anonymous context reached the adopter: %v", err)
	}
	for _, ns := range []string{"", "user:bob"} {
		if _, err := anon.Claim(ns); !errors.Is(err, ErrNotOwner) {
			t.Errorf("%q claims the adopted context: %v", ns, err)
		}
	}
	if adopted, err := anon.Claim("user:alice"); adopted || err != nil {
		t.Errorf("alice again: %v %v", adopted, err)
	}
	anon.Close()

	// A dir NewName just made is new.
	name, err := s.NewName(key)
	if err != nil {
		t.Fatal(err)
	}
	n := lock(t, s, name)
	if _, err := n.Claim("team:fw"); err != nil {
		t.Errorf("fresh random context: %v", err)
	}
	if owner, err := n.Owner(); owner != "team:fw" || err != nil {
		t.Errorf("owner %q %v", owner, err)
	}
}

func TestPrepareEmptiesTmp(t *testing.T) {
	s := newStore(t, Options{})
	c := lock(t, s, "ci_main")
	update(t, c, testenv.Tree{"mos.yml": {Content: "m"}}, false)
	if err := c.Prepare([]byte("p")); err != nil {
		t.Fatal(err)
	}
	testenv.WriteTree(t, c.TempDir(), testenv.Tree{"left/by/build": {Content: "junk"}})
	if err := c.Prepare([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(c.TempDir()); err != nil || len(ents) != 0 {
		t.Errorf("tmp/ holds %v (%v)", ents, err)
	}
}

// A lock file removed while someone waits on it (Collect removes a
// context with its lock file) is locked anew at its path, not on the
// removed inode, so two holders never think they hold one context.
func TestLockAfterTheLockFileWasRemoved(t *testing.T) {
	waits := make(chan string, 1)
	s := newStore(t, Options{OnLockWait: func(k Key, name string) { waits <- name }, LockPoll: time.Millisecond})
	path := filepath.Join(s.ContextsDir(key), "ci_main.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	held, ok, err := tryLockFile(path)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	got := make(chan *Context)
	go func() {
		c, err := s.Lock(context.Background(), key, "ci_main")
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	<-waits
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	held.unlock()
	c := <-got
	if c == nil {
		t.FailNow()
	}
	defer c.Close()
	named, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("no lock file at the path: %v", err)
	}
	if f := c.LockFile(); f != nil {
		fi, _ := f.Stat()
		if !os.SameFile(fi, named) {
			t.Error("the lock held is not the file at the path")
		}
	}
	// Someone else now waits on the new file.
	if _, ok, _ := tryLockFile(path); ok {
		t.Error("a second holder locked the context")
	}
}

// The lock lives in the open file: a process that inherited it keeps the
// context locked after its parent dropped the file without unlocking (as
// a killed server does).
func TestInheritedLockOutlivesItsParent(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("locks are not inherited on Windows")
	}
	s := newStore(t, Options{})
	c, err := s.Lock(context.Background(), key, "ci_main")
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "1000")
	child.ExtraFiles = []*os.File{c.LockFile()}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	c.LockFile().Close() // dropped without LOCK_UN, as at a crash
	if _, ok, err := tryLockFile(c.LockPath()); ok || err != nil {
		t.Fatalf("context lockable while a process holding its lock lives (%v)", err)
	}
	child.Process.Kill()
	child.Wait()
	l, ok, err := tryLockFile(c.LockPath())
	if !ok || err != nil {
		t.Fatalf("context still locked after the holder died: %v", err)
	}
	l.unlock()
}

// setLastUse sets the time a context was last used.
func setLastUse(t *testing.T, s *Store, name string, at time.Time) {
	t.Helper()
	p := filepath.Join(s.ContextsDir(key), name+".lock")
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestCollect(t *testing.T) {
	s := newStore(t, Options{})
	now := time.Now()
	big := strings.Repeat("x", 10000)
	ages := map[string]time.Duration{"old": 48 * time.Hour, "older": 72 * time.Hour, "mid": 3 * time.Hour, "new": time.Minute, "busy": 96 * time.Hour}
	for name := range ages {
		c := lock(t, s, name)
		if _, err := c.Claim("user:alice"); err != nil {
			t.Fatal(err)
		}
		update(t, c, testenv.Tree{"mos.yml": {Content: "m"}, "big.bin": {Content: big}}, false)
		c.Close()
		setLastUse(t, s, name, now.Add(-ages[name]))
	}
	busy := lock(t, s, "busy") // building: never removed

	names := func() []string {
		infos, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ci := range infos {
			out = append(out, ci.Name)
			if ci.Size < 10000 || ci.Size > 12000 {
				t.Errorf("%s: size %d", ci.Name, ci.Size)
			}
		}
		sort.Strings(out)
		return out
	}
	if got := strings.Join(names(), ","); got != "busy,mid,new,old,older" {
		t.Fatalf("contexts %s", got)
	}

	// By age: the two over a day go; the busy one stays.
	st, err := s.Collect(CollectOptions{TTL: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(st.Removed)
	if strings.Join(st.Removed, ",") != "2.20.0/hello/esp32/old,2.20.0/hello/esp32/older" || st.Skipped != 1 {
		t.Errorf("removed %v, skipped %d", st.Removed, st.Skipped)
	}
	if got := strings.Join(names(), ","); got != "busy,mid,new" {
		t.Errorf("left %s", got)
	}
	for _, suf := range append([]string{""}, metaSuffixes...) {
		_, err := os.Lstat(filepath.Join(s.ContextsDir(key), "old"+suf))
		if suf == ownerSuffix {
			if err != nil {
				t.Errorf("old's owner record was removed with it: %v", err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("old%s left: %v", suf, err)
		}
	}

	// By size: the least recently used free one goes first ("mid"), and
	// that is enough to fit.
	st, err = s.Collect(CollectOptions{MaxSize: 2*st.Remaining/3 + 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Removed, ",") != "2.20.0/hello/esp32/mid" || st.Skipped != 1 {
		t.Errorf("removed %v, skipped %d", st.Removed, st.Skipped)
	}
	if got := strings.Join(names(), ","); got != "busy,new" {
		t.Errorf("left %s", got)
	}
	busy.Close()

	// A removed name stays its owner's until OwnerTTL after its last use.
	c := lock(t, s, "old")
	if _, err := c.Claim("user:bob"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("bob takes the removed name: %v", err)
	}
	c.Close()
	// bob's refused try left a lock file: a context with nothing in it,
	// collected as any other.
	if _, err := s.Collect(CollectOptions{TTL: time.Hour, Now: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(s.ContextsDir(key), "old"+ownerSuffix), now.Add(-48*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err = s.Collect(CollectOptions{OwnerTTL: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.OwnersExpired) != 1 || !strings.HasSuffix(st.OwnersExpired[0], "old") {
		t.Errorf("owner records dropped: %v, want old's", st.OwnersExpired)
	}
	// Then it is a new context again, for anyone.
	c = lock(t, s, "old")
	if _, err := c.Claim("user:bob"); err != nil {
		t.Errorf("bob takes the removed name after its owner record expired: %v", err)
	}
	res := update(t, c, testenv.Tree{"mos.yml": {Content: "bob"}}, false)
	if !res.Fresh || res.Why != "new context" {
		t.Errorf("update %+v", res)
	}
}

// A context used after Collect listed it is not removed.
func TestCollectSparesAContextUsedMeanwhile(t *testing.T) {
	s := newStore(t, Options{})
	c := lock(t, s, "ci_main")
	update(t, c, testenv.Tree{"mos.yml": {Content: "m"}}, false)
	c.Close()
	past := time.Now().Add(-time.Hour)
	setLastUse(t, s, "ci_main", past)
	infos, err := s.List()
	if err != nil || len(infos) != 1 {
		t.Fatal(infos, err)
	}
	c = lock(t, s, "ci_main")
	if err := c.Use(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if removed, err := s.remove(infos[0]); removed || err != nil {
		t.Errorf("removed %v (%v) a context used after it was listed", removed, err)
	}
}
