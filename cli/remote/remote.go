package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/mongoose-os/mos/cli/execbits"
	"github.com/mongoose-os/mos/cli/gencache"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/cli/progress"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/version"
)

// ErrBuildFailed is returned (wrapped) when the server answered 418: the
// build ran and failed; build/build.log holds its output.
var ErrBuildFailed = errors.New("build failed")

// ServerError is an answer other than 200 or 418; build/ is left as it was.
type ServerError struct {
	Status int    // HTTP status code
	Body   string // the answer's text, trimmed
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("error response: %d: %s", e.Status, e.Body)
}

// ReadAppFunc reads the app manifest for upload: mos.yml merged with
// mos_<platform>.yml, platform (from the argument, else the file)
// lower-cased, type defaulting to app, buildVars merged, the app's own
// conds decided and dropped.
type ReadAppFunc func(appDir, platform string, buildVars map[string]string) (*manifest.Manifest, error)

// Request is one remote build.
type Request struct {
	// AppDir is the app's dir (absolute).
	AppDir string
	// BuildDir is where the result goes (absolute); "" means
	// <AppDir>/build. GenDir is where build_ctx.txt and build_stat.json
	// are read from and build/gen is restored into; "" means
	// <BuildDir>/gen.
	BuildDir, GenDir string
	// Params are the build's parameters; not modified. Its local
	// CustomLibLocations and CustomModuleLocations are uploaded as
	// deps/<name> and deps/modules/<name> and left out of the params sent.
	// Params.Clean sends clean=1 and forgets the cached context.
	Params *protocol.BuildParams
	// LibsDirs (--libs-dir), DepsDir and ModulesDir (--deps-dir,
	// --modules-dir; "" for the defaults below the app) are where a local
	// build would find libs: every git lib the build resolves to a dir on
	// this machine outside the app is uploaded as deps/<repo name>, so the
	// server uses it instead of fetching.
	LibsDirs            []string
	DepsDir, ModulesDir string
	// Server is --server: a URL, "http://" added when it has no scheme;
	// user info in it sets basic auth (else stock's test:test).
	Server string
	// KeepBuildDir: do not empty the build dir before installing the
	// result (the result is unpacked over it).
	KeepBuildDir bool
	// BuildContext is --build-context NAME ("" for none).
	BuildContext string
	// MosDir is the user's mos dir (~/.mos), home of the gen cache; ""
	// turns the cache off.
	MosDir string
	// TempDir receives the source zip and the result zip; "" means
	// <MosDir>/tmp, or the system's temp dir without MosDir.
	TempDir string
	// KeepTempFiles keeps the source zip (its path is logged).
	KeepTempFiles bool
	// HTTPClient sends the request; nil means a default client. Its dial
	// is bounded by ConnectTimeout either way.
	HTTPClient *http.Client
	// ConnectTimeout bounds connecting to the server (--connect-timeout),
	// PlanTimeout each upload plan request (sent twice at most), and
	// BuildTimeout the silence during the build request (--build-timeout:
	// no byte sent or received and no progress answer for that long); 0
	// means the Default... values.
	ConnectTimeout, PlanTimeout, BuildTimeout time.Duration
	// ReadApp reads the manifest; nil means manifest.ReadAppForUpload.
	ReadApp ReadAppFunc
	// Git is the git binary used to read exec bits from indexes; "" looks
	// it up on PATH.
	Git string
	// Log receives progress lines; nil discards them. They are also saved
	// as build/build.local.log.
	Log io.Writer
	// Verbose copies build/build.log to Log after the build.
	// Params.Verbose has the same effect.
	Verbose bool
	// NoDelta always sends the whole source zip, as stock does, even to a
	// server that offers delta uploads.
	NoDelta bool
	// Progress shows the upload, the server's progress of the build (our
	// server only) and the download; nil shows none.
	Progress *progress.Display
}

