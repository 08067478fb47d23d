package protocol

import (
	"regexp"
	"strconv"
)

// Live progress: an extension only our server has. Our client makes a
// random build id and sends it with the build request (HeaderBuildID);
// while that request is in flight it polls
//
//	GET /api/fwbuild/<version>/progress/<id>?from=<n>
//
// which answers a Progress in JSON: the build's state and the lines of
// its make output from line n on. Small separate requests, so that a proxy
// that buffers whole answers (HAProxy) does not hold anything back; the
// build's own answer is the stock one, unchanged. A stock server ignores
// the header and answers the poll 404 (or 400): the client then stops
// polling and just waits for the answer, as before. Only the account that
// sent the build sees its progress; an unknown id (not yet arrived, or
// another account's) answers State "unknown".
const (
	ActionProgress = "progress"
	// HeaderBuildID carries the client's build id on the build request.
	HeaderBuildID = "X-Mos-Build-Id"
	// ProgressMaxLines is the most lines the server keeps of one build
	// (the last ones); a poll from an older line gets Skipped set.
	ProgressMaxLines = 2000
)

// States of a build, in order.
const (
	StateUnknown   = "unknown"   // no such build (yet) for this account
	StateReceiving = "receiving" // the server is reading the upload
	StateQueued    = "queued"    // waiting for its context's turn or a build slot
	StatePreparing = "preparing" // the upload is unpacked and synced into the context
	StateBuilding  = "building"  // make runs
	StateSending   = "sending"   // the result is packed and sent
	StateDone      = "done"      // answered (Status)
)

// Progress is the answer to a progress poll.
type Progress struct {
	State string `json:"state"`
	// Position is the build's place among the builds waiting on the
	// server (1: next); Waiting says for what ("context" or "build slot").
	Position int    `json:"position,omitempty"`
	Waiting  string `json:"waiting,omitempty"`
	// Lines are the build's step lines ("CC src/main.c") from From on;
	// Next is the from of the next poll.
	From    int      `json:"from"`
	Lines   []string `json:"lines,omitempty"`
	Next    int      `json:"next"`
	Skipped int      `json:"skipped,omitempty"` // lines before From no longer kept
	// Compiled counts the files compiled so far; Total is how many the
	// build compiles, where its output says (0: unknown), or, Estimated,
	// the server's guess (the context's previous build, else the number
	// of sources uploaded), raised when the build passes it.
	Compiled  int  `json:"compiled,omitempty"`
	Total     int  `json:"total,omitempty"`
	Estimated bool `json:"estimated,omitempty"`
	// Status is the HTTP status the build was answered with (State done).
	Status int `json:"status,omitempty"`
}

// ProgressPath is the poll of build id's progress from line from.
func ProgressPath(version, id string, from int) string {
	return "/api/fwbuild/" + version + "/" + ActionProgress + "/" + id + "?from=" + strconv.Itoa(from)
}

var buildIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// ValidBuildID reports whether id can name a build: 16 to 64 letters,
// digits, '-' and '_'.
func ValidBuildID(id string) bool { return buildIDRE.MatchString(id) }
