package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/mongoose-os/mos/cli/manifest/expr"
	"github.com/mongoose-os/mos/common/protocol"
)

// Request is everything a resolution depends on. Nothing is read from the
// process (working dir, flags, environment).
type Request struct {
	// AppDir is the app dir as given; it may be relative to Cwd. Origins
	// in messages and the app's relative paths keep this form.
	AppDir string
	// Cwd stands for upstream's process working dir: relative paths and
	// the dirs the provider returns resolve against it. "" means the
	// process's working dir.
	Cwd string
	// Platform is --platform ("" = from mos.yml); it is lower-cased.
	Platform string
	// PlatformOptional allows a manifest without any platform (upstream's
	// eval-manifest-expr); builds require one.
	PlatformOptional bool
	// BuildVars are the CLI build vars; real builds always include BOARD
	// (maybe ""). They replace the variable in every component.
	BuildVars map[string]string
	// CDefs (--cdef) override the app's cdefs.
	CDefs map[string]string
	// CFlagsExtra and CXXFlagsExtra are appended to the app's flags.
	CFlagsExtra, CXXFlagsExtra []string
	// ExtraLibs (--lib-extra) are added to the app's libs unless it has a
	// lib of the same name.
	ExtraLibs []Dep
	// MosVersion is the value of ${mos.version}.
	MosVersion string
	// Provider finds lib and module dirs and prebuilt binaries.
	Provider Provider
	// GenDir is the build's gen dir (relative to Cwd if not absolute);
	// default <AppDir>/build/gen. The engine writes nothing there; the
	// final sources end with <GenDir>/mgos_deps_init.c.
	GenDir string
	// SourceGlobs are the globs a source dir stands for; default
	// {"*.c", "*.cpp"}.
	SourceGlobs []string
	// PreferPrebuiltLibs looks for a prebuilt binary of every lib, not only
	// of libs whose sources are missing.
	PreferPrebuiltLibs bool
	// DepsVersions is --deps-versions: the deps manifest is checked against
	// it; StrictDepsVersions makes a mismatch an error (else a warning).
	DepsVersions       *protocol.DepsManifest
	StrictDepsVersions bool
	// Warn receives "Warning: <origin>: <text>" lines and similar notices
	// (nil drops them).
	Warn func(msg string)
	// Log receives progress lines ("Reading lib ..."); nil drops them.
	Log func(msg string)
	// Confine, when set, refuses every path of the build (manifest
	// entries, lib and module locations and dirs, what globs match) that
	// leads outside its dirs, with a *ConfineError.
	Confine *Confinement
	// SkipLib, when set, is asked about each error of Provider.Lib: true
	// leaves that lib out instead of failing. Only ResolveLibs should set
	// it: a build without the lib is not the build.
	SkipLib func(err error) bool
}

// Result is a resolved build.
type Result struct {
	// Manifest is the final manifest (what mos_final.yml holds).
	Manifest *Manifest
	// MTime is the newest modification time over the manifest files read;
	// generated files make depends on get it as their mtime.
	MTime time.Time
	// MosDir is the dir of the mongoose-os module.
	MosDir string
	// SourceDirs, FSDirs and BinaryLibDirs are the absolute dirs of the
	// entries resolved (what a Docker build mounts).
	SourceDirs, FSDirs, BinaryLibDirs []string
	// DepsManifest is the content of mgos_deps_manifest.yml (nil for a
	// lib build).
	DepsManifest *protocol.DepsManifest
	// DepsInitC is the content of mgos_deps_init.c (nil for a lib build).
	DepsInitC []byte
}

// DepsInitFile and DepsManifestFile are the names of generated files in the
// gen dir.
const (
	DepsInitFile     = "mgos_deps_init.c"
	DepsManifestFile = "mgos_deps_manifest.yml"
)

// Name and default location of the core firmware module.
const (
	MosModuleName     = "mongoose-os"
	MosModuleLocation = "https://github.com/cesanta/mongoose-os"
)

// DefaultSourceGlobs are the globs a source dir stands for.
var DefaultSourceGlobs = []string{"*.c", "*.cpp"}

// resolver holds the state of one Resolve call.
type resolver struct {
	ctx context.Context
	req *Request
	cwd string
	rd  *reader
	// vars: mos.version, then mos.platform and the app manifest as read.
	vars        *expr.Vars
	libPlatform string // platform libs are read for
	app         *Manifest
	deps        *graph
	initDeps    *graph
	byRef       map[string]*LibHandled // by the name a reference used
	handled     map[string]*LibHandled // by lib name
	queue       []pendingLibs
	mtime       time.Time
}

// Resolve reads the app in req.AppDir with all its libs and returns the
// final manifest, as upstream mos computes it for a build.
func Resolve(ctx context.Context, req *Request) (*Result, error) {
	rs, err := newResolver(ctx, req)
	if err != nil {
		return nil, err
	}
	agg, err := rs.collect()
	if err != nil {
		return nil, err
	}
	return rs.finalize(agg)
}

