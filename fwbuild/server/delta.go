package server

import (
	"archive/zip"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/archive"
	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/cas"
	"github.com/mongoose-os/mos/fwbuild/kept"
	"github.com/mongoose-os/mos/fwbuild/metrics"
)

// Delta uploads (see common/protocol/delta.go): a plan lists the staged
// files; the build request names the plan and carries only the contents
// the blob store lacks; the upload tree is then made from the store, only
// for the files the context does not already hold.

type plan struct {
	user    string           // who made it: only they may use it
	files   []filetree.Entry // checked, sorted, modes masked
	created time.Time
	listing string // digest of files
}

// newPlanID is a fresh random plan id.
func newPlanID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// conflictError is answered 409 with a protocol.ConflictResponse.
type conflictError struct {
	resp protocol.ConflictResponse
}

func (e *conflictError) Error() string {
	if e.resp.Replan {
		return "unknown or expired plan: plan again"
	}
	return fmt.Sprintf("%d contents are missing from the blob store: send them", len(e.resp.Missing))
}

// uploadMode is the mode a file of an upload gets: permission bits without
// group/other write, as unpacked zips get.
func uploadMode(m fs.FileMode) fs.FileMode { return m.Perm() &^ 0o022 }

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	p, missing, err := s.plan(r)
	if errors.Is(err, errNeedFull) {
		glog.V(1).Infof("plan: base listing unknown: asking for the whole listing")
		writeJSON(w, http.StatusOK, protocol.PlanResponse{NeedFull: true})
		return
	}
	if err != nil {
		s.fail(w, r, "plan", err)
		return
	}
	id, err := newPlanID()
	if err == nil {
		err = s.keepPlanFor(p, id)
	}
	if errors.Is(err, kept.ErrOverBudget) {
		err = errorf(http.StatusRequestEntityTooLarge, "plan: too large to keep for this account: %w (--kept-account-entries, --kept-account-bytes)", err)
	}
	if err != nil {
		s.fail(w, r, "plan", err)
		return
	}
	glog.V(1).Infof("plan %s: %d files, %d contents missing", id, len(p.files), len(missing))
	s.metrics.Transferred(metrics.Upload, metrics.Delta, bodyBytes(r), 0)
	writeJSON(w, http.StatusOK, protocol.PlanResponse{Plan: id, Missing: missing, Listing: p.listing, Inline: true, GzipFields: true})
}

// inlinePlan makes the plan of FieldPlanInline, as handlePlan would, and
// puts its id in FieldPlan: the request goes on as one after a plan
// request. Its conflicts carry the id (handleBuild).
func (s *Server) inlinePlan(req *request, f *form) error {
	var pr protocol.PlanRequest
	if err := json.Unmarshal([]byte(f.fields[protocol.FieldPlanInline]), &pr); err != nil {
		return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldPlanInline, err)
	}
	if pr.Base == "" {
		return errorf(http.StatusBadRequest, "%s: a plan inside the build request must be against a kept listing (base)", protocol.FieldPlanInline)
	}
	p, _, err := s.makePlan(req.r, pr)
	if errors.Is(err, errNeedFull) {
		glog.V(1).Infof("build: inline plan's base listing unknown: asking for a plan")
		return &conflictError{protocol.ConflictResponse{Replan: true}}
	}
	if err != nil {
		return err
	}
	id, err := newPlanID()
	if err == nil {
		err = s.keepPlanFor(p, id)
	}
	if errors.Is(err, kept.ErrOverBudget) {
		return errorf(http.StatusRequestEntityTooLarge, "%s: too large to keep for this account: %w (--kept-account-entries, --kept-account-bytes)", protocol.FieldPlanInline, err)
	}
	if err != nil {
		return err
	}
	req.inlinePlan, req.planKept = id, p.listing
	f.fields[protocol.FieldPlan] = id
	return nil
}

