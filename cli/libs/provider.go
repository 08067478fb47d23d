package libs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/fetchpolicy"
	"github.com/mongoose-os/mos/common/protocol"
)

// DefaultMongooseOSLocation is where the mongoose-os module comes from when
// its entry has no location.
const DefaultMongooseOSLocation = "https://github.com/cesanta/mongoose-os"

// mongooseOSModule is the name of the core module (--repo overrides it).
const mongooseOSModule = "mongoose-os"

// Options configure a Provider. Paths may be relative to AppDir.
type Options struct {
	AppDir     string // absolute app dir; local locations are relative to it
	DepsDir    string // where git libs are cloned; default <AppDir>/deps
	ModulesDir string // where git modules are cloned; default <DepsDir>/modules
	// LibsDirs are the --libs-dir dirs, in order: <dir>/<name2> is used
	// when it is a dir.
	LibsDirs []string
	// CustomLibs are --lib NAME:PATH_OR_URL; a path is used as is, a URL
	// replaces the lib's location.
	CustomLibs map[string]string
	// CustomModules are --module NAME:LOC; --repo PATH is
	// CustomModules["mongoose-os"]. The value replaces the location.
	CustomModules map[string]string
	// UpdateInterval is --libs-update-interval: how old a clone may get
	// before its branch is pulled again. 0 means never fetch
	// (--no-libs-update): a missing clone is an error.
	UpdateInterval time.Duration
	// Credentials maps a host ("" for any host) to what git and release
	// downloads use there.
	Credentials map[string]protocol.Credentials
	// DepsVersions (--deps-versions) forces the repo version of each lib
	// and module it lists; with StrictDepsVersions one it does not list is
	// an error.
	DepsVersions       *protocol.DepsManifest
	StrictDepsVersions bool
	// BinaryLibsDir caches prebuilt lib binaries; default <AppDir>/build/objs.
	BinaryLibsDir string
	// CacheDir holds bare mirrors shared by many deps dirs (the build
	// server's contexts); "" for none.
	CacheDir string
	// Log receives progress lines and warnings; nil discards them.
	Log io.Writer
	// Confine, when set, refuses a location that would read files
	// outside the build context (see confineLocation).
	Confine *manifest.Confinement
	// FetchPolicy, when set, is the allow-list every git location and
	// release download must pass before anything connects (the build
	// server's --fetch-allow); nil allows all.
	FetchPolicy *fetchpolicy.Policy

	// Git is the git executable; "" means git from PATH.
	Git string
	// GitEnv is the environment git runs with; nil means os.Environ().
	GitEnv []string
	// LocalOnly looks at what is on disk and changes nothing: no lock, no
	// clone, no pull. A missing clone is an error matching
	// ErrFetchNotAllowed; an existing one is used as it is. Remote builds
	// use it to find the libs they can upload.
	LocalOnly bool
	// AllowPrompt lets git ask for passwords on the terminal. Off, git
	// fails instead of waiting for input nobody will type (build servers,
	// CI); use Credentials.
	AllowPrompt bool

	// GitHubURL and GitHubAPIURL are the bases of github.com release
	// downloads and of its API; defaults https://github.com and
	// https://api.github.com.
	GitHubURL, GitHubAPIURL string
	// HTTPClient downloads release assets; nil means http.DefaultClient.
	HTTPClient *http.Client
	// AssetRetryDelay is the pause between attempts of a failed GitHub
	// download (3 attempts); 0 means 1s, negative means no pause.
	AssetRetryDelay time.Duration
}

// Provider finds lib and module dirs for the manifest engine. It is safe
// for concurrent use, also by several processes sharing dirs.
type Provider struct {
	opts   Options
	gitEnv []string
	logMu  sync.Mutex
}

var _ manifest.Provider = (*Provider)(nil)