// Result tells what a remote build did. Build returns it with nil error
// (200) or with ErrBuildFailed (418).
type Result struct {
	Status        int    // HTTP status of the answer
	SentContext   string // build_ctx sent ("" when none)
	Context       string // the server's context, from the result's build/gen/build_ctx.txt
	Files         int    // files in the upload
	ContentBytes  int64  // their total size
	UploadBytes   int64  // request body sizes, all requests
	DownloadBytes int64  // size of the result zip
	Delta         bool   // the upload was a delta (plan and missing contents)
	BlobsSent     int    // delta: contents sent
	BlobBytes     int64  // delta: their size
	Patched       int    // delta: result files sent as binary patches
	IsLib         bool   // the app is a lib (type: lib); the target was its archive
	BuildLog      string // path of build/build.log
}

// build is the state of one Build call.
type build struct {
	req      *Request
	log      io.Writer
	localLog bytes.Buffer
	verbose  bool
	buildDir string
	genDir   string
	tempDir  string
	cache    *gencache.Cache // nil when off
	affinity string          // protocol.HeaderAffinity of every request
	// answeredBy is the server (protocol.HeaderServer) that answered the
	// build's last request: a string, read by the progress poller too.
	answeredBy atomic.Value
	disp       *progress.Display
	buildID    string // sent with build requests, for their progress

	// genFromCache: there is no build dir yet; build/gen's files are
	// read from the cache, not restored into the app.
	genFromCache bool
	// ctxFrom is where the context name sent came from (build_ctx.txt,
	// the cache, --build-context); "" when none is sent.
	ctxFrom    string
	httpClient *http.Client // from client()
	buildWatch *watchdog    // of the build request in flight
	// lastPoll waits for the last progress poll of the build request,
	// made while its answer downloads (nil: none pending).
	lastPoll func()
	// kept: the listings kept by the server for a delta build (nil for a
	// stock one), where the answer's download rate is noted.
	kept *keptListings
}

func (b *build) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	b.localLog.WriteString(line)
	if b.log != nil {
		io.WriteString(b.log, line)
	}
}