// plan reads and checks a PlanRequest as strictly as an unpacked upload.
func (s *Server) plan(r *http.Request) (*plan, []string, error) {
	if r.Method != http.MethodPost {
		return nil, nil, errorf(http.StatusMethodNotAllowed, "method %s not allowed: use POST", r.Method)
	}
	if err := buildctx.CheckVersion(r.PathValue("version")); err != nil {
		return nil, nil, err
	}
	if err := s.checkLength(r); err != nil {
		return nil, nil, err
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, s.bodyLimit())
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nil, errorf(http.StatusBadRequest, "plan: %w", err)
		}
		body = zr
	}
	// A listing entry takes well under 1 KiB of JSON.
	limit := int64(s.cfg.MaxUploadFiles) << 10
	var req protocol.PlanRequest
	dec := json.NewDecoder(io.LimitReader(faultpoint.Reader("server.plan", body), limit+1))
	if err := dec.Decode(&req); err != nil {
		return nil, nil, s.bodyError("plan", err)
	}
	return s.makePlan(r, req)
}

// makePlan checks a PlanRequest (against its base, if any) as strictly as
// an unpacked upload and makes the plan.
func (s *Server) makePlan(r *http.Request, req protocol.PlanRequest) (*plan, []string, error) {
	if req.Base != "" {
		base := keptList[filetree.Entry](s.kept, userOf(r), keptPlanListing, req.Base)
		if base == nil {
			return nil, nil, errNeedFull
		}
		req.Files = protocol.ApplyListing(base, req.Files, req.Removed, protocol.EntryPath)
	}
	if len(req.Files) > s.cfg.MaxUploadFiles {
		return nil, nil, errorf(http.StatusBadRequest, "plan: %d files is over the limit of %d (--max-upload-files)", len(req.Files), s.cfg.MaxUploadFiles)
	}
	for i := range req.Files {
		req.Files[i].Mode = uploadMode(req.Files[i].Mode)
	}
	for _, e := range req.Files {
		// Before anything walks the names: a hostile one may have
		// thousands of components.
		if err := archive.CheckNameSize(e.Path, archive.DefaultMaxNameLength, archive.DefaultMaxDepth); err != nil {
			return nil, nil, errorf(http.StatusBadRequest, "plan: file %s: %w", archive.QuotePrefix(e.Path), err)
		}
	}
	files, err := filetree.CheckList(req.Files)
	if err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "plan: %w", err)
	}
	var total int64
	hasManifest := false
	hashes := make([]string, 0, len(files))
	for _, e := range files {
		if buildctx.Reserved(buildctx.TopLevel(e.Path)) {
			return nil, nil, errorf(http.StatusBadRequest, "plan: %q is reserved for what the server writes into a build context; do not upload it", buildctx.TopLevel(e.Path))
		}
		total += e.Size
		hasManifest = hasManifest || e.Path == "mos.yml"
		hashes = append(hashes, e.SHA256)
	}
	if total > s.cfg.MaxUnpackedSize {
		return nil, nil, errorf(http.StatusBadRequest, "plan: %d bytes in all is over the limit of %d (--max-unpacked-size)", total, s.cfg.MaxUnpackedSize)
	}
	if !hasManifest {
		return nil, nil, errorf(http.StatusBadRequest, "plan: no mos.yml at the top level")
	}
	user := userOf(r)
	return &plan{user: user, files: files, created: time.Now(), listing: protocol.ListingDigest(files)}, s.missing(user, hashes), nil
}

// possessionDirName is the dir of the possession records in the blob
// store's dir (their files end in .idx, which the store skips).
const possessionDirName = "possession"

// possessionNS is the namespace of user's possession records: the
// account itself, whichever context it builds.
func possessionNS(user string) string { return "user:" + user }

// missing returns the hashes of hs that user must upload: those the store
// lacks and, with accounts, those user has not uploaded itself. Whether
// another account uploaded a content does not show: its hash is missing
// as an unknown one is.
func (s *Server) missing(user string, hs []string) []string {
	m := s.cas.Missing(hs)
	if s.owned == nil {
		return m
	}
	lack := map[string]bool{}
	for _, h := range m {
		lack[h] = true
	}
	for _, h := range s.owned.Lacks(possessionNS(user), hs) {
		lack[h] = true
	}
	out := make([]string, 0, len(lack))
	for _, h := range hs {
		if lack[h] {
			out = append(out, h)
			delete(lack, h)
		}
	}
	return out
}

// errNeedFull: a plan request's base listing is not kept here.
var errNeedFull = errors.New("the plan's base listing is not kept here")

