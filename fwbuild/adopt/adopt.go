// Package adopt decides where a build's context comes from when the build
// brings none that exists: a stock client (which deletes build/ and so
// never names its context), our client's first build of a new
// --build-context, a new checkout.
//
//   - A stock client's line of builds (one account, one app and platform,
//     no build_ctx sent, a whole-zip upload) goes back to the context it
//     used last (Lines), so its rebuild compiles what changed.
//   - Any other new context starts as a copy of the nearest context of the
//     same app and platform in the same namespace (Seed): the one whose
//     index shares the most files (path, content and mode) with the upload.
//     The copy keeps every mtime, so make sees its objects as they were;
//     the exact sync of the upload then touches only what differs. A
//     context being built is never copied (it is locked; the next nearest
//     is tried), nor one not trusted (an unfinished or dirty one).
//
// Namespaces never mix: a context of another account is never a source,
// nor a line's target.
package adopt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
)

// MinShare is the least share of the upload's files a context must hold
// alike to be worth copying.
const MinShare = 0.5

// maxTries bounds the candidates tried when the nearest ones are busy.
const maxTries = 3

// Seeded says what Seed did.
type Seeded struct {
	From   string // the context copied ("" when none)
	Shared int    // upload files the source held alike
	Files  int    // files copied (sources, fetched libs, objects)
}

// Seed makes the new, locked context c a copy of the nearest trusted
// context of its key whose owner allowed accepts, for the upload list.
// With no context near enough (or all busy) it does nothing.
func Seed(store *buildctx.Store, c *buildctx.Context, allowed func(owner string) bool, list []filetree.Entry) (Seeded, error) {
	if !c.IsNew() {
		return Seeded{}, nil
	}
	names, err := store.Names(c.Key)
	if err != nil {
		return Seeded{}, err
	}
	want := make(map[string]filetree.Entry, len(list))
	for _, e := range list {
		want[e.Path] = e
	}
	type cand struct {
		name   string
		shared int
	}
	var cands []cand
	dir := store.ContextsDir(c.Key)
	for _, n := range names {
		// The owner record read without the lock rules candidates out
		// early; it is checked again under the lock below.
		if n == c.Name || !allowed(buildctx.ContextInfo{Dir: filepath.Join(dir, n)}.Owner()) {
			continue
		}
		idx, err := filetree.ReadIndex(filepath.Join(dir, n+".index.json"))
		if err != nil {
			continue
		}
		shared := 0
		for _, e := range idx {
			if w, ok := want[e.Path]; ok && w.SHA256 == e.SHA256 && w.Mode == e.Mode {
				shared++
			}
		}
		if float64(shared) >= MinShare*float64(len(list)) && shared > 0 {
			cands = append(cands, cand{n, shared})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].shared > cands[j].shared })
	for i, cd := range cands {
		if i == maxTries {
			break
		}
		src, ok, err := store.TryLock(c.Key, cd.name)
		if err != nil || !ok {
			continue // being built: never copied while it changes
		}
		owner, oerr := src.Owner()
		trusted, why := src.Trusted()
		if oerr != nil || !allowed(owner) || !trusted {
			glog.V(1).Infof("adopt: %s not copied into %s: %s", cd.name, c.Name, why)
			src.Close()
			continue
		}
		files, err := c.CopyFrom(src)
		src.Close()
		if err != nil {
			return Seeded{}, fmt.Errorf("starting context %s from %s: %w", c.Name, cd.name, err)
		}
		return Seeded{From: cd.name, Shared: cd.shared, Files: files}, nil
	}
	return Seeded{}, nil
}

// Lines remembers, per namespace, app and platform, the context a stock
// client's line of builds used last, in <contexts dir>/.lines/.
type Lines struct {
	Store *buildctx.Store
}

func (l Lines) path(key buildctx.Key, ns string) string {
	sum := sha256.Sum256([]byte(ns))
	return filepath.Join(l.Store.ContextsDir(key), ".lines", hex.EncodeToString(sum[:8]))
}

// Last returns the context the line of ns used last, or "" when there is
// none (or the record is unreadable).
func (l Lines) Last(key buildctx.Key, ns string) string {
	b, err := os.ReadFile(l.path(key, ns))
	if err != nil {
		return ""
	}
	ns2, name, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if !ok || ns2 != ns || buildctx.CheckName(name) != nil {
		return ""
	}
	return name
}

// Record makes name the context of the line of ns.
func (l Lines) Record(key buildctx.Key, ns, name string) error {
	p := l.path(key, ns)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(ns+"\n"+name+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("recording the build line of %s: %w", ns, err)
	}
	return nil
}

// Exists reports whether a context dir of that name is there.
func Exists(store *buildctx.Store, key buildctx.Key, name string) bool {
	_, err := os.Stat(filepath.Join(store.ContextsDir(key), name))
	return !errors.Is(err, fs.ErrNotExist)
}
