package libs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// mirror is a bare repo in the cache dir holding the branches and tags of
// one repo URL. Clones in deps dirs are made from it and fetch through it
// (url.<mirror>.insteadOf=<url>), so only the mirror talks to the network.
//
// Mirror config: branches and tags are fetched with force (a moved tag or a
// rewritten branch is followed), nothing is pruned and gc.auto is 0, so an
// object a deps clone came from never goes away; any commit it holds may be
// fetched by hash.
type mirror struct {
	p   *Provider
	url string
	dir string
	git gitRunner // with the credentials for url
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// mirrorFor returns the mirror of url: <cache>/<hash of url>-<name>.git.
func (p *Provider) mirrorFor(url string, creds [][2]string) *mirror {
	sum := sha256.Sum256([]byte(url))
	base := strings.TrimSuffix(strings.TrimRight(url, "/"), ".git")
	if i := strings.LastIndexAny(base, "/:"); i >= 0 {
		base = base[i+1:]
	}
	base = unsafeNameChars.ReplaceAllString(base, "_")
	if len(base) > 40 {
		base = base[:40]
	}
	key := hex.EncodeToString(sum[:10])
	if base != "" {
		key += "-" + base
	}
	return &mirror{
		p:   p,
		url: url,
		dir: filepath.Join(p.opts.CacheDir, key+".git"),
		git: gitRunner{bin: p.opts.Git, env: withGitConfig(p.gitEnv, creds...)},
	}
}

// ensure makes the mirror exist and hold ref (a branch, tag or hash), and
// fetches from the network when it is older than the update interval or
// lacks ref. It holds the mirror's lock while doing so.
func (m *mirror) ensure(ctx context.Context, ref string) error {
	unlock, err := lockDir(ctx, m.dir, func() { m.p.logf("waiting for another build updating %s...", m.dir) })
	if err != nil {
		return err
	}
	defer unlock()

	fi, err := os.Stat(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := m.create(ctx); err != nil {
			return fmt.Errorf("creating cache mirror %s: %w", m.dir, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	interval := m.p.opts.UpdateInterval
	stale := interval != 0 && fi.ModTime().Add(interval).Before(time.Now())
	if !stale && m.has(ctx, ref) {
		return nil
	}
	m.p.logf("updating cache mirror of %s", m.url)
	if _, err := m.git.run(ctx, m.dir, "fetch", "-q", "origin"); err != nil {
		return fmt.Errorf("updating cache mirror %s: %w", m.dir, err)
	}
	if len(ref) == 40 && isHex(ref) && !m.has(ctx, ref) {
		// A commit no branch or tag reaches; keep it under a ref of ours.
		_, _ = m.git.run(ctx, m.dir, "fetch", "-q", "origin", ref+":refs/mos/"+ref)
	}
	now := time.Now()
	return os.Chtimes(m.dir, now, now)
}

func (m *mirror) has(ctx context.Context, ref string) bool {
	if ref == "" {
		return true
	}
	_, err := m.git.run(ctx, m.dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return err == nil
}

// create clones the mirror into a temporary dir and renames it into place,
// so a crash never leaves a half-made mirror behind.
func (m *mirror) create(ctx context.Context) error {
	if err := os.MkdirAll(m.p.opts.CacheDir, 0o755); err != nil {
		return err
	}
	tmp := m.dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	m.p.logf("creating cache mirror of %s", m.url)
	if _, err := m.git.run(ctx, "", "clone", "-q", "--bare", m.url, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	for _, args := range [][]string{
		{"config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"},
		{"config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"},
		{"config", "gc.auto", "0"},
		{"config", "uploadpack.allowAnySHA1InWant", "true"},
	} {
		if _, err := m.git.run(ctx, tmp, args...); err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, m.dir); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	now := time.Now()
	return os.Chtimes(m.dir, now, now)
}