// deltaUpload prepares a build from a plan: it stores the blobs sent,
// reads the app's name and platform from the plan's mos.yml, and returns
// the (empty) upload dir, the listing and the fill func that puts into
// the upload dir what the context needs.
func (s *Server) deltaUpload(req *request, f *form) (string, []filetree.Entry, func([]filetree.Entry) error, error) {
	p := s.keptPlanOf(req.user, f.fields[protocol.FieldPlan])
	if p == nil || p.user != req.user {
		return "", nil, nil, &conflictError{protocol.ConflictResponse{Replan: true}}
	}
	req.planKept = p.listing
	byHash := make(map[string]int64, len(p.files))
	var manifest filetree.Entry
	for _, e := range p.files {
		byHash[e.SHA256] = e.Size
		if e.Path == "mos.yml" {
			manifest = e
		}
	}
	// The upload's disk is reserved before a blob is stored.
	var total int64
	for _, e := range p.files {
		total += e.Size
	}
	if err := s.reserve(req, total); err != nil {
		return "", nil, nil, err
	}
	var sent int
	var sentBytes int64
	if f.blobsPath != "" {
		n, content, err := s.storeBlobs(req.user, f.blobsPath, byHash)
		if err != nil {
			return "", nil, nil, err
		}
		sent, sentBytes = n, content
		glog.V(1).Infof("%s: stored %d blobs (%d bytes sent)", req.log, n, f.blobsSize)
	}
	req.uploadSaved = max(total-sentBytes, 0)

	// The app's name and platform, from the plan's mos.yml.
	mf := filepath.Join(req.dir, "plan-mos.yml")
	err := errMissing
	if len(s.missing(req.user, []string{manifest.SHA256})) == 0 {
		err = s.cas.CopyTo(manifest.SHA256, mf, 0o600)
	}
	if err != nil {
		if errors.Is(err, cas.ErrMissing) {
			// Without mos.yml the context is unknown, so is what it holds:
			// ask for every content the store lacks.
			hs := make([]string, 0, len(p.files))
			for _, e := range p.files {
				hs = append(hs, e.SHA256)
			}
			return "", nil, nil, &conflictError{protocol.ConflictResponse{Missing: s.missing(req.user, hs)}}
		}
		return "", nil, nil, err
	}
	bp, _ := protocol.ParseBuildParams(req.params) // checked before
	app, platform, err := readManifestFile(mf, bp.Platform)
	if err != nil {
		return "", nil, nil, err
	}
	req.key.App, req.key.Platform = app, platform
	if err := req.key.Check(); err != nil {
		return "", nil, nil, errorf(http.StatusBadRequest, "mos.yml: %w", err)
	}
	req.setLog()
	req.rec.upload(len(p.files), sent, true)

	src := filepath.Join(req.dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		return "", nil, nil, err
	}
	fill := func(need []filetree.Entry) error {
		hs := make([]string, len(need))
		for i, e := range need {
			hs[i] = e.SHA256
		}
		if missing := s.missing(req.user, hs); len(missing) > 0 {
			return &conflictError{protocol.ConflictResponse{Missing: missing}}
		}
		for _, e := range need {
			dst := filepath.Join(src, filepath.FromSlash(e.Path))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := s.cas.CopyTo(e.SHA256, dst, e.Mode); err != nil {
				if errors.Is(err, cas.ErrMissing) {
					return &conflictError{protocol.ConflictResponse{Missing: []string{e.SHA256}}}
				}
				return err
			}
		}
		glog.V(1).Infof("%s: made %d files of the upload from the blob store", req.log, len(need))
		return nil
	}
	glog.Infof("%s: plan of %d files (clean=%v)", req.log, len(p.files), req.clean)
	return src, p.files, fill, nil
}

// errMissing: a content the request's account may not name by hash.
var errMissing = fmt.Errorf("%w: not uploaded by this account", cas.ErrMissing)