// New checks opts, fills in defaults and returns a Provider.
func New(opts Options) (*Provider, error) {
	if opts.AppDir == "" || !filepath.IsAbs(opts.AppDir) {
		return nil, fmt.Errorf("libs: app dir %q is not an absolute path", opts.AppDir)
	}
	opts.AppDir = filepath.Clean(opts.AppDir)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(opts.AppDir, p)
	}
	if opts.DepsDir == "" {
		opts.DepsDir = "deps"
	}
	opts.DepsDir = abs(opts.DepsDir)
	if opts.ModulesDir == "" {
		opts.ModulesDir = filepath.Join(opts.DepsDir, "modules")
	}
	opts.ModulesDir = abs(opts.ModulesDir)
	if opts.BinaryLibsDir == "" {
		opts.BinaryLibsDir = filepath.Join("build", "objs")
	}
	opts.BinaryLibsDir = abs(opts.BinaryLibsDir)
	opts.CacheDir = abs(opts.CacheDir)
	dirs := make([]string, len(opts.LibsDirs))
	for i, d := range opts.LibsDirs {
		dirs[i] = abs(d)
	}
	opts.LibsDirs = dirs
	if opts.UpdateInterval < 0 {
		return nil, fmt.Errorf("libs: update interval %v is negative", opts.UpdateInterval)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.GitHubURL == "" {
		opts.GitHubURL = "https://github.com"
	}
	if opts.GitHubAPIURL == "" {
		opts.GitHubAPIURL = "https://api.github.com"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if pol := opts.FetchPolicy; pol != nil {
		// Redirects (github.com to its asset hosts) pass the list too.
		c := *opts.HTTPClient
		next := c.CheckRedirect
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := pol.CheckURL(req.Context(), req.URL.String()); err != nil {
				return fmt.Errorf("redirect: %w", err)
			}
			if next != nil {
				return next(req, via)
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}
		opts.HTTPClient = &c
	}
	if opts.AssetRetryDelay == 0 {
		opts.AssetRetryDelay = time.Second
	}
	env := opts.GitEnv
	if env == nil {
		env = os.Environ()
	}
	env = append([]string(nil), env...)
	if !opts.AllowPrompt {
		env = append(env, "GIT_TERMINAL_PROMPT=0")
	}
	return &Provider{opts: opts, gitEnv: env}, nil
}

func (p *Provider) logf(format string, args ...any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	fmt.Fprintf(p.opts.Log, format+"\n", args...)
}

// absPath makes a local path absolute against the app dir.
func (p *Provider) absPath(s string) string {
	if filepath.IsAbs(s) {
		return filepath.Clean(s)
	}
	return filepath.Join(p.opts.AppDir, s)
}

// isURL says whether a --lib/--module value is a URL rather than a path
// (a one-letter scheme is a Windows drive).
func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(u.Scheme) > 1
}

func refLocation(ref *manifest.Dep) string {
	if ref.Location != "" {
		return ref.Location
	}
	return ref.Origin
}

// Lib implements manifest.Provider. appDir is ignored: Options.AppDir
// decides. A --lib NAME:URL is written into ref.Location.
func (p *Provider) Lib(ctx context.Context, ref *manifest.Dep, appDir, defaultVersion, platform string) (manifest.Fetched, error) {
	loc := refLocation(ref)
	name, err := location.LibName(ref.Name, ref.Type, loc)
	if err != nil {
		return manifest.Fetched{}, fmt.Errorf("lib %q: %w", loc, err)
	}

	custom, hasCustom := p.opts.CustomLibs[name]
	if hasCustom && !isURL(custom) {
		dir := p.absPath(custom)
		p.logf("%s: using %s (--lib)", name, dir)
		return manifest.Fetched{Dir: dir}, nil
	}
	if !hasCustom {
		for _, d := range p.opts.LibsDirs {
			dir := filepath.Join(d, location.Name2(name))
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
				p.logf("%s: using %s (--libs-dir)", name, dir)
				return manifest.Fetched{Dir: dir}, nil
			}
		}
	}

	var entries []*protocol.DepsManifestEntry
	if p.opts.DepsVersions != nil {
		entries = p.opts.DepsVersions.Libs
	}
	forced, err := p.forcedVersion("lib", entries, name, loc)
	if err != nil {
		return manifest.Fetched{}, err
	}
	if hasCustom {
		ref.Location = custom
		ref.Origin = ""
		loc = custom
	}

	version := ref.Version
	if version == "" {
		version = defaultVersion
	}
	res, err := p.obtain(ctx, "lib", name, ref.Type, loc, version, forced, p.opts.DepsDir)
	retried := false
	if err != nil && ref.Version == "" && forced == "" && defaultVersion != "" && defaultVersion != "latest" &&
		!errors.Is(err, ErrFetchNotAllowed) && !errors.Is(err, fetchpolicy.ErrNotAllowed) && ctx.Err() == nil {
		p.logf("WARNING: lib %q could not be fetched at version %s: %v; trying version latest", name, defaultVersion, err)
		retried = true
		res, err = p.obtain(ctx, "lib", name, ref.Type, loc, "latest", "", p.opts.DepsDir)
		if err == nil {
			// The lib is there, only not at mos's version: the app may
			// be newer than this mos.
			p.logf("WARNING: using version latest of %q; the build may fail. "+
				"This happens when an app is newer than this mos: build the app's %s version (git checkout %s) or update mos (mos update).",
				name, defaultVersion, defaultVersion)
		}
	}
	if err != nil {
		var ge *GitError
		if (retried || errors.As(err, &ge) && len(ge.Args) > 0 && ge.Args[0] == "clone") && ctx.Err() == nil &&
			!errors.Is(err, fetchpolicy.ErrNotAllowed) {
			// Not at any version: the name or the location is wrong, or
			// the repo is out of reach.
			return manifest.Fetched{}, fmt.Errorf("%w; lib %q cannot be fetched: check its name and location in mos.yml, "+
				"or use a local copy with --libs-dir DIR (DIR/%s) or --lib %s:DIR", err, name, location.Name2(name), name)
		}
		return manifest.Fetched{}, err
	}
	if p.opts.UpdateInterval != 0 && res.RepoVersion != "" && res.prevHash != res.RepoVersion {
		p.dropPrebuilt(name)
	}
	return res.Fetched, nil
}

