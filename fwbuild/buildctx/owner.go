package buildctx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Namespaces: a context belongs to the namespace that first used it,
// recorded in <name>.owner beside it ("user:alice", "team:fw"), which
// outlives the context (Collect keeps it for CollectOptions.OwnerTTL), so
// evicting a context never frees its name for another namespace. The
// anonymous namespace of a server without accounts is "" and records
// nothing, so contexts of such a server are as they always were.

// Owner returns the namespace recorded for the context; "" when none is
// (a context of the anonymous namespace, or a new one).
func (c *Context) Owner() (string, error) {
	b, err := os.ReadFile(c.OwnerFile())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("context %s: reading its owner: %w", c.Name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// OwnerFile is the file recording the context's namespace.
func (c *Context) OwnerFile() string { return c.meta(".owner") }

// Claim makes sure the context belongs to namespace ns, before anything of
// it is read or changed: a context with another owner gives ErrNotOwner,
// and so does an owned one for the anonymous namespace; a new context (no
// dir, or an empty one such as NewName makes) is recorded as ns's.
//
// A context of the anonymous namespace holding files (made before the
// server had accounts) is adopted by the first named namespace that
// claims it: adopted is true, and the context is marked dirty, so its
// next Update starts it afresh from the upload and nothing of what was
// there (anyone could write it then) reaches ns's build. Crash story: the
// dirty marker is written before the owner file, so a crash between the
// two leaves it anonymous (adopted again next time) and a crash after
// leaves it ns's and dirty (started afresh by its next build).
//
// Call it with the lock held.
func (c *Context) Claim(ns string) (adopted bool, err error) {
	owner, err := c.Owner()
	if err != nil {
		return false, err
	}
	if owner != "" || ns == "" {
		if owner != ns {
			return false, fmt.Errorf("%w: %s", ErrNotOwner, c.Name)
		}
		if owner != "" {
			// The record outlives the context by CollectOptions.OwnerTTL
			// from its last use.
			now := time.Now()
			_ = os.Chtimes(c.OwnerFile(), now, now)
		}
		return false, nil
	}
	empty, err := emptyDir(c.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("context %s: %w", c.Name, err)
	case !empty:
		if err := c.markDirty("adopted by " + ns + ": made without accounts"); err != nil {
			return false, fmt.Errorf("context %s: adopting it: %w", c.Name, err)
		}
		adopted = true
	}
	if err := os.WriteFile(c.OwnerFile(), []byte(ns+"\n"), 0o644); err != nil {
		return false, fmt.Errorf("context %s: recording its owner: %w", c.Name, err)
	}
	return adopted, nil
}

// SentDirsOf returns the SentDirs of c's sibling contexts (same app,
// platform and version) that belong to c's namespace: a new context's
// client usually holds a result of one of them. Unlocked: a reader must
// expect their files to go, and check what it reads.
func (c *Context) SentDirsOf() []string {
	own, err := c.Owner()
	if err != nil {
		return nil
	}
	dir := filepath.Dir(c.Dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".sent")
		if !ok || !e.IsDir() || name == c.Name || CheckName(name) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".owner"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if strings.TrimSpace(string(b)) == own {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
