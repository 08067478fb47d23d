package server

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/metrics"
	"github.com/mongoose-os/mos/fwbuild/queue"
	"github.com/mongoose-os/mos/fwbuild/resultpatch"
)

// request is one build request as it goes through the steps.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	dir string // the request's temp dir under <volumes>/tmp
	log string // "build ctx=... app=... platform=..." once known

	key   buildctx.Key
	name  string // context name; "" until chosen
	named bool   // the request named its context (build_ctx)
	user  string // authenticated user ("" without accounts)
	ns    string // namespace of the context ("" without accounts)
	// release ends the upload's disk reservation (package quota); nil
	// before one is made.
	release func()
	clean   bool
	params  []byte
	have    map[string]string // the client's build dir (path -> sha256), for a delta result; nil: full result
	// haveList is the client's build dir as listed, kept for its next
	// request once answered (keepHave).
	haveList []protocol.HaveEntry
	// notice is sent with the answer (protocol.HeaderNotice); "" for none.
	notice string
	// failed: the build failed; its answer leaves the client's last good
	// build (protocol.IsLastGood) alone.
	failed bool
	// acceptPatch: the client applies binary patches (protocol.HeaderAcceptPatch).
	acceptPatch bool
	// inlinePlan is the id of the plan made from FieldPlanInline, and
	// planKept the digest of its listing, kept as the next base.
	inlinePlan, planKept string

	rec                        *buildRecord // what the status page, progress poll and metrics see
	deltaUpload                bool         // the upload came as a plan and missing contents
	uploadSaved, downloadSaved int64        // content bytes a delta did not move
}

// answer is a packed result ready to be sent.
type answer struct {
	status int
	zip    string
	files  int
	size   int64
	delta  bool // only what differs from the client's build dir
	// haveKept: the digest of the client's have listing, kept as a base
	// for its next request; planKept that of its inline plan's listing.
	haveKept, planKept string
}

func (s *Server) handleBuild(w http.ResponseWriter, r *http.Request) {
	req := &request{w: w, r: r, log: "build", rec: s.track.start(r)}
	var status int
	var sent int64
	defer func() { s.buildAnswered(req, status, sent) }()
	ans, err := s.build(req)
	if req.dir != "" {
		defer func() {
			if err := os.RemoveAll(req.dir); err != nil {
				glog.Warningf("%s: removing request temp dir: %v", req.log, err)
			}
		}()
	}
	var ce *conflictError
	if errors.As(err, &ce) {
		if req.inlinePlan != "" && !ce.resp.Replan {
			ce.resp.Plan = req.inlinePlan
		}
		glog.Infof("%s: answered 409: %v", req.log, err)
		writeJSON(w, protocol.StatusConflict, ce.resp)
		status = protocol.StatusConflict
		return
	}
	if err != nil {
		s.fail(w, r, req.log, err)
		status, sent = statusOf(err), int64(len(err.Error()))
		return
	}
	status = ans.status
	if req.notice != "" {
		w.Header().Set(protocol.HeaderNotice, req.notice)
	}
	ans.haveKept = s.keepHave(req)
	n, err := s.send(w, ans)
	sent = n
	if err != nil {
		glog.Infof("%s: sending result: %v", req.log, err)
		return
	}
	glog.V(1).Infof("%s: answered %d with %d files (%d bytes)", req.log, ans.status, ans.files, ans.size)
}

