package server

import (
	"bytes"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/history"
)

// Every build request has a record from its arrival to its answer: what
// it is (app, platform, context, user), where it is (protocol.State*),
// its times and bytes, and the step lines of its make output. Records
// feed the progress poll (by the client's build id), the status page, the
// metrics and the one log line per build. They are bounded: lines per
// build (the last protocol.ProgressMaxLines, each up to maxLineLen), the
// builds remembered once answered (recentMax; lines only for the newest
// linesKept of them).
const (
	recentMax  = 50
	linesKept  = 8
	maxLineLen = 300
)

// buildRecord is one build request.
type buildRecord struct {
	mu sync.Mutex

	seq     int64
	id      string // the client's build id ("" when it sent none)
	user    string // authenticated user ("" without accounts)
	arrived time.Time

	version, app, platform, ctx string
	ctxDir                      string // stripped from lines
	ran                         bool   // make was started

	state     string
	waiting   string    // queued: "context" or "build slot"
	queuedAt  time.Time // when the current wait started
	queueWait time.Duration
	started   time.Time // make started
	buildTime time.Duration
	ended     time.Time
	status    int

	bytesIn, bytesOut int64
	files, sent       int // files in the upload; contents sent (all of them for a full upload)
	delta             bool

	// compiled counts compile steps (CC, CXX, AS lines); total is how
	// many the build has: ninja's count, or, estimated, the previous
	// build of the context's or the number of sources uploaded (raised
	// when the build passes it). cached: of the compiles, ccache hits.
	compiled, total int
	adopted         string // where the context came from, when it was new
	estimated       bool
	cached          int
	lines           []string
	first           int    // index of lines[0] among all lines of the build
	partial         []byte // an unfinished last line
}

// tracker holds the records of live builds and of the last ones answered.
type tracker struct {
	mu     sync.Mutex
	seq    int64
	live   map[*buildRecord]bool
	byID   map[string]*buildRecord
	recent []*buildRecord // answered, oldest first
}

func newTracker() *tracker {
	return &tracker{live: map[*buildRecord]bool{}, byID: map[string]*buildRecord{}}
}