// Build runs a remote build. Until the server has answered with a result
// (200 or 418), nothing in the build dir is removed or changed (only a
// missing build/gen may be restored from the cache, and an install that a
// killed mos left half-done is finished first). On a 418 it returns the
// Result and an error wrapping ErrBuildFailed; on another answer a
// *ServerError.
func Build(ctx context.Context, req *Request) (*Result, error) {
	b, err := newBuild(req)
	if err != nil {
		return nil, err
	}
	defer b.waitProgress()
	if err := RecoverBuildDir(b.buildDir); err != nil {
		return nil, err
	}
	srv, err := parseServer(req.Server)
	if err != nil {
		return nil, err
	}
	readApp := req.ReadApp
	if readApp == nil {
		readApp = func(appDir, platform string, buildVars map[string]string) (*manifest.Manifest, error) {
			return manifest.ReadAppForUpload(appDir, "", platform, buildVars, version.Presented())
		}
	}
	m, err := readApp(req.AppDir, req.Params.Platform, req.Params.BuildVars)
	if err != nil {
		return nil, err
	}
	// The server warns too, in build.log; this is seen on success as well.
	if warnings, err := manifest.UnknownKeys(filepath.Join(req.AppDir, manifest.FileName)); err == nil {
		for _, w := range warnings {
			b.logf("Warning: %s", w)
		}
	}
	localLibs, err := findLocalDeps(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The server resolves the manifest again and says what is wrong
		// there; here it only costs the local libs their upload.
		b.logf("Warning: %v; libs from --libs-dir are not uploaded and local modules go to deps/modules/<name>", err)
		localLibs = nil
	}
	pl, err := makePlan(planInput{
		ps:        hostSyntax,
		appDir:    req.AppDir,
		buildDir:  b.buildDir,
		genDir:    b.genDir,
		manifest:  m,
		libs:      req.Params.CustomLibLocations,
		modules:   req.Params.CustomModuleLocations,
		localLibs: localLibs,
		stat:      statDir,
		readDir:   readDirNames,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range pl.warnings {
		b.logf("Warning: %s", w)
	}
	params := *req.Params
	params.CustomLibLocations = pl.libs
	params.CustomModuleLocations = pl.modules
	res := &Result{IsLib: m.Type == manifest.TypeLib}
	if res.IsLib {
		params.BuildTarget = libArchiveTarget(m.Platform)
	}

	// The context, before anything in build/ changes.
	sent, err := b.chooseContext(srv, m)
	if err != nil {
		return nil, err
	}
	res.SentContext = sent
	b.affinity = protocol.AffinityKey(m.Name, m.Platform, sent)
	stat, err := b.readGen(srv, m, protocol.BuildStatFile)
	if err != nil {
		stat = nil
	}

	files, content, err := b.stage(ctx, pl)
	if err != nil {
		return nil, err
	}
	res.Files, res.ContentBytes = len(files), content
	paramsYAML, err := params.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding build params: %w", err)
	}
	fields := formFields(params.Clean, params.PreferPrebuiltLibs, paramsYAML, sent, stat)

	b.logf("Connecting to %s, user %s", srv.base, srv.user)
	resp, err := b.send(ctx, srv, files, content, fields, res)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusForbidden && sent != "" && req.BuildContext == "" {
		// A name the user did not choose (build_ctx.txt, the cache) that
		// the server refuses, e.g. another account's context after
		// accounts were turned on: the server gave nothing of it away;
		// build in a new context of our own instead.
		body := errorBody(resp.Body)
		resp.Body.Close()
		b.logf("Build context %s (from %s) was refused by the server (403: %s): building in a new context instead; its name goes to %s",
			sent, b.ctxFrom, body, filepath.Join(b.genDir, protocol.BuildCtxFile))
		sent, res.SentContext = "", ""
		b.affinity = protocol.AffinityKey(m.Name, m.Platform, "")
		fields = formFields(params.Clean, params.PreferPrebuiltLibs, paramsYAML, "", nil)
		if resp, err = b.send(ctx, srv, files, content, fields, res); err != nil {
			return nil, err
		}
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, srv.authError(resp.StatusCode, errorBody(resp.Body))
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != protocol.StatusBuildFailed {
		return nil, &ServerError{Status: resp.StatusCode, Body: errorBody(resp.Body)}
	}
	if note := resp.Header.Get(protocol.HeaderNotice); note != "" {
		b.logf("Note from the build server: %s", note)
	}
	downStart := time.Now()
	resultZip, n, err := spoolResult(b.tempDir, b.downloading(resp))
	downTime := time.Since(downStart)
	b.waitProgress()
	res.DownloadBytes = n
	if err != nil {
		return nil, err
	}
	if b.kept != nil && n >= minRateSample {
		b.kept.noteDownload(n, downTime)
		if err := b.kept.save(); err != nil {
			b.logf("Warning: saving the listings kept by the server: %v", err)
		}
	}
	defer os.Remove(resultZip)
	// A failed build's answer leaves the last good build's files alone.
	in := &installer{buildDir: b.buildDir, keep: req.KeepBuildDir, failed: resp.StatusCode == protocol.StatusBuildFailed}
	err = in.install(resultZip, resp.Header.Get(protocol.HeaderDelta) == "1")
	res.Patched = in.patched
	if b.verbose && in.patched > 0 {
		b.logf("%d result files came as binary patches", in.patched)
	}
	if err != nil {
		return nil, err
	}
	res.BuildLog = filepath.Join(b.buildDir, "build.log")
	resultGen := filepath.Join(b.buildDir, "gen")
	if data, err := os.ReadFile(filepath.Join(resultGen, protocol.BuildCtxFile)); err == nil {
		res.Context = string(data)
	}
	b.afterResult(srv, m, res, resultGen)
	if resp.StatusCode == http.StatusOK {
		b.logf("Build finished (server context %s, %s received)", orNone(res.Context), humanBytes(n))
	} else {
		b.logf("Build failed (server context %s)", orNone(res.Context))
		if kept := protocol.LastGoodNote(b.buildDir); kept != "" {
			b.logf("%s", kept)
		}
	}
	if err := os.WriteFile(filepath.Join(b.buildDir, "build.local.log"), b.localLog.Bytes(), 0o644); err != nil {
		return res, fmt.Errorf("saving build.local.log: %w", err)
	}
	// The server's own "Error:" line, last in its log, goes with the
	// error (printed once, by the caller), not also with the log.
	buildLog, _ := os.ReadFile(res.BuildLog)
	logBody, reason := CutErrorLine(buildLog)
	if b.verbose && b.log != nil {
		b.log.Write(logBody)
	}
	if resp.StatusCode != http.StatusOK {
		if reason != "" {
			return res, fmt.Errorf("%w (see %s): %s", ErrBuildFailed, res.BuildLog, reason)
		}
		return res, fmt.Errorf("%w (see %s)", ErrBuildFailed, res.BuildLog)
	}
	return res, nil
}

func newBuild(req *Request) (*build, error) {
	if req.Params == nil {
		return nil, fmt.Errorf("remote build: no build params")
	}
	if !filepath.IsAbs(req.AppDir) {
		return nil, fmt.Errorf("remote build: app dir %q is not absolute", req.AppDir)
	}
	b := &build{req: req, log: req.Log, verbose: req.Verbose || req.Params.Verbose, disp: req.Progress}
	if b.disp != nil {
		b.buildID = newBuildID()
	}
	b.buildDir = req.BuildDir
	if b.buildDir == "" {
		b.buildDir = filepath.Join(req.AppDir, "build")
	}
	b.genDir = req.GenDir
	if b.genDir == "" {
		b.genDir = filepath.Join(b.buildDir, "gen")
	}
	// Emptying the build dir must never reach the sources.
	if _, ok := hostSyntax.relInside(hostSyntax.resolve(b.buildDir, "."), hostSyntax.resolve(req.AppDir, ".")); ok {
		return nil, fmt.Errorf("build dir %s holds the app dir %s; choose another --build-dir", b.buildDir, req.AppDir)
	}
	b.tempDir = req.TempDir
	if b.tempDir == "" {
		if req.MosDir != "" {
			b.tempDir = filepath.Join(req.MosDir, "tmp")
		} else {
			b.tempDir = os.TempDir()
		}
	}
	if req.MosDir != "" {
		b.cache = gencache.New(req.MosDir)
	}
	return b, nil
}

// stage collects the upload: the rewritten mos.yml, the out-of-tree dirs,
// then the app dir's whitelisted files.
func (b *build) stage(ctx context.Context, pl *plan) ([]*upFile, int64, error) {
	mosYML, err := marshalManifest(pl.manifest)
	if err != nil {
		return nil, 0, err
	}
	c := &collector{
		ctx:  ctx,
		tree: newUpTree(),
		modes: execbits.New(execbits.Options{
			Git: b.req.Git,
			Log: func(s string) { b.logf("%s", s) },
		}),
		logf: b.logf,
	}
	c.tree.addData(manifest.FileName, mosYML, 0o644)
	for _, t := range pl.trees {
		if err := c.addDir(t.dir, t.prefix, t.what, nil); err != nil {
			return nil, 0, err
		}
	}
	if err := c.addDir(b.req.AppDir, "", "app dir", appSkip(pl)); err != nil {
		return nil, 0, err
	}
	files, err := c.tree.sorted()
	if err != nil {
		return nil, 0, err
	}
	return files, c.tree.bytes, nil
}

// send uploads (a delta through a plan when the server offers it, else
// the whole zip) and returns the answer to the build request.
func (b *build) send(ctx context.Context, srv serverURL, files []*upFile, content int64, fields []formField, res *Result) (*http.Response, error) {
	if !b.req.NoDelta {
		resp, err := b.deltaBuild(ctx, srv, files, fields, res)
		switch {
		case errors.Is(err, ErrNoDeltaEndpoint):
			if b.verbose {
				b.logf("No delta upload on this server (%v): sending the whole source zip", err)
			}
		case err != nil:
			return nil, err
		default:
			return resp, nil
		}
	}
	return b.fullBuild(ctx, srv, files, content, fields, res)
}

// fullBuild sends the build request with the whole source zip, as stock.
func (b *build) fullBuild(ctx context.Context, srv serverURL, files []*upFile, content int64, fields []formField, res *Result) (*http.Response, error) {
	zipPath, zipSize, err := writeZip(b.tempDir, files)
	if err != nil {
		return nil, err
	}
	if b.req.KeepTempFiles {
		b.logf("Source zip kept at %s", zipPath)
	} else {
		defer os.Remove(zipPath)
	}
	body, err := newMultipartBody(sourceZip(zipPath, zipSize), fields)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	res.UploadBytes += body.size()
	b.logf("Uploading %d files (%s, zip %s)...", len(files), humanBytes(content), humanBytes(zipSize))
	return b.post(ctx, srv, body)
}

func (b *build) post(ctx context.Context, srv serverURL, body *multipartBody) (*http.Response, error) {
	u := srv.base + protocol.BuildPath(version.Presented())
	rc, err := body.open()
	if err != nil {
		return nil, err
	}
	// Bounded by --build-timeout of silence: bytes going out or coming
	// in, and progress answers, restart it.
	limit := b.buildTimeout()
	rctx, wd := startWatchdog(ctx, limit)
	b.buildWatch = wd
	hr, err := http.NewRequestWithContext(rctx, http.MethodPost, u, kickReadCloser(rc, wd))
	if err != nil {
		wd.stop()
		rc.Close()
		return nil, fmt.Errorf("build server request: %w", err)
	}
	hr.ContentLength = body.size()
	hr.GetBody = func() (io.ReadCloser, error) {
		rc, err := body.open()
		if err != nil {
			return nil, err
		}
		return kickReadCloser(rc, wd), nil
	}
	hr.Header.Set("Content-Type", body.contentType)
	hr.Header.Set("User-Agent", version.UserAgent())
	b.setFarmHeaders(hr.Header)
	if body.acceptPatch {
		hr.Header.Set(protocol.HeaderAcceptPatch, protocol.PatchZstd)
	}
	hr.SetBasicAuth(srv.user, srv.pass)
	w := b.startProgress(ctx, srv, hr, body.size())
	resp, err := b.client().Do(hr)
	if err == nil {
		b.noteServer(resp) // before the last poll, which goes to that server
	}
	b.waitProgress() // an earlier attempt's (409)
	b.lastPoll = w.stopAsync()
	if err != nil {
		b.waitProgress()
		wd.stop()
		if cerr := b.connectError(srv, err); cerr != nil {
			return nil, cerr
		}
		if wd.timedOut() {
			return nil, fmt.Errorf("build server %s: no answer to the build request within %v (--build-timeout)", srv.base, limit)
		}
		return nil, fmt.Errorf("build server %s: %w", srv.base, err)
	}
	resp.Body = &watchedBody{rc: resp.Body, w: wd, what: "the build result (--build-timeout)"}
	return resp, nil
}

func (b *build) client() *http.Client {
	if b.httpClient == nil {
		b.httpClient = newClient(b.req, b.connectTimeout())
	}
	return b.httpClient
}

// readDirNames lists a dir's names for planning.
func readDirNames(path string) ([]string, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

// appKey is the app dir as the caches know it: as the disk spells it,
// with an upper-case drive letter.
func (b *build) appKey() string {
	return hostSyntax.canonical(b.req.AppDir, diskFS{stat: statDir, readDir: readDirNames})
}

// statDir tells planning whether path is a dir.
func statDir(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// libArchiveTarget is the make target of a lib build, relative to the
// server's context, as stock sends it.
func libArchiveTarget(platform string) string {
	if platform == "esp32" {
		return "build/objs/moslib/libmoslib.a"
	}
	return "build/objs/lib.a"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
