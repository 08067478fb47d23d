package remote

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/version"
)

// ErrNoDeltaEndpoint means the server does not offer delta uploads (a
// stock server answers the plan action 400 "wrong action"): the client
// sends the whole zip instead.
var ErrNoDeltaEndpoint = errors.New("no delta upload endpoint")

// maxDeltaRetries bounds the build requests answered 409 in a row.
const maxDeltaRetries = 2

// deltaBuild uploads through a plan: the listing first, then only the
// contents the server lacks, with the build dir's listing (have) so that
// the answer holds only what changed.
func (b *build) deltaBuild(ctx context.Context, srv serverURL, files []*upFile, fields []formField, res *Result) (*http.Response, error) {
	cache, cacheFile := b.hashCache()
	// build/ is listed while the upload is described and planned: after
	// a build, its new firmware files are the largest to hash.
	type listing struct {
		have []protocol.HaveEntry
		err  error
	}
	listed := make(chan listing, 1)
	go func() {
		have, err := haveList(b.buildDir, cache)
		listed <- listing{have, err}
	}()
	entries, byHash, err := describe(files, cache)
	kept := b.loadKept(srv)
	b.kept = kept
	var pr *protocol.PlanResponse
	// The plan goes inside the build request when the server takes it
	// there: a round trip less.
	var inline string
	if err == nil {
		var likelyMissing []string
		if inline, likelyMissing = kept.inlinePlan(entries); inline != "" {
			pr = &protocol.PlanResponse{Missing: likelyMissing}
		} else {
			pr, err = b.postPlan(ctx, srv, entries, kept, res)
		}
	}
	l := <-listed
	if err != nil {
		return nil, err
	}
	if l.err != nil {
		return nil, l.err
	}
	have := l.have
	// Saved with the build dir's hashes too: the firmware and ELF are the
	// largest files to hash.
	if cacheFile != "" {
		if err := os.MkdirAll(filepath.Dir(cacheFile), 0o755); err == nil {
			if err := cache.Save(cacheFile); err != nil {
				b.logf("Warning: %v", err)
			}
		}
	}
	res.Delta = true
	viaInline := inline != ""
	for attempt := 0; ; attempt++ {
		resp, err := b.postDelta(ctx, srv, pr, inline, byHash, fields, have, kept, len(entries), res)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != protocol.StatusConflict {
			if viaInline {
				kept.planAnswered(entries, &protocol.PlanResponse{Listing: resp.Header.Get(protocol.HeaderPlanKept), Inline: true, GzipFields: kept.GzipFields})
			}
			kept.haveAnswered(have, resp.Header.Get(protocol.HeaderHaveKept))
			if err := kept.save(); err != nil {
				b.logf("Warning: saving the listings kept by the server: %v", err)
			}
			return resp, nil
		}
		var cr protocol.ConflictResponse
		derr := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&cr)
		resp.Body.Close()
		if derr != nil {
			return nil, fmt.Errorf("build server %s: reading its 409 answer: %w", srv.base, derr)
		}
		if attempt == maxDeltaRetries {
			return nil, fmt.Errorf("build server %s still lacks contents after %d attempts (%d missing, replan %v)",
				srv.base, attempt+1, len(cr.Missing), cr.Replan)
		}
		if cr.Replan {
			if inline == "" {
				b.logf("The server lost the upload plan: planning again")
			}
			inline, viaInline = "", false
			if pr, err = b.postPlan(ctx, srv, entries, kept, res); err != nil {
				return nil, err
			}
			continue
		}
		if inline != "" {
			// The server made the plan: go on with it.
			if cr.Plan == "" {
				return nil, fmt.Errorf("build server %s: its 409 answer to a plan inside the build request names no plan", srv.base)
			}
			pr.Plan, inline = cr.Plan, ""
		}
		b.logf("The server lacks %d more contents: sending them", len(cr.Missing))
		pr.Missing = cr.Missing
	}
}

