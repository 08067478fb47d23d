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
//
// A mirror serves a request only when the remote accepted that request's
// credentials (or none, for a public URL) within the update interval: the
// mirror may hold what only other credentials can read. Each accepted
// identity leaves a file in <mirror>/mos-access named by a hash of the URL
// and the header git sends (never the secret itself), whose mtime is when
// the remote last accepted it.
type mirror struct {
	p     *Provider
	url   string
	dir   string
	git   gitRunner // with the credentials for url
	ident string    // accessAnonymous or a hash of url and the credentials
}

// accessAnonymous is the identity of a request without credentials.
const accessAnonymous = "anonymous"

// accessDirName is the dir in a mirror that records accepted identities.
const accessDirName = "mos-access"

// AccessError is the remote refusing a request's credentials (or their
// absence) for a URL the cache holds: the build gets what it would get
// without a cache, nothing of the mirror.
type AccessError struct {
	URL       string
	Anonymous bool
	Err       error
}

func (e *AccessError) Error() string {
	who := "these credentials"
	if e.Anonymous {
		who = "a request without credentials"
	}
	return fmt.Sprintf("lib cache: %s refused %s (a private repo needs --credentials for its host): %v", e.URL, who, e.Err)
}

func (e *AccessError) Unwrap() error { return e.Err }

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
	ident := accessAnonymous
	if len(creds) > 0 {
		h := sha256.New()
		h.Write([]byte("mos lib cache access\x00" + url))
		for _, kv := range creds {
			h.Write([]byte("\x00" + kv[0] + "\x00" + kv[1]))
		}
		ident = hex.EncodeToString(h.Sum(nil))
	}
	return &mirror{
		p:     p,
		url:   url,
		dir:   filepath.Join(p.opts.CacheDir, key+".git"),
		git:   gitRunner{bin: p.opts.Git, env: withGitConfig(p.gitEnv, creds...)},
		ident: ident,
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
		// The clone was made with this request's credentials.
		return m.recordAccess()
	}
	if err != nil {
		return err
	}
	if err := m.checkAccess(ctx); err != nil {
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
	if err := os.Chtimes(m.dir, now, now); err != nil {
		return err
	}
	return m.recordAccess()
}

// maxAccessAge bounds how long an accepted identity is trusted whatever
// update interval a request asks for (the build params are the client's):
// a repo made private, or a token revoked, stops being served within it.
const maxAccessAge = time.Hour

// checkAccess returns nil when the remote accepted this request's identity
// within the update interval (at most maxAccessAge; interval 0, which
// never ages clones, gets maxAccessAge too), else asks the remote now with
// git ls-remote and the request's credentials (none: the URL must be
// public). A refusal is an *AccessError; nothing of the mirror has been
// used by then.
func (m *mirror) checkAccess(ctx context.Context) error {
	rec := filepath.Join(m.dir, accessDirName, m.ident)
	if fi, err := os.Stat(rec); err == nil {
		window := m.p.opts.UpdateInterval
		if window == 0 || window > maxAccessAge {
			window = maxAccessAge
		}
		if fi.ModTime().Add(window).After(time.Now()) {
			return nil
		}
	}
	m.p.logf("checking access to %s", m.url)
	if _, err := m.git.run(ctx, m.dir, "ls-remote", "-q", "origin", "HEAD"); err != nil {
		return &AccessError{URL: m.url, Anonymous: m.ident == accessAnonymous, Err: err}
	}
	return m.recordAccess()
}

// recordAccess notes that the remote just accepted this request's
// identity. A crash before the rename leaves a stray temp file and no
// record: the next request checks again.
func (m *mirror) recordAccess() error {
	dir := filepath.Join(m.dir, accessDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("recording access to %s: %w", m.url, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("recording access to %s: %w", m.url, err)
	}
	f.Close()
	if err := os.Rename(f.Name(), filepath.Join(dir, m.ident)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("recording access to %s: %w", m.url, err)
	}
	return nil
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