// build runs a request up to a packed result.
func (s *Server) build(req *request) (*answer, error) {
	r := req.r
	if r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "method %s not allowed: use POST", r.Method)
	}
	req.key.Version = r.PathValue("version")
	if err := buildctx.CheckVersion(req.key.Version); err != nil {
		return nil, err
	}
	if err := s.checkLength(r); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.scratch.dir, "req_")
	if err != nil {
		return nil, fmt.Errorf("creating request temp dir: %w", err)
	}
	req.dir = dir

	f, err := s.readForm(req.w, r, dir)
	if err != nil {
		return nil, err
	}
	bodyRead(req.w)
	if err := req.checkFields(f); err != nil {
		return nil, err
	}
	if err := s.namespace(req); err != nil {
		return nil, err
	}
	defer func() {
		if req.release != nil {
			req.release()
		}
	}()
	req.acceptPatch = r.Header.Get(protocol.HeaderAcceptPatch) == protocol.PatchZstd
	if f.fields[protocol.FieldPlanInline] != "" && f.fields[protocol.FieldPlan] == "" {
		if err := s.inlinePlan(req, f); err != nil {
			return nil, err
		}
	}
	if f.fields[protocol.FieldHave] != "" {
		if err := s.readHave(req, f.fields[protocol.FieldHave]); err != nil {
			return nil, err
		}
	}
	if f.fields[protocol.FieldPlan] != "" {
		req.deltaUpload = true
		src, list, fill, err := s.deltaUpload(req, f)
		if err != nil {
			return nil, err
		}
		return s.buildContext(req, src, list, fill)
	}
	src, list, err := s.unpack(req, f)
	if err != nil {
		return nil, err
	}
	return s.buildContext(req, src, list, nil)
}

// checkFields takes the text fields: build_params (required, YAML),
// build_ctx (optional, a valid name), clean (any non-empty value, as
// stock). prefer_prebuilt_libs is left to build_params, as stock mos does
// with --build-params; build_stat is only logged.
func (req *request) checkFields(f *form) error {
	if f.zipPath == "" && f.fields[protocol.FieldPlan] == "" && f.fields[protocol.FieldPlanInline] == "" {
		return errorf(http.StatusBadRequest, "missing %q field (the source zip)", protocol.FieldFile)
	}
	params := f.fields[protocol.FieldBuildParams]
	if strings.TrimSpace(params) == "" {
		return errorf(http.StatusBadRequest, "missing %q field", protocol.FieldBuildParams)
	}
	bp, err := protocol.ParseBuildParams([]byte(params))
	if err != nil {
		return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldBuildParams, err)
	}
	req.params = []byte(params)
	if bp.Clean {
		// clean is the protocol's form field: the server then starts the
		// context afresh itself. Inside build_params it would have the
		// build's mos empty build/ wherever that leads.
		bp.Clean = false
		if req.params, err = bp.Marshal(); err != nil {
			return fmt.Errorf("%s: %w", protocol.FieldBuildParams, err)
		}
		glog.V(1).Infof("build: clean in %s ignored (the %s field asks for it)", protocol.FieldBuildParams, protocol.FieldClean)
	}
	if len(bp.CustomLibLocations) > 0 || len(bp.CustomModuleLocations) > 0 {
		// Paths of the client's machine, or of this one: the upload
		// carries those libs in deps/.
		bp.CustomLibLocations, bp.CustomModuleLocations = nil, nil
		if req.params, err = bp.Marshal(); err != nil {
			return fmt.Errorf("%s: %w", protocol.FieldBuildParams, err)
		}
		glog.V(1).Infof("build: dropped customliblocations/custommodulelocations from %s", protocol.FieldBuildParams)
	}
	if name := strings.TrimSpace(f.fields[protocol.FieldBuildCtx]); name != "" {
		if err := buildctx.CheckName(name); err != nil {
			return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldBuildCtx, err)
		}
		req.name, req.named = name, true
	}
	req.clean = f.fields[protocol.FieldClean] != ""
	if st := f.fields[protocol.FieldBuildStat]; st != "" {
		glog.V(1).Infof("build: client's last build_stat: %s", strings.TrimSpace(st))
	}
	return nil
}