// start records a build request that just arrived. A valid build id
// replaces an older record of the same id (a retried request).
func (t *tracker) start(r *http.Request) *buildRecord {
	rec := &buildRecord{user: userOf(r), arrived: time.Now(), state: protocol.StateReceiving}
	if id := r.Header.Get(protocol.HeaderBuildID); protocol.ValidBuildID(id) {
		rec.id = id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	rec.seq = t.seq
	t.live[rec] = true
	if rec.id != "" {
		t.byID[rec.id] = rec
	}
	return rec
}

// restore puts builds of an earlier run (oldest first) among the recent
// ones, before any of this run.
func (t *tracker) restore(builds []history.Build) {
	recs := make([]*buildRecord, 0, len(builds))
	for _, b := range builds {
		recs = append(recs, &buildRecord{
			user: b.User, arrived: b.Arrived, version: b.Version, app: b.App, platform: b.Platform, ctx: b.Context,
			ran: b.Ran, state: protocol.StateDone, queueWait: b.QueueWait, buildTime: b.BuildTime, ended: b.Ended,
			status: b.Status, bytesIn: b.BytesIn, bytesOut: b.BytesOut, files: b.Files, sent: b.Sent, delta: b.Delta,
			compiled: b.Steps, total: b.Steps, cached: b.Cached,
		})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recent = append(recs, t.recent...)
	if over := len(t.recent) - recentMax; over > 0 {
		t.recent = t.recent[over:]
	}
}

// history is the recent builds (oldest first) as the history file keeps
// them.
func (t *tracker) history() []history.Build {
	t.mu.Lock()
	rc := append([]*buildRecord(nil), t.recent...)
	t.mu.Unlock()
	out := make([]history.Build, 0, len(rc))
	for _, r := range rc {
		v := r.view()
		out = append(out, history.Build{
			Version: v.Version, App: v.App, Platform: v.Platform, Context: v.Context, User: v.User,
			Arrived: v.Arrived, Ended: v.Ended, QueueWait: v.QueueWait, BuildTime: v.BuildTime, Status: v.Status,
			BytesIn: v.BytesIn, BytesOut: v.BytesOut, Files: v.Files, Sent: v.Sent, Delta: v.Delta, Ran: v.Ran,
			Steps: v.Compiled, Cached: v.Cached,
		})
	}
	return out
}

// previousSteps is the compile steps of the last build that ran make in
// the context (0: none remembered).
func (t *tracker) previousSteps(version, app, platform, ctx string) int {
	t.mu.Lock()
	rc := append([]*buildRecord(nil), t.recent...)
	t.mu.Unlock()
	for i := len(rc) - 1; i >= 0; i-- {
		v := rc[i].view()
		if v.Ran && v.Compiled > 0 && v.Version == version && v.App == app && v.Platform == platform && v.Context == ctx {
			return v.Compiled
		}
	}
	return 0
}

// finish moves an answered build to the recent ones.
func (t *tracker) finish(rec *buildRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, rec)
	t.recent = append(t.recent, rec)
	if len(t.recent) > recentMax {
		old := t.recent[0]
		t.recent = t.recent[1:]
		if old.id != "" && t.byID[old.id] == old {
			delete(t.byID, old.id)
		}
	}
	if n := len(t.recent) - linesKept - 1; n >= 0 {
		t.recent[n].dropLines()
	}
}

// lookup returns the record of a client's build id, if it is user's.
func (t *tracker) lookup(id, user string) *buildRecord {
	t.mu.Lock()
	rec := t.byID[id]
	t.mu.Unlock()
	if rec == nil || rec.user != user {
		return nil
	}
	return rec
}

// snapshot copies the live records (arrival order) and the recent ones
// (newest first).
func (t *tracker) snapshot() (live, recent []buildView) {
	t.mu.Lock()
	lv := make([]*buildRecord, 0, len(t.live))
	for r := range t.live {
		lv = append(lv, r)
	}
	rc := append([]*buildRecord(nil), t.recent...)
	t.mu.Unlock()
	sort.Slice(lv, func(i, j int) bool { return lv[i].seq < lv[j].seq })
	for _, r := range lv {
		v := r.view()
		v.Position = t.position(r)
		live = append(live, v)
	}
	for i := len(rc) - 1; i >= 0; i-- {
		recent = append(recent, rc[i].view())
	}
	return live, recent
}

// counts returns how many builds run (make) and wait in the queue.
func (t *tracker) counts() (running, queued int) {
	t.mu.Lock()
	lv := make([]*buildRecord, 0, len(t.live))
	for r := range t.live {
		lv = append(lv, r)
	}
	t.mu.Unlock()
	for _, r := range lv {
		switch r.getState() {
		case protocol.StateBuilding:
			running++
		case protocol.StateQueued:
			queued++
		}
	}
	return running, queued
}

// position is rec's place among the queued builds (1: next), by when
// each started to wait; 0 when rec does not wait.
func (t *tracker) position(rec *buildRecord) int {
	rec.mu.Lock()
	if rec.state != protocol.StateQueued {
		rec.mu.Unlock()
		return 0
	}
	at, seq := rec.queuedAt, rec.seq
	rec.mu.Unlock()
	t.mu.Lock()
	lv := make([]*buildRecord, 0, len(t.live))
	for r := range t.live {
		lv = append(lv, r)
	}
	t.mu.Unlock()
	pos := 1
	for _, r := range lv {
		if r == rec {
			continue
		}
		r.mu.Lock()
		if r.state == protocol.StateQueued && (r.queuedAt.Before(at) || r.queuedAt.Equal(at) && r.seq < seq) {
			pos++
		}
		r.mu.Unlock()
	}
	return pos
}

// buildView is a copy of a record's fields, for the status page and the
// log line.
type buildView struct {
	Version, App, Platform     string
	Context, User              string
	State, Waiting             string
	Position                   int // queued: place in the queue
	Ran                        bool
	Arrived, Ended             time.Time
	QueueWait, BuildTime, Took time.Duration
	Status                     int
	BytesIn, BytesOut          int64
	Files, Sent                int
	Delta                      bool
	Compiled, Total            int
	Estimated                  bool // Total is an estimate
	Cached                     int  // of Compiled, ccache hits
	LastLine                   string
	Adopted                    string // how the context came, when it did not exist
}

func (r *buildRecord) view() buildView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := buildView{
		Version: r.version, Ran: r.ran, App: r.app, Platform: r.platform, Context: r.ctx, User: r.user,
		State: r.state, Waiting: r.waiting, Arrived: r.arrived, Ended: r.ended,
		QueueWait: r.queueWait, BuildTime: r.buildTime, Status: r.status,
		BytesIn: r.bytesIn, BytesOut: r.bytesOut, Files: r.files, Sent: r.sent, Delta: r.delta,
		Compiled: r.compiled, Total: r.total, Estimated: r.estimated, Cached: r.cached, Adopted: r.adopted,
	}
	now := time.Now()
	if r.state == protocol.StateQueued {
		v.QueueWait += now.Sub(r.queuedAt)
	}
	if r.state == protocol.StateBuilding {
		v.BuildTime = now.Sub(r.started)
	}
	v.Took = now.Sub(r.arrived)
	if !r.ended.IsZero() {
		v.Took = r.ended.Sub(r.arrived)
	}
	if len(r.lines) > 0 {
		v.LastLine = r.lines[len(r.lines)-1]
	}
	return v
}