// LibsResult is what ResolveLibs found.
type LibsResult struct {
	// Libs are the libs handled, in libs order.
	Libs []LibHandled
	// Modules are the modules the app and its libs name, mongoose-os
	// included, as written (locations not looked up).
	Modules []Dep
}

// ResolveLibs finds the libs of a build as Resolve does (conds that add
// libs included) and stops there: no sources are globbed, no module or
// prebuilt binary is looked for. With req.SkipLib, a lib the provider
// cannot obtain is left out (with its own libs) instead of failing; a
// remote build uses this to upload the libs found on this machine and
// leave the others to the server.
func ResolveLibs(ctx context.Context, req *Request) (*LibsResult, error) {
	rs, err := newResolver(ctx, req)
	if err != nil {
		return nil, err
	}
	agg, err := rs.collect()
	if err != nil {
		return nil, err
	}
	res := &LibsResult{Libs: agg.LibsHandled, Modules: append([]Dep(nil), agg.Modules...)}
	hasMos := false
	for _, m := range res.Modules {
		hasMos = hasMos || m.Name == MosModuleName
	}
	if !hasMos {
		res.Modules = append(res.Modules, Dep{Name: MosModuleName, Location: MosModuleLocation})
	}
	return res, nil
}

func newResolver(ctx context.Context, req *Request) (*resolver, error) {
	if req.Provider == nil {
		return nil, errors.New("manifest: no provider")
	}
	cwd := req.Cwd
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working dir: %w", err)
		}
		cwd = wd
	}
	rs := &resolver{
		ctx:         ctx,
		req:         req,
		cwd:         cwd,
		rd:          newReader(cwd, req.Warn),
		vars:        expr.NewVars(),
		libPlatform: strings.ToLower(req.Platform),
		deps:        newGraph(),
		initDeps:    newGraph(),
		byRef:       map[string]*LibHandled{},
		handled:     map[string]*LibHandled{},
	}
	rs.rd.confine = req.Confine
	rs.vars.Set(expr.MosVersion, req.MosVersion)
	rs.deps.addNode(appNode)
	rs.initDeps.addNode(appNode)
	return rs, nil
}

// collect reads the app and every lib it needs, runs the cond rounds, and
// returns the aggregated manifest before finalization.
func (rs *resolver) collect() (*Manifest, error) {
	req := rs.req
	app, mtime, err := rs.rd.readComponent(req.AppDir, rs.libPlatform, req.BuildVars, rs.vars)
	if err != nil {
		return nil, err
	}
	if app.Platform == "" && !req.PlatformOptional {
		return nil, ErrNoPlatform
	}
	rs.app = app
	rs.mtime = mtime
	rs.prepareApp(app)
	rs.vars.Set(expr.Manifest, tree(app))
	rs.vars.Set(expr.MosPlatform, app.Platform)
	rs.queue = append(rs.queue, pendingLibs{parent: appNode, m: app})

	var agg *Manifest
	for {
		if err := rs.drainLibs(); err != nil {
			return nil, err
		}
		libs, initOrder, err := rs.orderLibs()
		if err != nil {
			return nil, err
		}
		app.LibsHandled = libs
		app.InitDeps = initOrder

		a, libsAdded, err := rs.aggregate(app)
		if err != nil {
			return nil, err
		}
		if !libsAdded {
			agg = a
			break
		}
		// A cond added libs: to the app, or to one lib.
		if len(app.Libs) > 0 {
			if err := rs.prepareLibs(appNode, app); err != nil {
				return nil, err
			}
		}
		for _, lh := range app.LibsHandled {
			if len(lh.Manifest.Libs) > 0 {
				if err := rs.prepareLibs(lh.Lib.Name, lh.Manifest); err != nil {
					return nil, err
				}
			}
		}
	}
	agg.Sources = expandAllLibs(agg.Sources, agg.LibsHandled)
	agg.Includes = expandAllLibs(agg.Includes, agg.LibsHandled)
	agg.Filesystem = expandAllLibs(agg.Filesystem, agg.LibsHandled)
	agg.BinaryLibs = expandAllLibs(agg.BinaryLibs, agg.LibsHandled)
	return agg, nil
}

// checkAppName fails on a name with white space.
func checkAppName(name string) error {
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("app name (%q) should not contain spaces", name)
	}
	return nil
}

// ApplyParams sets what the build's parameters say about the manifest: the
// command line's adjustments (platform, build vars, cdefs, flags, extra
// libs, deps versions) and --prefer-prebuilt-libs.
func (r *Request) ApplyParams(bp *protocol.BuildParams) {
	r.Platform = bp.Platform
	r.BuildVars = bp.BuildVars
	r.CDefs = bp.CDefs
	r.CFlagsExtra = bp.CFlags
	r.CXXFlagsExtra = bp.CXXFlags
	r.ExtraLibs = append([]Dep(nil), bp.ExtraLibs...)
	r.DepsVersions = bp.DepsVersions
	r.StrictDepsVersions = bp.StrictDepsVersions
	r.PreferPrebuiltLibs = bp.PreferPrebuiltLibs
}
