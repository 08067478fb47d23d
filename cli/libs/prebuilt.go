package libs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest"
)

const (
	assetAPIGitHub = "github"
	assetAPIGitLab = "gitlab"

	maxAssetSize   = 512 << 20 // a lib archive; more is not a lib
	maxReleaseMeta = 16 << 20
	githubAttempts = 3
)

// errNoAsset: the release answered and has no such asset, or there is no
// such release. A tombstone records it.
var errNoAsset = errors.New("no such release asset")

// HTTPStatusError is an unexpected answer of a release server.
type HTTPStatusError struct {
	URL  string
	Code int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP status %d", e.URL, e.Code)
}

// PrebuiltLib implements manifest.Provider: the path of the prebuilt binary
// of lib ref for variant at version (a release tag, "latest" included), or
// "" with a nil error when there is none. The binary is cached as
// <BinaryLibsDir>/lib<name>-<variant>-<version>.a; a cached "latest" one is
// fetched again once older than the update interval. An empty file records
// that the variant does not exist. Other failures (network, server, a
// location without releases) return an error: callers treat it as "no
// binary" for this variant and may report it.
func (p *Provider) PrebuiltLib(ctx context.Context, ref *manifest.Dep, variant, version string) (string, error) {
	loc := refLocation(ref)
	name, err := location.LibName(ref.Name, ref.Type, loc)
	if err != nil {
		return "", fmt.Errorf("lib %q: %w", loc, err)
	}
	file := filepath.Join(p.opts.BinaryLibsDir, fmt.Sprintf("lib%s-%s-%s.a", name, variant, version))
	if fi, err := os.Stat(file); err == nil {
		interval := p.opts.UpdateInterval
		if version != "latest" || interval == 0 || fi.ModTime().Add(interval).After(time.Now()) {
			if fi.Size() == 0 {
				return "", nil
			}
			p.logf("%s: using prebuilt binary %s", name, file)
			return file, nil
		}
	}

	what := fmt.Sprintf("prebuilt binary of lib %q (%s, %s)", name, variant, version)
	tmp, err := p.fetchAsset(ctx, name, ref, loc, variant, version)
	if errors.Is(err, errNoAsset) {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if tmp == "" {
		return "", nil
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("%s: %w", what, err)
	}
	p.logf("%s: fetched prebuilt binary %s", name, file)
	return file, nil
}

// fetchAsset downloads release asset lib<location name>-<variant>.a at tag
// into a temp file in the binary libs dir and returns its path. "" with a
// nil error: nothing found, but not definitively (no tombstone).
func (p *Provider) fetchAsset(ctx context.Context, name string, ref *manifest.Dep, loc, variant, tag string) (string, error) {
	l, err := location.Parse(ref.Type, loc)
	if err != nil {
		return "", err
	}
	if l.Kind != location.Git {
		return "", fmt.Errorf("%s is not a git location, it has no releases", loc)
	}
	asset := fmt.Sprintf("lib%s-%s.a", l.Name, variant)
	api := ref.AssetAPI
	if api == "" {
		switch {
		case strings.Contains(loc, "github"):
			api = assetAPIGitHub
		case strings.Contains(loc, "gitlab"):
			api = assetAPIGitLab
		default:
			return "", fmt.Errorf("asset_api is not set and cannot be guessed from %s", loc)
		}
	}
	token := ""
	if c := credentialsFor(p.opts.Credentials, l.Host); c != nil {
		token = c.Pass
	}
	if err := os.MkdirAll(p.opts.BinaryLibsDir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(p.opts.BinaryLibsDir, ".lib"+name+"-*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()

	switch api {
	case assetAPIGitHub:
		for i := 1; ; i++ {
			err = p.githubAsset(ctx, l, loc, tag, asset, token, tmp)
			if err == nil || !retryable(err) || i == githubAttempts || ctx.Err() != nil {
				break
			}
			p.logf("%s: downloading %s failed (attempt %d of %d): %v", name, asset, i, githubAttempts, err)
			if d := p.opts.AssetRetryDelay; d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
	case assetAPIGitLab:
		err = p.gitlabAsset(ctx, l, tag, asset, token, tmp)
	default:
		err = fmt.Errorf("unknown asset_api %q (want %s or %s)", api, assetAPIGitHub, assetAPIGitLab)
	}
	var se *HTTPStatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		if token != "" {
			// Authorized and still not there: it does not exist.
			err = fmt.Errorf("%w: %v", errNoAsset, err)
		} else {
			// Private repos answer 404 too; do not record absence.
			p.logf("%s: no prebuilt binary %s at %s (%v; a private repo needs --credentials)", name, asset, tag, err)
			err, tmp = nil, removeTemp(tmp)
		}
	}
	if err != nil {
		removeTemp(tmp)
		return "", err
	}
	return tmp, nil
}

func removeTemp(tmp string) string {
	if tmp != "" {
		_ = os.Remove(tmp)
	}
	return ""
}

// retryable: a network failure, rate limit or server error.
func retryable(err error) bool {
	var se *HTTPStatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests
	}
	return !errors.Is(err, errNoAsset)
}

// githubAsset fetches an asset of a GitHub (or GitHub Enterprise) release:
// for https://github.com/ locations the public download URL first, then
// the release found through the API.
func (p *Provider) githubAsset(ctx context.Context, l *location.Location, loc, tag, asset, token, dst string) error {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "token "+token)
	}
	apiBase := "https://" + l.Host + "/api/v3"
	if l.Host == "github.com" {
		if strings.HasPrefix(loc, "https://") {
			public := fmt.Sprintf("%s/%s/releases/download/%s/%s",
				strings.TrimRight(p.opts.GitHubURL, "/"), l.RepoPath, url.PathEscape(tag), url.PathEscape(asset))
			if err := p.download(ctx, public, hdr, dst); err == nil {
				return nil
			}
		}
		apiBase = strings.TrimRight(p.opts.GitHubAPIURL, "/")
	}
	metaURL := fmt.Sprintf("%s/repos/%s/releases/tags/%s", apiBase, l.RepoPath, url.PathEscape(tag))
	var rel struct {
		Assets []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"assets"`
	}
	if err := p.getJSON(ctx, metaURL, hdr, &rel); err != nil {
		return err
	}
	for _, a := range rel.Assets {
		if a.Name == asset {
			return p.download(ctx, a.URL, hdr, dst)
		}
	}
	return fmt.Errorf("%w: release %s of %s has no %s", errNoAsset, tag, l.RepoPath, asset)
}

// mdLink is a markdown link [name](url).
var mdLink = regexp.MustCompile(`\[([^\]]+)\]\(([^)]+)\)`)

// gitlabAsset fetches an asset of a GitLab release: a link asset of that
// name, else a markdown link of that name in the release description.
func (p *Provider) gitlabAsset(ctx context.Context, l *location.Location, tag, asset, token, dst string) error {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("PRIVATE-TOKEN", token)
	}
	metaURL := fmt.Sprintf("https://%s/api/v4/projects/%s/releases/%s", l.Host, url.QueryEscape(l.RepoPath), url.PathEscape(tag))
	var rel struct {
		Description string `json:"description"`
		Assets      struct {
			Links []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"links"`
		} `json:"assets"`
	}
	if err := p.getJSON(ctx, metaURL, hdr, &rel); err != nil {
		return err
	}
	link := ""
	for _, a := range rel.Assets.Links {
		if a.Name == asset {
			link = a.URL
			break
		}
	}
	if link == "" {
		for _, m := range mdLink.FindAllStringSubmatch(rel.Description, -1) {
			if m[1] == asset {
				link = m[2]
				break
			}
		}
	}
	if link == "" {
		return fmt.Errorf("%w: release %s of %s has no %s", errNoAsset, tag, l.RepoPath, asset)
	}
	if strings.HasPrefix(link, "/") {
		// Uploads are linked relative to the project.
		link = "https://" + l.Host + "/" + l.RepoPath + link
	}
	return p.download(ctx, link, hdr, dst)
}

func (p *Provider) get(ctx context.Context, u string, hdr http.Header) (*http.Response, error) {
	if err := p.opts.FetchPolicy.CheckURL(ctx, u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &HTTPStatusError{URL: u, Code: resp.StatusCode}
	}
	return resp, nil
}

func (p *Provider) getJSON(ctx context.Context, u string, hdr http.Header, v any) error {
	h := hdr.Clone()
	h.Set("Accept", "application/json")
	resp, err := p.get(ctx, u, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReleaseMeta))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("GET %s: bad release info: %w", u, err)
	}
	return nil
}

// download writes the body of u into dst.
func (p *Provider) download(ctx context.Context, u string, hdr http.Header, dst string) error {
	h := hdr.Clone()
	h.Set("Accept", "application/octet-stream")
	resp, err := p.get(ctx, u, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxAssetSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if n > maxAssetSize {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxAssetSize)
	}
	if n == 0 {
		// An empty file would read as a tombstone.
		return fmt.Errorf("GET %s: empty file", u)
	}
	return nil
}
