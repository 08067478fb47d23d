package protocol

import (
	"io/fs"

	"github.com/mongoose-os/mos/common/filetree"
)

// Delta transfer: an extension of the build action that only our server
// has. A stock server answers the plan action with 400 ("wrong action"),
// and the client then falls back to the stock upload of a full zip.
//
// One build takes two requests (three when blobs went missing meanwhile):
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
}

// PlanResponse is the server's answer to a PlanRequest.
type PlanResponse struct {
	Plan    string   `json:"plan"`    // id to send as FieldPlan
	Missing []string `json:"missing"` // SHA-256s to send in FieldBlobs
}

// ConflictResponse is the body of a StatusConflict answer.
type ConflictResponse struct {
	Missing []string `json:"missing,omitempty"` // still missing contents
	Replan  bool     `json:"replan,omitempty"`  // the plan is unknown: plan again
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
}

// DeltaCopy is a result file whose content is that of another file of the
// result (From), which the client has once the zip's files are installed.
type DeltaCopy struct {
	Path   string      `json:"path"`
	From   string      `json:"from"`
	Mode   fs.FileMode `json:"mode"` // permission bits
	SHA256 string      `json:"sha256"`
}