// unpack extracts the upload into <request dir>/src, checks it, reads the
// app name and platform from its mos.yml and lists it.
func (s *Server) unpack(req *request, f *form) (string, []filetree.Entry, error) {
	src := filepath.Join(req.dir, "src")
	zf, err := os.Open(f.zipPath)
	if err != nil {
		return "", nil, fmt.Errorf("opening spooled upload: %w", err)
	}
	defer zf.Close()
	// What the entries' headers say they unpack to is reserved before
	// anything is written, and unpacking writes no more than that (an
	// entry's content must match its header, too).
	need := int64(1) // 0 would be the extractor's default limit
	if zr, err := zip.NewReader(zf, f.zipSize); err == nil {
		for _, e := range zr.File {
			if !e.FileInfo().IsDir() {
				need += int64(min(e.UncompressedSize64, uint64(s.cfg.MaxUnpackedSize)))
			}
		}
	}
	need = min(need, s.cfg.MaxUnpackedSize)
	if err := s.reserve(req, need); err != nil {
		return "", nil, err
	}
	st, err := archive.ExtractReaderAt(zf, f.zipSize, src, archive.ExtractOptions{
		MaxEntries:    s.cfg.MaxUploadFiles,
		MaxTotalBytes: need,
		ModeLess:      archive.ShebangMode,
	})
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", protocol.SourceZipName, err)
	}
	tops, err := os.ReadDir(src)
	if err != nil {
		return "", nil, fmt.Errorf("reading unpacked upload: %w", err)
	}
	for _, e := range tops {
		if buildctx.Reserved(e.Name()) {
			return "", nil, errorf(http.StatusBadRequest, "%s: %q is reserved for what the server writes into a build context; do not upload it", protocol.SourceZipName, e.Name())
		}
	}
	bp, _ := protocol.ParseBuildParams(req.params) // checked before
	app, platform, err := readAppManifest(src, bp.Platform)
	if err != nil {
		return "", nil, err
	}
	req.key.App, req.key.Platform = app, platform
	if err := req.key.Check(); err != nil {
		return "", nil, errorf(http.StatusBadRequest, "mos.yml: %w", err)
	}
	req.setLog()
	list, err := filetree.List(src, filetree.ListOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("listing unpacked upload: %w", err)
	}
	glog.Infof("%s: received %s: %d bytes, %d files, %d bytes unpacked (clean=%v)", req.log, protocol.SourceZipName, f.zipSize, st.Files, st.Bytes, req.clean)
	req.rec.upload(len(list), len(list), false)
	return src, list, nil
}

func (req *request) setLog() {
	name := req.name
	if name == "" {
		name = "(new)"
	}
	req.log = fmt.Sprintf("build ctx=%s app=%s platform=%s", name, req.key.App, req.key.Platform)
	if req.user != "" {
		req.log += " user=" + req.user
	}
	req.rec.describe(req.key.Version, req.key.App, req.key.Platform, req.name)
}