// hashCache is the cache of file hashes of this app (one file per app dir
// under the mos dir), so an unchanged tree is not read again.
func (b *build) hashCache() (*filetree.HashCache, string) {
	if b.req.MosDir == "" {
		return filetree.NewHashCache(), ""
	}
	sum := sha256.Sum256([]byte(b.appKey()))
	file := filepath.Join(b.req.MosDir, "remote-cache", "hashes-"+hex.EncodeToString(sum[:8])+".json")
	c, err := filetree.LoadHashCache(file)
	if err != nil {
		b.logf("Warning: %v (starting a new one)", err)
	}
	return c, file
}

// describe lists the upload as the plan sends it (name, size, upload
// mode, sha256) and indexes its files by content.
func describe(files []*upFile, cache *filetree.HashCache) ([]filetree.Entry, map[string]*upFile, error) {
	entries := make([]filetree.Entry, 0, len(files))
	byHash := make(map[string]*upFile, len(files))
	for _, f := range files {
		var e filetree.Entry
		if f.path == "" {
			h := sha256.Sum256(f.data)
			e = filetree.Entry{Path: f.name, Size: int64(len(f.data)), SHA256: hex.EncodeToString(h[:])}
		} else {
			var err error
			if e, err = filetree.Describe(f.path, f.name, cache); err != nil {
				return nil, nil, fmt.Errorf("hashing %s: %w", f.path, err)
			}
		}
		e.Mode = f.mode
		entries = append(entries, e)
		byHash[e.SHA256] = f
	}
	return entries, byHash, nil
}

// haveList lists the build dir (what the client has), paths relative to
// it; a missing build dir has nothing.
func haveList(buildDir string, cache *filetree.HashCache) ([]protocol.HaveEntry, error) {
	if _, err := os.Stat(buildDir); errors.Is(err, fs.ErrNotExist) {
		return []protocol.HaveEntry{}, nil
	}
	list, err := filetree.List(buildDir, filetree.ListOptions{
		Cache: cache,
		Skip: func(p string, d fs.DirEntry) bool {
			return strings.HasPrefix(d.Name(), resultStagePrefix) && !strings.Contains(p, "/")
		},
		Irregular: func(string, fs.FileMode) error { return nil },
	})
	if err != nil {
		return nil, err
	}
	have := make([]protocol.HaveEntry, len(list))
	for i, e := range list {
		have[i] = protocol.HaveEntry{Path: e.Path, SHA256: e.SHA256}
	}
	return have, nil
}

// postPlan sends the listing. A 401 or 403 is an *AuthError (the plan
// names no context: it is the credentials); any other 4xx answer means
// the server has no plan action (ErrNoDeltaEndpoint).
func (b *build) postPlan(ctx context.Context, srv serverURL, entries []filetree.Entry, kept *keptListings, res *Result) (*protocol.PlanResponse, error) {
	pr, err := b.planRequestRetried(ctx, srv, kept.planRequest(entries), res)
	if err == nil && pr.NeedFull {
		// The server no longer has the base: the whole listing, once.
		kept.Plan = nil
		pr, err = b.planRequestRetried(ctx, srv, kept.planRequest(entries), res)
		if err == nil && pr.NeedFull {
			err = fmt.Errorf("build server %s: asked for the whole listing twice", srv.base)
		}
	}
	if err != nil {
		return nil, err
	}
	kept.planAnswered(entries, pr)
	return pr, nil
}

func (b *build) postPlanRequest(ctx context.Context, srv serverURL, req protocol.PlanRequest, res *Result) (*protocol.PlanResponse, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(req); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	res.UploadBytes += int64(buf.Len())
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+protocol.PlanPath(version.Presented()), bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("build server request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Content-Encoding", "gzip")
	hr.Header.Set("User-Agent", version.UserAgent())
	b.setFarmHeaders(hr.Header)
	hr.SetBasicAuth(srv.user, srv.pass)
	resp, err := b.client().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("build server %s: %w", srv.base, err)
	}
	defer resp.Body.Close()
	b.noteServer(resp)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, srv.authError(resp.StatusCode, errorBody(resp.Body))
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, fmt.Errorf("%w: %d: %s", ErrNoDeltaEndpoint, resp.StatusCode, errorBody(resp.Body))
	case resp.StatusCode != http.StatusOK:
		return nil, &ServerError{Status: resp.StatusCode, Body: errorBody(resp.Body)}
	}
	var pr protocol.PlanResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResultBytes)).Decode(&pr); err != nil {
		return nil, fmt.Errorf("build server %s: reading the plan: %w", srv.base, err)
	}
	return &pr, nil
}