// storeBlobs puts every entry of the blobs zip into the store after
// checking that it is a content the plan lists and that it hashes to its
// name, and records that user holds it; it says how many it stored and
// their size.
func (s *Server) storeBlobs(user, zipPath string, sizes map[string]int64) (int, int64, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return 0, 0, errorf(http.StatusBadRequest, "%s: not a zip: %w", protocol.BlobsZipName, err)
	}
	defer zr.Close()
	if len(zr.File) > len(sizes) {
		return 0, 0, errorf(http.StatusBadRequest, "%s: %d entries for a plan of %d contents", protocol.BlobsZipName, len(zr.File), len(sizes))
	}
	var content int64
	for _, zf := range zr.File {
		size, ok := sizes[zf.Name]
		if !ok {
			return 0, 0, errorf(http.StatusBadRequest, "%s: entry %q is not a content of the plan", protocol.BlobsZipName, zf.Name)
		}
		rc, err := zf.Open()
		if err != nil {
			return 0, 0, errorf(http.StatusBadRequest, "%s: entry %q: %w", protocol.BlobsZipName, zf.Name, err)
		}
		faultpoint.Hit("server.blob")
		err = s.cas.Put(zf.Name, size, rc)
		rc.Close()
		if errors.Is(err, cas.ErrMismatch) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
			return 0, 0, errorf(http.StatusBadRequest, "%s: entry %q: %w", protocol.BlobsZipName, zf.Name, err)
		}
		if err != nil {
			return 0, 0, err
		}
		if s.owned != nil {
			if err := s.owned.Add(possessionNS(user), zf.Name); err != nil {
				return 0, 0, err
			}
		}
		content += size
	}
	return len(zr.File), content, nil
}

// readHave reads FieldHave — a whole listing (a JSON array) or a
// protocol.HaveDelta against one kept earlier — into req.have, checking
// every entry and bounding it as an upload (--max-upload-files). The whole
// listing is kept for the client's next request only once the request is
// answered with a result (keepHave). An unknown base leaves req.have nil:
// the answer is then the whole result, as for a client that sent none.
func (s *Server) readHave(req *request, field string) error {
	var have []protocol.HaveEntry
	if strings.HasPrefix(strings.TrimSpace(field), "{") {
		var hd protocol.HaveDelta
		if err := json.Unmarshal([]byte(field), &hd); err != nil {
			return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldHave, err)
		}
		base := keptList[protocol.HaveEntry](s.kept, req.user, keptHave, hd.Base)
		if base == nil {
			glog.Infof("%s: the client's build dir listing is based on one not kept here (%s): answering the whole result", req.log, hd.Base)
			return nil
		}
		if len(hd.Set) > s.cfg.MaxUploadFiles {
			return errorf(http.StatusBadRequest, "%s: %d entries set is over the limit of %d (--max-upload-files)", protocol.FieldHave, len(hd.Set), s.cfg.MaxUploadFiles)
		}
		have = protocol.ApplyListing(base, hd.Set, hd.Removed, protocol.HavePath)
	} else if err := json.Unmarshal([]byte(field), &have); err != nil {
		return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldHave, err)
	}
	if len(have) > s.cfg.MaxUploadFiles {
		return errorf(http.StatusBadRequest, "%s: a build dir of %d files is over the limit of %d (--max-upload-files)", protocol.FieldHave, len(have), s.cfg.MaxUploadFiles)
	}
	m := make(map[string]string, len(have))
	for _, h := range have {
		if err := filetree.CheckPath(h.Path); err != nil {
			return errorf(http.StatusBadRequest, "%s: %w", protocol.FieldHave, err)
		}
		if !cas.ValidHash(h.SHA256) {
			return errorf(http.StatusBadRequest, "%s: %s: %q is not a sha256 hex digest", protocol.FieldHave, archive.QuotePrefix(h.Path), archive.QuotePrefix(h.SHA256))
		}
		m[h.Path] = h.SHA256
	}
	req.have = m
	req.haveList = have
	return nil
}

// keepHave keeps the request's have listing for the client's next
// request, once it is answered with a result; it returns the digest the
// client is told ("" when nothing was kept).
func (s *Server) keepHave(req *request) string {
	if len(req.haveList) == 0 {
		return ""
	}
	d := protocol.HaveDigest(req.haveList)
	if !keepList(s.kept, req.user, keptHave, d, req.haveList, protocol.HavePath) {
		return ""
	}
	return d
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