// buildContext waits for the context's turn, syncs the upload into it,
// waits for a build slot, builds, and packs the result, then lets the next
// request of the context go.
func (s *Server) buildContext(req *request, src string, list []filetree.Entry, fill buildctx.FillFunc) (*answer, error) {
	ctx := req.r.Context()
	if last := s.lineContext(req); req.name == "" && last != "" {
		req.name = last
		req.setLog()
		glog.Infof("%s: the account's last context of this app and platform (a stock client's line of builds)", req.log)
		req.rec.adoptedContext("the line's last context")
		s.metrics.ContextAdopted(metrics.AdoptLine, 0)
	}
	if req.name == "" {
		name, err := s.store.NewName(req.key)
		if err != nil {
			return nil, err
		}
		req.name = name
		req.setLog()
		glog.Infof("%s: new context %s", req.log, filepath.Join(s.store.ContextsDir(req.key), name))
	}
	turnKey := req.key.String() + "/" + req.name
	req.rec.setState(protocol.StateQueued, queue.WaitContext.String())
	unlock, err := s.queue.LockContext(ctx, turnKey)
	if err != nil {
		return nil, err
	}
	defer unlock()
	req.rec.setState(protocol.StatePreparing, "")
	c, err := s.store.Lock(ctx, req.key, req.name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := c.Close(); err != nil {
			glog.Warningf("%s: %v", req.log, err)
		}
		s.kickCollect()
	}()
	if err := s.claim(req, c); err != nil {
		return nil, err
	}
	s.seed(req, c, list)

	up, err := c.Update(src, list, req.clean, fill)
	if req.release != nil {
		req.release() // the upload is in the context: free disk counts it now
	}
	if err != nil {
		if errors.Is(err, buildctx.ErrDirty) {
			glog.Warningf("%s: %v", req.log, err)
		}
		return nil, err
	}
	if up.Fresh {
		glog.Infof("%s: started afresh (%s): %d files", req.log, up.Why, up.Files)
	} else {
		st := up.Stats
		glog.Infof("%s: synced %d added, %d changed, %d removed, %d unchanged", req.log, st.Added, st.Changed, st.Removed, st.Unchanged)
		for _, p := range st.Touched {
			glog.V(2).Infof("%s: synced %s", req.log, p)
		}
	}
	if err := c.Prepare(req.params); err != nil {
		return nil, err
	}
	if removed, err := c.RealDirs(); err != nil {
		return nil, err
	} else if len(removed) > 0 {
		glog.Warningf("%s: removed %s: links or files where the context's dirs belong (left by an earlier build)", req.log, strings.Join(removed, ", "))
	}

	req.rec.setState(protocol.StateQueued, queue.WaitSlot.String())
	release, err := s.queue.AcquireSlot(ctx, turnKey)
	if err != nil {
		return nil, err
	}
	steps := s.track.previousSteps(req.key.Version, req.key.App, req.key.Platform, req.name)
	if steps == 0 {
		steps = countSources(list)
	}
	req.rec.estimate(steps)
	req.rec.building(c.Dir)
	// A build that writes the volumes full is stopped (package quota).
	bctx, unwatch := s.quota.Watch(ctx, s.diskWatch)
	res, err := s.runner.Run(bctx, builder.Request{
		Dir:          c.Dir,
		ParamsFile:   c.ParamsFile(),
		LibsCacheDir: s.libCache,
		TempDir:      c.TempDir(),
		OutputFile:   c.OutputFile(),
		Log:          req.log,
		LockFile:     c.LockFile(),
		Progress:     req.rec,
		// The compile cache of the context's namespace (cachepolicy).
		CcacheNamespace: req.ns,
		CcacheTrusted:   s.trustedForCache(req.user),
	})
	req.rec.setState(protocol.StateSending, "")
	release()
	if unwatch() && ctx.Err() == nil {
		s.kickCollect()
		return nil, errorf(http.StatusInsufficientStorage, "build stopped: the build server's free disk fell under half of --min-free-disk %d (the build, or builds beside it, wrote too much); the context starts afresh next time", s.cfg.MinFreeDisk)
	}
	if err != nil {
		return nil, err
	}
	s.metrics.CcacheCounted(res.Ccache.Hits, res.Ccache.Misses)
	req.rec.setCached(res.Ccache.Hits)
	if res.Refused {
		glog.Infof("%s: refused: %s", req.log, res.Reason)
		return nil, errorf(http.StatusBadRequest, "%s", res.Reason)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build stopped: %w", err)
	}
	if res.Failed {
		glog.Infof("%s: failed after %v: %s", req.log, res.Duration.Round(time.Millisecond), res.Reason)
	} else {
		glog.Infof("%s: succeeded in %v", req.log, res.Duration.Round(time.Millisecond))
	}
	// What the build left is read and written below, outside the
	// sandbox: a build that made one of its dirs a link (to another
	// context, to the volumes dir) gets nothing back, and its context
	// starts afresh.
	if removed, err := c.RealDirs(); err != nil {
		return nil, err
	} else if len(removed) > 0 {
		why := fmt.Sprintf("the build made %s a link or a file where a dir belongs", strings.Join(removed, ", "))
		glog.Warningf("%s: refused: %s", req.log, why)
		if err := c.MarkDirty(why); err != nil {
			glog.Warningf("%s: %v", req.log, err)
		}
		return nil, errorf(http.StatusBadRequest, "%s (removed; the build is refused)", why)
	}
	if err := c.Finish(); err != nil {
		return nil, err
	}
	// The build ended by itself: the context may be built upon. One that
	// was stopped or killed (or whose server died before this line) starts
	// afresh next time (buildctx/state.go).
	faultpoint.Hit("build.ended")
	if err := c.Done(); err != nil {
		return nil, err
	}
	s.recordLine(req)
	if !up.Fresh && !res.Failed {
		s.verify.Offer(c) // snapshots under the context's lock; never fails the build
	}
	req.failed = res.Failed
	ans, err := s.pack(req, c)
	if err != nil {
		return nil, err
	}
	ans.status = http.StatusOK
	if res.Failed {
		ans.status = protocol.StatusBuildFailed
	}
	return ans, nil
}

