package buildctx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Namespaces: a context belongs to the namespace that first used it,
// recorded in <name>.owner beside it ("user:alice", "team:fw"). The
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
// it is read or changed: a context with another owner gives ErrNotOwner
// (and so does one of the anonymous namespace holding files, for a named
// namespace); a new context (no dir, or an empty one such as NewName
// makes) is recorded as ns's. Call it with the lock held.
func (c *Context) Claim(ns string) error {
	owner, err := c.Owner()
	if err != nil {
		return err
	}
	if owner != "" || ns == "" {
		if owner != ns {
			return fmt.Errorf("%w: %s", ErrNotOwner, c.Name)
		}
		return nil
	}
	empty, err := emptyDir(c.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("context %s: %w", c.Name, err)
	case !empty:
		// Made by a server without accounts: nobody's to take.
		return fmt.Errorf("%w: %s (made without accounts)", ErrNotOwner, c.Name)
	}
	if err := os.WriteFile(c.OwnerFile(), []byte(ns+"\n"), 0o644); err != nil {
		return fmt.Errorf("context %s: recording its owner: %w", c.Name, err)
	}
	return nil
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
