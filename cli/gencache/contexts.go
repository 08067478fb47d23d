package gencache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// contextsFile holds the NAME -> server context map.
const contextsFile = "contexts.json"

// NameKey names one client-side context: the server, the app (its name
// from mos.yml, so two checkouts of one app share it), the platform and
// the --build-context NAME.
type NameKey struct {
	Server   string `json:"server"`
	App      string `json:"app"`
	Platform string `json:"platform"`
	Name     string `json:"name"`
}

// contextEntry is one record of contexts.json.
type contextEntry struct {
	NameKey
	Context string    `json:"context"` // the server's name for it
	Updated time.Time `json:"updated"`
}

type contextsDoc struct {
	Contexts []contextEntry `json:"contexts"`
}

func (c *Cache) contextsPath() string { return filepath.Join(c.root, contextsFile) }

// readContexts reads the map; a missing file is an empty map.
func (c *Cache) readContexts() (*contextsDoc, error) {
	doc := &contextsDoc{}
	data, err := os.ReadFile(c.contextsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the context map: %w", err)
	}
	if err := json.Unmarshal(data, doc); err != nil {
		return nil, fmt.Errorf("reading the context map %s: %w", c.contextsPath(), err)
	}
	return doc, nil
}

// LookupContext returns the server context recorded for k.
func (c *Cache) LookupContext(k NameKey) (string, bool, error) {
	if _, err := os.Stat(c.contextsPath()); errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	unlock, err := lock(c.contextsPath()+".lock", true)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	doc, err := c.readContexts()
	if err != nil {
		return "", false, err
	}
	for _, e := range doc.Contexts {
		if e.NameKey == k {
			return e.Context, true, nil
		}
	}
	return "", false, nil
}

// RecordContext records that k is the server context serverCtx.
func (c *Cache) RecordContext(k NameKey, serverCtx string) error {
	return c.updateContexts(func(doc *contextsDoc) {
		for i := range doc.Contexts {
			if doc.Contexts[i].NameKey == k {
				doc.Contexts[i].Context = serverCtx
				doc.Contexts[i].Updated = time.Now().UTC()
				return
			}
		}
		doc.Contexts = append(doc.Contexts, contextEntry{NameKey: k, Context: serverCtx, Updated: time.Now().UTC()})
	})
}

// ForgetContext removes the record of k, if any.
func (c *Cache) ForgetContext(k NameKey) error {
	if _, err := os.Stat(c.contextsPath()); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return c.updateContexts(func(doc *contextsDoc) {
		kept := doc.Contexts[:0]
		for _, e := range doc.Contexts {
			if e.NameKey != k {
				kept = append(kept, e)
			}
		}
		doc.Contexts = kept
	})
}

// updateContexts applies change to the map under its exclusive lock and
// writes it back atomically.
func (c *Cache) updateContexts(change func(*contextsDoc)) error {
	path := c.contextsPath()
	unlock, err := lock(path+".lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	doc, err := c.readContexts()
	if err != nil {
		return err
	}
	change(doc)
	sort.Slice(doc.Contexts, func(i, j int) bool {
		a, b := doc.Contexts[i], doc.Contexts[j]
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		if a.App != b.App {
			return a.App < b.App
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		return a.Name < b.Name
	})
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), contextsFile+".tmp-")
	if err != nil {
		return fmt.Errorf("writing the context map: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the context map %s: %w", path, err)
	}
	return nil
}
