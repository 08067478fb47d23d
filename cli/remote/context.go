package remote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/gencache"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
)

func (b *build) cacheKey(srv serverURL, m *manifest.Manifest) gencache.Key {
	return gencache.Key{Server: srv.base, AppDir: b.appKey(), Platform: m.Platform, Context: b.req.BuildContext}
}

func (b *build) nameKey(srv serverURL, m *manifest.Manifest) gencache.NameKey {
	return gencache.NameKey{Server: srv.base, App: m.Name, Platform: m.Platform, Name: b.req.BuildContext}
}

// chooseContext decides the build_ctx to send, reading only what exists
// before the build (nothing is removed):
//
//   - with --build-context NAME: the server context the map records for
//     NAME, else NAME itself (our server uses it as is; a stock server
//     ignores it and names a new one, which afterResult records);
//   - else <gen>/build_ctx.txt, raw as stock sends it.
//
// Without --clean, a missing <gen>/build_ctx.txt first gets build/gen
// restored from the cache. With --clean the cached gen and the map entry
// are forgotten, and the old name is still sent so the server deletes
// that context instead of leaving it behind. A name the server would not
// accept is logged and not sent.
func (b *build) chooseContext(srv serverURL, m *manifest.Manifest) (string, error) {
	key, nk := b.cacheKey(srv, m), b.nameKey(srv, m)
	ctxFile := filepath.Join(b.genDir, protocol.BuildCtxFile)
	clean := b.req.Params.Clean
	_, statErr := os.Stat(ctxFile)
	missing := errors.Is(statErr, fs.ErrNotExist)

	if b.cache != nil && missing && !clean {
		if _, err := os.Stat(filepath.Dir(b.genDir)); err == nil {
			n, err := b.cache.Restore(key, b.genDir)
			switch {
			case err != nil:
				b.logf("Warning: gen cache: %v", err)
			case n > 0:
				b.logf("Restored %d files of %s from the cache %s", n, b.genDir, b.cache.Dir())
			}
		} else {
			// No build/: nothing is made before the server has answered
			// (it may not answer); the name comes from the cache.
			b.genFromCache = true
		}
	}

	var name, from string
	if b.req.BuildContext != "" {
		name, from = b.req.BuildContext, "--build-context"
		if b.cache != nil {
			mapped, ok, err := b.cache.LookupContext(nk)
			if err != nil {
				b.logf("Warning: gen cache: %v", err)
			}
			if ok {
				name, from = mapped, "--build-context "+b.req.BuildContext
			}
		}
	} else {
		data, err := os.ReadFile(ctxFile)
		from = ctxFile
		if err != nil && b.cache != nil && (clean || b.genFromCache) {
			data, err = b.cache.ReadFile(key, protocol.BuildCtxFile)
			from = "the cache " + b.cache.Dir()
		}
		if err == nil {
			name = string(data)
		}
	}

	if clean && b.cache != nil {
		if err := b.cache.Forget(key); err != nil {
			b.logf("Warning: gen cache: %v", err)
		}
		if b.req.BuildContext != "" {
			if err := b.cache.ForgetContext(nk); err != nil {
				b.logf("Warning: gen cache: %v", err)
			}
		}
	}

	if name == "" {
		if clean {
			b.logf("Clean build in a new build context")
		}
		return "", nil
	}
	if !protocol.ValidContextName(name) {
		b.logf("Ignoring build context name %q from %s: use letters, digits and _ only", name, from)
		return "", nil
	}
	b.ctxFrom = from
	if clean {
		b.logf("Clean build: build context %s (from %s) starts afresh", name, from)
	} else {
		b.logf("Using build context %s (from %s)", name, from)
	}
	return name, nil
}

// readGen reads a file of the gen dir, or of its cached copy when the
// build dir is not there yet.
func (b *build) readGen(srv serverURL, m *manifest.Manifest, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(b.genDir, name))
	if err != nil && b.genFromCache {
		return b.cache.ReadFile(b.cacheKey(srv, m), name)
	}
	return data, err
}

// afterResult updates the cache from an installed result: the NAME map
// (after 200 and 418: the server context exists either way) and, after a
// 200 only, the copy of build/gen. Cache trouble is logged, not fatal.
func (b *build) afterResult(srv serverURL, m *manifest.Manifest, res *Result, resultGen string) {
	if b.cache == nil {
		return
	}
	if b.req.BuildContext != "" && protocol.ValidContextName(res.Context) {
		if err := b.cache.RecordContext(b.nameKey(srv, m), res.Context); err != nil {
			b.logf("Warning: gen cache: %v", err)
		}
	}
	if res.Status != 200 {
		return
	}
	if _, err := os.Stat(resultGen); err != nil {
		return
	}
	if err := b.cache.Save(b.cacheKey(srv, m), resultGen); err != nil {
		b.logf("Warning: gen cache: %v", err)
	}
}

// marshalManifest writes the upload's mos.yml as stock does: yaml.v2 of
// the whole manifest.
func marshalManifest(m *manifest.Manifest) ([]byte, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return data, nil
}