// pack writes the result zip of the context into the request dir: the
// context's build/ as stock sends it (entries build/..., files only, no
// build/objs/ except its *.elf files).
func (s *Server) pack(req *request, c *buildctx.Context) (ans *answer, err error) {
	var patches int
	p := filepath.Join(req.dir, "result.zip")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating result zip: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing result zip: %w", cerr)
		}
	}()
	zw := archive.NewWriter(f)
	filter := archive.ResultFilter
	have := req.have
	if req.failed {
		// What the context still holds of its last good build is not
		// this build's: neither sent nor deleted on the client.
		filter = func(name string, isDir bool) bool {
			return archive.ResultFilter(name, isDir) && !protocol.IsLastGood(strings.TrimPrefix(name, buildctx.BuildDirName+"/"))
		}
		if have != nil {
			have = map[string]string{}
			for p, h := range req.have {
				if !protocol.IsLastGood(p) {
					have[p] = h
				}
			}
		}
	}
	keep := filter
	var dl *protocol.DeltaList
	if req.have != nil {
		listed, err := filetree.List(c.BuildDir(), filetree.ListOptions{
			Skip: func(rel string, d fs.DirEntry) bool {
				return !filter(buildctx.BuildDirName+"/"+rel, d.IsDir())
			},
		})
		if err != nil {
			return nil, fmt.Errorf("packing result: %w", err)
		}
		var send map[string]bool
		send, dl = deltaResult(listed, have)
		for _, e := range listed {
			if !send[e.Path] {
				req.downloadSaved += e.Size
			}
		}
		if req.acceptPatch {
			if patches, err = s.patchResult(req, c, listed, send, dl, zw); err != nil {
				return nil, err
			}
		}
		keep = func(name string, isDir bool) bool {
			if isDir {
				return filter(name, true)
			}
			return send[strings.TrimPrefix(name, buildctx.BuildDirName+"/")]
		}
	}
	st, err := zw.AddTree(c.BuildDir(), archive.TreeOptions{
		Prefix: buildctx.BuildDirName + "/",
		Keep:   keep,
		Store:  func(name string) bool { return strings.HasSuffix(name, ".zip") },
		Skipped: func(name string, mode os.FileMode) {
			glog.V(1).Infof("%s: result: skipped %s (%v, not a regular file)", req.log, name, mode.Type())
		},
	})
	if err != nil {
		return nil, fmt.Errorf("packing result: %w", err)
	}
	if dl != nil {
		b, err := json.Marshal(dl)
		if err != nil {
			return nil, err
		}
		if err := zw.AddFile(protocol.DeltaListName, 0o644, bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("packing result: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("packing result: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return &answer{zip: p, files: st.Files + patches, size: fi.Size(), delta: req.have != nil, planKept: req.planKept}, nil
}

// patchResult writes, as binary patches, the files of a delta result
// that pay for one (fwbuild/resultpatch), takes them out of send and
// lists them in dl; it then keeps this result's files as the bases of
// the next. It returns how many files it patched.
func (s *Server) patchResult(req *request, c *buildctx.Context, listed []filetree.Entry, send map[string]bool, dl *protocol.DeltaList, zw *archive.Writer) (int, error) {
	files := make([]resultpatch.File, len(listed))
	for i, e := range listed {
		files[i] = resultpatch.File{Path: e.Path, Disk: filepath.Join(c.BuildDir(), filepath.FromSlash(e.Path)), Size: e.Size, Mode: e.Mode, SHA256: e.SHA256}
	}
	kept := resultpatch.Open(c.SentDir(), 0, c.SentDirsOf()...)
	start := time.Now()
	patches := kept.Plan(files, send, req.have)
	var in, out int64
	zw.Method = archive.Store
	for _, p := range patches {
		send[p.Path] = false
		dl.Patches = append(dl.Patches, p.DeltaPatch)
		if err := zw.AddFile(buildctx.BuildDirName+"/"+p.Path, 0o644, bytes.NewReader(p.Data)); err != nil {
			return 0, fmt.Errorf("packing result: %w", err)
		}
		in += p.Size
		out += int64(len(p.Data))
	}
	zw.Method = archive.Deflate
	req.downloadSaved += in - out
	if len(patches) > 0 {
		glog.Infof("%s: result: %d files (%d bytes) sent as %d bytes of patches in %v", req.log, len(patches), in, out, time.Since(start).Round(time.Millisecond))
	}
	if err := kept.Keep(files, req.have); err != nil {
		// Only the next patch is lost.
		glog.Warningf("%s: %v", req.log, err)
	}
	return len(patches), nil
}

// deltaResult chooses what a delta result carries, given the result's
// files (listed, in path order) and what the client has (path -> sha256):
// the files to send (those the client lacks or holds with other content,
// each content once), the files the client makes as copies of another
// result file, and what it must delete.
func deltaResult(listed []filetree.Entry, have map[string]string) (send map[string]bool, dl *protocol.DeltaList) {
	send = map[string]bool{}
	dl = &protocol.DeltaList{Deleted: []string{}}
	final := map[string]string{} // sha256 -> the first path holding it, sent or kept
	inResult := make(map[string]bool, len(listed))
	for _, e := range listed {
		inResult[e.Path] = true
		if have[e.Path] == e.SHA256 {
			if _, ok := final[e.SHA256]; !ok {
				final[e.SHA256] = e.Path
			}
		}
	}
	for _, e := range listed {
		if have[e.Path] == e.SHA256 {
			if dl.Modes == nil {
				dl.Modes = map[string]fs.FileMode{}
			}
			dl.Modes[e.Path] = e.Mode.Perm()
			continue
		}
		if from, ok := final[e.SHA256]; ok {
			dl.Copies = append(dl.Copies, protocol.DeltaCopy{Path: e.Path, From: from, Mode: e.Mode, SHA256: e.SHA256})
			continue
		}
		final[e.SHA256] = e.Path
		send[e.Path] = true
	}
	for p := range have {
		if !inResult[p] {
			dl.Deleted = append(dl.Deleted, p)
		}
	}
	sort.Strings(dl.Deleted)
	return send, dl
}

// send answers with the packed zip, with its Content-Length.
func (s *Server) send(w http.ResponseWriter, ans *answer) (int64, error) {
	f, err := os.Open(ans.zip)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	if ans.haveKept != "" {
		h.Set(protocol.HeaderHaveKept, ans.haveKept)
	}
	if ans.planKept != "" {
		h.Set(protocol.HeaderPlanKept, ans.planKept)
	}
	if ans.delta {
		h.Set(protocol.HeaderDelta, "1")
	}
	h.Set("Content-Length", fmt.Sprint(ans.size))
	// A client too slow to take the answer is cut (nothing is held for
	// it by now: the context is unlocked, the slot released).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	w.WriteHeader(ans.status)
	return io.Copy(w, faultpoint.Reader("server.send", f))
}

// sourceExts are the file types a build compiles.
var sourceExts = map[string]bool{".c": true, ".cc": true, ".cpp": true, ".cxx": true, ".S": true, ".s": true}

// countSources is how many files of the upload are sources: the estimate
// of a build's compile steps when the context has built nothing yet.
func countSources(list []filetree.Entry) int {
	n := 0
	for _, e := range list {
		if sourceExts[path.Ext(e.Path)] {
			n++
		}
	}
	return n
}
