package remote

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
)

// keptListings are the last listings this app sent to one server (and
// user) that the server said it kept: the next plan and have listings go
// as changes against them (protocol.PlanRequest.Base,
// protocol.HaveDelta), a few hundred bytes instead of tens of KB.
type keptListings struct {
	Plan *keptPlan `json:"plan,omitempty"`
	Have *keptHave `json:"have,omitempty"`
	// Inline: the server takes the next plan inside the build request
	// (protocol.FieldPlanInline).
	Inline bool `json:"inline,omitempty"`
	// GzipFields: the server reads the build request's text fields
	// gzip-compressed (protocol.PlanResponse.GzipFields).
	GzipFields bool `json:"gzip_fields,omitempty"`
	// DownRate is how fast (bytes per second) the last answer of at least
	// minRateSample bytes came from this server: whether result patches
	// pay (wantPatches).
	DownRate float64 `json:"down_rate,omitempty"`

	file string // "" when not saved (no mos dir)
}

type keptPlan struct {
	Digest string           `json:"digest"`
	Files  []filetree.Entry `json:"files"`
}

type keptHave struct {
	Digest  string               `json:"digest"`
	Entries []protocol.HaveEntry `json:"entries"`
}

// loadKept reads the listings kept for this app, server and user; a
// missing or unreadable file is no listing (the next requests send whole
// ones).
func (b *build) loadKept(srv serverURL) *keptListings {
	k := &keptListings{}
	if b.req.MosDir == "" {
		return k
	}
	app := sha256.Sum256([]byte(b.req.AppDir))
	to := sha256.Sum256([]byte(srv.base + "\x00" + srv.user))
	return b.loadKeptFile(filepath.Join(b.req.MosDir, "remote-cache",
		"listings-"+hex.EncodeToString(app[:8])+"-"+hex.EncodeToString(to[:8])+".json"))
}

// loadKeptFile reads the listings kept in file.
func (b *build) loadKeptFile(file string) *keptListings {
	k := &keptListings{file: file}
	data, err := os.ReadFile(k.file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			b.logf("Warning: %v (sending whole listings)", err)
		}
		return k
	}
	if err := json.Unmarshal(data, k); err != nil {
		b.logf("Warning: %s: %v (sending whole listings)", k.file, err)
		return &keptListings{file: k.file}
	}
	return k
}

func (k *keptListings) save() error {
	if k.file == "" {
		return nil
	}
	data, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.file), 0o755); err != nil {
		return err
	}
	return filetree.WriteFileAtomic(k.file, data, 0o644, false)
}

// planRequest is the listing to send: changes against the kept one when
// there is one.
func (k *keptListings) planRequest(entries []filetree.Entry) protocol.PlanRequest {
	if k.Plan == nil {
		return protocol.PlanRequest{Files: entries}
	}
	set, removed := protocol.DiffListing(k.Plan.Files, entries, protocol.EntryPath)
	if set == nil {
		set = []filetree.Entry{}
	}
	return protocol.PlanRequest{Base: k.Plan.Digest, Files: set, Removed: removed}
}

// planAnswered keeps entries as the next base when the server kept them
// under the digest we compute too.
func (k *keptListings) planAnswered(entries []filetree.Entry, pr *protocol.PlanResponse) {
	k.Plan = nil
	k.Inline = pr.Inline
	k.GzipFields = pr.GzipFields
	if pr.Listing != "" && pr.Listing == protocol.ListingDigest(entries) {
		k.Plan = &keptPlan{Digest: pr.Listing, Files: entries}
	}
}

// maxInlinePlan bounds a plan sent inside the build request (a few
// hundred changed entries); a larger one goes as a plan request.
const maxInlinePlan = 64 << 10

// inlinePlan is the plan to send inside the build request and the
// contents it likely lacks (those of the entries changed since the
// base), or "" when the server does not take one or it is too large.
func (k *keptListings) inlinePlan(entries []filetree.Entry) (string, []string) {
	if k.Plan == nil || !k.Inline {
		return "", nil
	}
	req := k.planRequest(entries)
	b, err := json.Marshal(req)
	if err != nil || len(b) > maxInlinePlan {
		return "", nil
	}
	var missing []string
	seen := map[string]bool{}
	for _, e := range req.Files {
		if !seen[e.SHA256] {
			seen[e.SHA256] = true
			missing = append(missing, e.SHA256)
		}
	}
	return string(b), missing
}

// haveField is FieldHave: changes against the kept listing when there is
// one.
func (k *keptListings) haveField(have []protocol.HaveEntry) (string, error) {
	var v any = have
	if k.Have != nil {
		set, removed := protocol.DiffListing(k.Have.Entries, have, protocol.HavePath)
		v = protocol.HaveDelta{Base: k.Have.Digest, Set: set, Removed: removed}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// haveAnswered keeps have as the next base when the server says it kept
// it.
func (k *keptListings) haveAnswered(have []protocol.HaveEntry, keptDigest string) {
	k.Have = nil
	if keptDigest != "" && keptDigest == protocol.HaveDigest(have) {
		k.Have = &keptHave{Digest: keptDigest, Entries: have}
	}
}

// minGzipField is the size from which a text field is worth compressing:
// below it gzip's 18 bytes of framing and the hex of SHA-256s leave little
// to save.
const minGzipField = 512

// encodeFields compresses the fields worth it when the server reads them
// compressed: the have listing and an inline plan, mostly SHA-256 hex
// digests and paths, shrink to about half (a new context's first build
// sends a whole have listing of tens of KB). Kept plain where gzip saves
// nothing.
func (k *keptListings) encodeFields(fields []formField) []formField {
	if !k.GzipFields {
		return fields
	}
	out := make([]formField, len(fields))
	for i, f := range fields {
		out[i] = f
		if f.gzip || len(f.value) < minGzipField {
			continue
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)       // as the plan: well under 1 ms for tens of KB
		_, _ = zw.Write([]byte(f.value)) // writes to memory do not fail
		_ = zw.Close()
		if buf.Len() < len(f.value) {
			out[i] = formField{name: f.name, value: buf.String(), gzip: true}
		}
	}
	return out
}

// Result patches (protocol.HeaderAcceptPatch) cost CPU at both ends: on
// the real core's one-file change, 140 ms more per build on loopback
// (1.34 s against 1.20 s, the median of 6 builds each), for the 13.4 MiB
// they save. They pay below about 100 MB/s (800 Mbit/s), the rate at which
// those bytes cross in that time.
const (
	patchesPayBelow = 100e6 // bytes per second
	// minRateSample: a smaller answer's time is mostly latency, not rate.
	minRateSample = 1 << 20
)

// wantPatches says whether to ask for result patches: unless the last
// large answer came faster than they pay for. Until one was measured,
// yes: on a slow link a whole result costs seconds, on a fast one the
// patches cost a tenth of one, and the whole first result is measured.
func (k *keptListings) wantPatches() bool {
	return k.DownRate == 0 || k.DownRate < patchesPayBelow
}

// noteDownload records the rate of an answer of n bytes read in d.
func (k *keptListings) noteDownload(n int64, d time.Duration) {
	if n >= minRateSample && d > 0 {
		k.DownRate = float64(n) / d.Seconds()
	}
}