// Module implements manifest.Provider. A --module/--repo location, or the
// default location of mongoose-os, is written into ref.Location.
func (p *Provider) Module(ctx context.Context, ref *manifest.Dep, appDir, defaultVersion, platform string) (manifest.Fetched, error) {
	loc := refLocation(ref)
	if loc == "" && ref.Name == mongooseOSModule {
		loc = DefaultMongooseOSLocation
		ref.Location = loc
	}
	name, err := location.LibName(ref.Name, ref.Type, loc)
	if err != nil {
		return manifest.Fetched{}, fmt.Errorf("module %q: %w", loc, err)
	}
	if custom, ok := p.opts.CustomModules[name]; ok {
		if !isURL(custom) {
			custom = p.absPath(custom)
			p.logf("%s: using module at %s (--module)", name, custom)
		}
		loc = custom
		ref.Location = custom
		ref.Origin = ""
	}
	var entries []*protocol.DepsManifestEntry
	if p.opts.DepsVersions != nil {
		entries = p.opts.DepsVersions.Modules
	}
	forced, err := p.forcedVersion("module", entries, name, loc)
	if err != nil {
		return manifest.Fetched{}, err
	}
	version := ref.Version
	if version == "" {
		version = defaultVersion
	}
	res, err := p.obtain(ctx, "module", name, ref.Type, loc, version, forced, p.opts.ModulesDir)
	if err != nil {
		return manifest.Fetched{}, err
	}
	return res.Fetched, nil
}

// forcedVersion is the repo version --deps-versions gives name, if any.
func (p *Provider) forcedVersion(what string, entries []*protocol.DepsManifestEntry, name, loc string) (string, error) {
	if p.opts.DepsVersions == nil {
		return "", nil
	}
	for _, e := range entries {
		if e != nil && e.Name == name {
			return e.RepoVersion, nil
		}
	}
	if p.opts.StrictDepsVersions {
		return "", fmt.Errorf("%s %q (%s): not listed in --deps-versions (strict mode)", what, name, loc)
	}
	p.logf("%s: not listed in --deps-versions (%s)", name, loc)
	return "", nil
}

// obtained is a Fetched plus what the fetch changed.
type obtained struct {
	manifest.Fetched
	prevHash string // HEAD before, "" if there was no clone
}

// obtain returns the dir of a lib or module at loc: a local location made
// absolute, or a git clone under baseDir brought to version (forced, when
// set, wins; latest means master).
func (p *Provider) obtain(ctx context.Context, what, name, typ, loc, version, forced, baseDir string) (obtained, error) {
	l, err := location.Parse(typ, loc)
	if err != nil {
		return obtained{}, fmt.Errorf("%s %q: %w", what, name, err)
	}
	if err := p.confineLocation(what, name, typ, loc); err != nil {
		return obtained{}, err
	}
	if l.Kind == location.Local {
		return obtained{Fetched: manifest.Fetched{Dir: p.absPath(loc)}}, nil
	}
	want := version
	if forced != "" {
		want = forced
	}
	ref := want
	if ref == "" || ref == "latest" {
		ref = "master"
	}
	repoDir := filepath.Join(baseDir, l.RepoName)
	var res obtained
	if p.opts.LocalOnly {
		if fi, serr := os.Stat(repoDir); serr != nil || !fi.IsDir() {
			return obtained{}, &fetchNotAllowedError{name: name, dir: repoDir}
		}
		res.Dir = repoDir
	} else {
		res, err = p.syncRepo(ctx, name, l, repoDir, ref)
	}
	if err != nil {
		return obtained{}, fmt.Errorf("fetching %s %q (%s @ %s): %w", what, name, l.RepoURL, want, err)
	}
	if l.SubDir != "" {
		dir := filepath.Join(repoDir, filepath.FromSlash(l.SubDir))
		fi, err := os.Stat(dir)
		if err != nil {
			return obtained{}, fmt.Errorf("%s %q: %q does not exist in %s", what, name, l.SubDir, repoDir)
		}
		if !fi.IsDir() {
			return obtained{}, fmt.Errorf("%s %q: %s is not a directory", what, name, dir)
		}
		res.Dir = dir
	}
	return res, nil
}

// dropPrebuilt deletes cached prebuilt binaries of lib name after its repo
// moved to another commit: they were built from the old one.
func (p *Provider) dropPrebuilt(name string) {
	pattern := filepath.Join(p.opts.BinaryLibsDir, "lib"+name+"-*-*.a")
	files, _ := filepath.Glob(pattern)
	for _, f := range files {
		if err := os.Remove(f); err == nil {
			p.logf("%s: removed %s: the repo has been updated", name, f)
		}
	}
}

// ApplyParams sets what the build's parameters say about fetching: custom
// lib and module locations, the update interval, credentials and the deps
// versions to hold to.
func (o *Options) ApplyParams(bp *protocol.BuildParams) {
	o.CustomLibs = bp.CustomLibLocations
	o.CustomModules = bp.CustomModuleLocations
	o.UpdateInterval = bp.LibsUpdateInterval
	o.Credentials = bp.Credentials
	o.DepsVersions = bp.DepsVersions
	o.StrictDepsVersions = bp.StrictDepsVersions
}