// postDelta sends the build request of a plan with the contents it lacks.
// With inline set, the plan goes inside it (protocol.FieldPlanInline).
func (b *build) postDelta(ctx context.Context, srv serverURL, pr *protocol.PlanResponse, inline string, byHash map[string]*upFile,
	fields []formField, have []protocol.HaveEntry, kept *keptListings, total int, res *Result) (*http.Response, error) {
	haveJSON, err := kept.haveField(have)
	if err != nil {
		return nil, err
	}
	plan := formField{name: protocol.FieldPlan, value: pr.Plan}
	if inline != "" {
		plan = formField{name: protocol.FieldPlanInline, value: inline}
	}
	fields = kept.encodeFields(append(append([]formField{}, fields...), plan, formField{name: protocol.FieldHave, value: haveJSON}))
	var zp *zipPart
	var sent int64
	if len(pr.Missing) > 0 {
		path, size, n, err := writeBlobs(b.tempDir, pr.Missing, byHash)
		if err != nil {
			return nil, err
		}
		defer os.Remove(path)
		zp = &zipPart{protocol.FieldBlobs, protocol.BlobsZipName, path, size}
		sent = n
	}
	body, err := newMultipartBody(zp, fields)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	body.acceptPatch = kept.wantPatches()
	if !body.acceptPatch && b.verbose {
		b.logf("Result patches not asked for: the last large answer came at %.0f MB/s, where whole files cost less", kept.DownRate/1e6)
	}
	res.UploadBytes += body.size()
	res.BlobsSent += len(pr.Missing)
	res.BlobBytes += sent
	b.logf("Uploading %d of %d files (%s; the server has the others)...", len(pr.Missing), total, humanBytes(sent))
	return b.post(ctx, srv, body)
}

// writeBlobs writes the missing contents into a zip named by hash, stored
// when they look binary or compressed, deflated otherwise.
func writeBlobs(tempDir string, missing []string, byHash map[string]*upFile) (path string, size, content int64, err error) {
	if err := os.MkdirAll(tempDir, 0o700); err != nil {
		return "", 0, 0, fmt.Errorf("creating temp dir: %w", err)
	}
	f, err := os.CreateTemp(tempDir, "tmp_mos_blobs_*.zip")
	if err != nil {
		return "", 0, 0, err
	}
	path = f.Name()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	zw := archive.NewWriter(bw)
	seen := map[string]bool{}
	for _, h := range missing {
		uf, ok := byHash[h]
		if !ok {
			return "", 0, 0, fmt.Errorf("the server asks for content %s, which the upload does not have", h)
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		zw.Method = archive.Deflate
		if uf.path == "" {
			err = zw.AddFile(h, 0o644, bytes.NewReader(uf.data))
		} else {
			if looksIncompressible(uf.path) {
				zw.Method = archive.Store
			}
			err = zw.AddFileFromDisk(h, uf.path, 0o644)
		}
		if err != nil {
			return "", 0, 0, fmt.Errorf("writing the contents zip: %w", err)
		}
		content += uf.size
	}
	if err := zw.Close(); err != nil {
		return "", 0, 0, err
	}
	if err := bw.Flush(); err != nil {
		return "", 0, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return "", 0, 0, err
	}
	return path, fi.Size(), content, nil
}

// looksIncompressible peeks at a file: a NUL byte in its first bytes (a
// binary, an archive, an image) means deflating it is mostly wasted time.
func looksIncompressible(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	return bytes.IndexByte(head[:n], 0) >= 0
}