func (r *buildRecord) getState() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// describe sets what the build is, as far as known.
// adoptedContext records where the build's context came from ("a copy of
// ctx_x, 140 files alike", "the line's last context").
func (r *buildRecord) adoptedContext(how string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adopted = how
}

func (r *buildRecord) describe(version, app, platform, ctx string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.version, r.app, r.platform, r.ctx = version, app, platform, ctx
}

// upload records what the upload held and what of it was sent.
func (r *buildRecord) upload(files, sent int, delta bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files, r.sent, r.delta = files, sent, delta
}

// setState moves the build on; leaving the queue adds to its queue wait.
func (r *buildRecord) setState(state, waiting string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.state == protocol.StateQueued {
		r.queueWait += now.Sub(r.queuedAt)
	}
	if r.state == protocol.StateBuilding {
		r.buildTime += now.Sub(r.started)
	}
	r.state, r.waiting = state, waiting
	switch state {
	case protocol.StateQueued:
		r.queuedAt = now
	case protocol.StateBuilding:
		r.started = now
	}
}

// building marks make started in context dir ctxDir (stripped from
// lines).
func (r *buildRecord) building(ctxDir string) {
	r.mu.Lock()
	r.ctxDir, r.ran = ctxDir, true
	r.mu.Unlock()
	r.setState(protocol.StateBuilding, "")
}

// estimate sets the expected number of compile steps, until the build's
// output says (ninja) or passes it.
func (r *buildRecord) estimate(total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if total > 0 && (r.total == 0 || r.estimated) {
		r.total, r.estimated = total, true
	}
}

// setCached records how many compiles ccache answered from its cache.
func (r *buildRecord) setCached(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cached = n
}

// end records the answer.
func (r *buildRecord) end(status int, bytesIn, bytesOut int64) {
	r.setState(protocol.StateDone, "")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.bytesIn, r.bytesOut, r.ended = status, bytesIn, bytesOut, time.Now()
	if len(r.partial) > 0 {
		r.addLine(string(r.partial))
		r.partial = nil
	}
}

func (r *buildRecord) dropLines() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.first += len(r.lines)
	r.lines, r.partial = nil, nil
}

