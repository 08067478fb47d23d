package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/mongoose-os/mos/common/filetree"
)

// Delta transfer: an extension of the build action that only our server
// has. A stock server answers the plan action with 400 ("wrong action"),
// and the client then falls back to the stock upload of a full zip.
//
// One build takes two requests (three when blobs went missing meanwhile;
// one when the plan goes inside the build request, FieldPlanInline):
//
//  1. POST /api/fwbuild/<version>/plan, a JSON PlanRequest (the body may be
//     gzip-compressed, with Content-Encoding: gzip): the staged files with
//     size, mode and SHA-256. The server checks the listing like an upload
//     (paths, counts, sizes), keeps it for a while (an hour) and answers a
//     PlanResponse: the plan's id and the contents its content-addressed
//     store (shared by all contexts) lacks.
//  2. POST /api/fwbuild/<version>/build, the stock form minus the `file`
//     field, plus FieldPlan (the id), FieldBlobs (a zip whose entries are
//     named by the SHA-256 of their content: the missing contents; omitted
//     when none is missing) and FieldHave (JSON []HaveEntry: the files the
//     client's build dir holds). The server verifies every blob's hash
//     before storing it, rebuilds the upload from the plan and the store,
//     syncs it into the context and builds as for a full upload.
//     If contents are still missing (the store dropped them) it answers
//     StatusConflict with a ConflictResponse; the client sends them with
//     the same plan and asks again. An unknown or expired plan is also a
//     ConflictResponse, with Replan set.
//
// With FieldHave, the 200/418 result zip holds only the files of build/
// that differ from what the client has, plus DeltaListName listing what the
// client must delete and which files are copies of others (a build writes
// the firmware zip three times, build/fw.zip and two in build/fw/: it
// crosses the network once). The answer carries HeaderDelta. Applying
// the files, then the copies, then the deletions leaves the client's build
// dir as a full download would.
const (
	ActionPlan = "plan"

	FieldPlan  = "plan"
	FieldBlobs = "blobs"
	FieldHave  = "have"

	BlobsZipName = "blobs.zip"

	// HeaderDelta marks a result that is a delta against FieldHave.
	HeaderDelta = "X-Fwbuild-Delta"
	// DeltaListName is the result zip entry holding a DeltaList.
	DeltaListName = "build/.fwbuild-delta.json"

	// StatusConflict answers a build whose plan cannot be completed yet.
	StatusConflict = 409
)

// PlanPath returns the path of the plan action for a version segment.
func PlanPath(version string) string {
	return "/api/fwbuild/" + version + "/" + ActionPlan
}

// PlanRequest lists the files of an upload, as the staged tree holds them.
type PlanRequest struct {
	Files []filetree.Entry `json:"files"`
	// Base, when set, is the digest of a listing the server said it kept
	// (PlanResponse.Listing): Files then holds only the entries added or
	// changed since, and Removed the paths gone.
	Base    string   `json:"base,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// PlanResponse is the server's answer to a PlanRequest.
type PlanResponse struct {
	Plan    string   `json:"plan"`    // id to send as FieldPlan
	Missing []string `json:"missing"` // SHA-256s to send in FieldBlobs
	// Listing is the digest of the whole listing, which the server keeps
	// for a while as a base for the next request ("" from a server that
	// keeps none).
	Listing string `json:"listing,omitempty"`
	// NeedFull: the request's Base is unknown here (expired, or another
	// server); no plan was made, send the whole listing.
	NeedFull bool `json:"need_full,omitempty"`
	// Inline: this server takes the next plan inside the build request
	// (FieldPlanInline), which saves the plan's round trip.
	Inline bool `json:"inline,omitempty"`
	// GzipFields: this server reads the build request's text fields
	// gzip-compressed (a part with "Content-Encoding: gzip"). Our client
	// compresses the large ones (FieldHave, FieldPlanInline) only for a
	// server that said so; stock servers never see them.
	GzipFields bool `json:"gzip_fields,omitempty"`
}

// Plans inside the build request. A client whose last plan the server
// kept, from a server that said Inline, may skip the plan request: its
// build request carries FieldPlanInline (a JSON PlanRequest against that
// base) instead of FieldPlan, and FieldBlobs the contents of the entries
// changed since the base. The server makes the plan as the plan action
// would; if contents are still missing it answers StatusConflict with
// ConflictResponse.Plan set (go on with FieldPlan, as after a plan
// request), and if it no longer has the base with Replan. The answer
// carries HeaderPlanKept, the digest of the listing kept as the next base.
const (
	FieldPlanInline = "plan_inline"
	HeaderPlanKept  = "X-Fwbuild-Plan-Kept"
)

// ConflictResponse is the body of a StatusConflict answer.
type ConflictResponse struct {
	Missing []string `json:"missing,omitempty"` // still missing contents
	Replan  bool     `json:"replan,omitempty"`  // the plan is unknown: plan again
	// Plan: the id of the plan made from FieldPlanInline.
	Plan string `json:"plan,omitempty"`
}

// HaveEntry is a file the client's build dir holds (path relative to it).
type HaveEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// DeltaList is DeltaListName's content. Paths are relative to the build
// dir.
type DeltaList struct {
	// Deleted: what the client holds and the result does not.
	Deleted []string `json:"deleted"`
	// Copies: files of the result sent as copies of others.
	Copies []DeltaCopy `json:"copies,omitempty"`
	// Modes: the permission bits of the result files the client holds
	// with the right content and keeps, so that it corrects a stale mode.
	// A client that does not know the field ignores it, as before.
	Modes map[string]fs.FileMode `json:"modes,omitempty"`
	// Patches: files of the result sent as binary deltas, only to a
	// client that sent HeaderAcceptPatch. Applied in order, before the
	// copies: a base may be a file of the result (an earlier patch's
	// output, or a whole file of the zip).
	Patches []DeltaPatch `json:"patches,omitempty"`
}

// Binary deltas of result files (common/binpatch). A client that can
// apply them says so with HeaderAcceptPatch: PatchZstd on its build
// request (with FieldHave); any other client gets whole files, as before.
// For a file of the result the client holds a version of (its have
// listing) and the server kept (a copy of what it last sent the
// context's clients), or whose content is mostly another file of the
// result (a firmware zip storing the ELF), the zip entry build/<Path>
// holds the zstd patch instead of the file.
const (
	HeaderAcceptPatch = "X-Fwbuild-Accept-Patch"
	PatchZstd         = "zstd"
)

// DeltaPatch is a result file sent as a patch against Base.
type DeltaPatch struct {
	Path   string      `json:"path"`
	Mode   fs.FileMode `json:"mode"` // permission bits
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"` // of the patched content
	// Base is the path of the content the patch applies to: in the
	// client's build dir, or in the result when InResult.
	Base       string `json:"base"`
	BaseSHA256 string `json:"base_sha256"`
	InResult   bool   `json:"in_result,omitempty"`
}

// DeltaCopy is a result file whose content is that of another file of the
// result (From), which the client has once the zip's files are installed.
type DeltaCopy struct {
	Path   string      `json:"path"`
	From   string      `json:"from"`
	Mode   fs.FileMode `json:"mode"` // permission bits
	SHA256 string      `json:"sha256"`
}

// Listings sent against a base. A listing of hundreds of files costs tens
// of KB even gzipped (a SHA-256 each), although between two builds only a
// few entries change. So a server that keeps listings (by digest, for a
// while) says so — PlanResponse.Listing, HeaderHaveKept — and the client
// may then send the next listing as its changes against that one. A base
// the server no longer has costs a full listing again (NeedFull), never a
// wrong build.

// HeaderHaveKept, on a build answer, is the digest of the FieldHave
// listing the server kept: the client's next FieldHave may be a HaveDelta
// against it.
const HeaderHaveKept = "X-Fwbuild-Have-Kept"

// HaveDelta is FieldHave as changes (a JSON object; the whole listing is a
// JSON array): Set holds what was added or changed since the listing whose
// digest is Base, Removed the paths gone from it.
type HaveDelta struct {
	Base    string      `json:"base"`
	Set     []HaveEntry `json:"set,omitempty"`
	Removed []string    `json:"removed,omitempty"`
}

// ListingDigest is the digest of a listing: SHA-256 over its entries in
// path order, each as path, size, mode and content hash. Both sides
// compute it from the entries, never from how they were encoded.
func ListingDigest(files []filetree.Entry) string {
	h := sha256.New()
	for _, e := range sortedBy(files, func(e filetree.Entry) string { return e.Path }) {
		fmt.Fprintf(h, "%s\x00%d\x00%o\x00%s\n", e.Path, e.Size, e.Mode.Perm(), e.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HaveDigest is ListingDigest for a FieldHave listing.
func HaveDigest(have []HaveEntry) string {
	h := sha256.New()
	for _, e := range sortedBy(have, func(e HaveEntry) string { return e.Path }) {
		fmt.Fprintf(h, "%s\x00%s\n", e.Path, e.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DiffListing returns what turns base into cur: entries added or changed
// (by value), and paths removed, both in path order.
func DiffListing[T comparable](base, cur []T, path func(T) string) (set []T, removed []string) {
	old := make(map[string]T, len(base))
	for _, e := range base {
		old[path(e)] = e
	}
	now := make(map[string]bool, len(cur))
	for _, e := range sortedBy(cur, path) {
		now[path(e)] = true
		if o, ok := old[path(e)]; !ok || o != e {
			set = append(set, e)
		}
	}
	for _, e := range sortedBy(base, path) {
		if !now[path(e)] {
			removed = append(removed, path(e))
		}
	}
	return set, removed
}

// ApplyListing is DiffListing's inverse: base with set put in (replacing
// entries of the same path) and removed taken out, in path order.
func ApplyListing[T any](base, set []T, removed []string, path func(T) string) []T {
	m := make(map[string]T, len(base)+len(set))
	for _, e := range base {
		m[path(e)] = e
	}
	for _, e := range set {
		m[path(e)] = e
	}
	for _, p := range removed {
		delete(m, p)
	}
	out := make([]T, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return path(out[i]) < path(out[j]) })
	return out
}

func sortedBy[T any](list []T, key func(T) string) []T {
	out := append([]T(nil), list...)
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// EntryPath and HavePath are the path funcs of the two listing kinds.
func EntryPath(e filetree.Entry) string { return e.Path }
func HavePath(e HaveEntry) string       { return e.Path }