// Write takes the build's output (build/build.log as it grows) and keeps
// its step lines.
func (r *buildRecord) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := p
	if len(r.partial) > 0 {
		data = append(r.partial, p...)
		r.partial = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		faultpoint.Hit("build.line") // make running
		r.addLine(string(data[:i]))
		data = data[i+1:]
	}
	if len(data) > 0 {
		if len(data) > 4*maxLineLen {
			data = data[:4*maxLineLen] // a very long line: its start is enough
		}
		r.partial = append([]byte(nil), data...)
	}
	return len(p), nil
}

// Step lines: a make recipe's tag and argument as the SDKs echo them
// ("  CC    src/main.c" of the real core, "CC src/main.c" of the host
// SDK), or ninja's "[37/140] Building C object ...".
var (
	stepRE  = regexp.MustCompile(`^\s*([A-Z][A-Z0-9+_]{1,9})\s+(\S.*)$`)
	ninjaRE = regexp.MustCompile(`^\s*\[(\d+)/(\d+)\]\s+(\S.*)$`)
)

// compileTags are the steps that compile one file.
var compileTags = map[string]bool{"CC": true, "CXX": true, "AS": true, "ASM": true}

// addLine keeps line if it is a step; r.mu is held.
func (r *buildRecord) addLine(line string) {
	line = strings.TrimRight(line, " \t\r")
	if r.ctxDir != "" {
		line = strings.ReplaceAll(line, r.ctxDir+"/", "")
	}
	line = strings.ReplaceAll(line, protocol.SandboxContextRoot+"/", "")
	var keep string
	if m := ninjaRE.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		if strings.Contains(m[3], "Building C") || strings.Contains(m[3], "Building ASM") {
			r.compiled++
		}
		if total >= n {
			r.total, r.estimated = total, false
		}
		keep = strings.TrimSpace(line)
	} else if m := stepRE.FindStringSubmatch(line); m != nil {
		if compileTags[m[1]] {
			r.compiled++
			if r.estimated && r.compiled > r.total {
				r.total = r.compiled
			}
		}
		keep = m[1] + " " + m[2]
	}
	if keep == "" {
		return
	}
	if len(keep) > maxLineLen {
		keep = keep[:maxLineLen] + "..."
	}
	r.lines = append(r.lines, keep)
	if over := len(r.lines) - protocol.ProgressMaxLines; over > 0 {
		r.lines = append([]string(nil), r.lines[over:]...)
		r.first += over
	}
}

// progress is what a poll from line from gets.
func (r *buildRecord) progress(from, position int) protocol.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := protocol.Progress{
		State: r.state, Position: position, Waiting: r.waiting,
		Compiled: r.compiled, Total: r.total, Estimated: r.estimated && r.total > 0, Status: r.status,
	}
	if r.state != protocol.StateQueued {
		p.Position, p.Waiting = 0, ""
	}
	end := r.first + len(r.lines)
	if from < r.first {
		p.Skipped = r.first - from
		from = r.first
	}
	if from > end {
		from = end
	}
	p.From = from
	p.Lines = append([]string(nil), r.lines[from-r.first:]...)
	p.Next = end
	return p
}

// handleProgress answers a progress poll: GET
// /api/fwbuild/<version>/progress/<id>?from=<n>.
func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		writeText(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET\n")
		return
	}
	id := r.PathValue("id")
	if !protocol.ValidBuildID(id) {
		writeText(w, http.StatusBadRequest, "progress: build id "+strconv.Quote(trimName(id))+": want 16 to 64 letters, digits, - or _\n")
		return
	}
	from := 0
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeText(w, http.StatusBadRequest, "progress: from="+strconv.Quote(trimName(v))+": want a line number\n")
			return
		}
		from = n
	}
	w.Header().Set("Cache-Control", "no-store")
	rec := s.track.lookup(id, userOf(r))
	if rec == nil {
		writeJSON(w, http.StatusOK, protocol.Progress{State: protocol.StateUnknown, From: from, Next: from})
		return
	}
	writeJSON(w, http.StatusOK, rec.progress(from, s.track.position(rec)))
}
