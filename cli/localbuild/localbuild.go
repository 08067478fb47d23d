// Package localbuild runs `mos build --local`: it prepares the build dir,
// resolves the manifest, writes build/gen, and runs the platform's make
// natively or in the SDK's Docker image. Incremental by default: objects
// stay and make decides, but a changed final manifest forces a clean build.
package localbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/mongoose-os/mos/cli/genfiles"
	"github.com/mongoose-os/mos/cli/libs"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/cli/runner"
	"github.com/mongoose-os/mos/common/ccachestats"
	"github.com/mongoose-os/mos/common/fetchpolicy"
	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
)

// Request is one local build.
type Request struct {
	AppDir string // absolute app dir
	Params *protocol.BuildParams

	BuildDir      string // absolute; default <AppDir>/build
	GenDir        string // absolute; default <BuildDir>/gen
	BinaryLibsDir string // absolute; default <BuildDir>/objs
	DepsDir       string // default <AppDir>/deps
	ModulesDir    string // default <DepsDir>/modules
	LibsDirs      []string
	LibsCacheDir  string
	SourceGlobs   []string

	MosVersion string // ${mos.version}

	// Runner is "docker" or "native"; Docker holds the docker settings
	// (the image defaults to the platform's sdk.version).
	Runner   string
	Docker   runner.Docker
	Jobs     int // make -j; 0 = number of CPUs
	CmdExtra []string

	Log io.Writer // build.log (and stderr when verbose)

	// Confine, when set, refuses every path of the build that leads
	// outside its dirs (the build server's context and lib cache).
	Confine *manifest.Confinement
	// Fetch, when set, is the allow-list of hosts libs and modules may
	// be fetched from (the build server's --fetch-allow).
	Fetch *fetchpolicy.Policy
	// Sandbox, when set, runs make isolated: under bwrap natively, in a
	// hardened container with docker (see runner.Sandbox).
	Sandbox *runner.Sandbox
	// Ccache, when set, compiles through ccache (see runner.Ccache); its
	// StatsLog defaults to <BuildDir>/ccache-stats.log, which the build
	// log sums up.
	Ccache *runner.Ccache
}

// Result says what was built.
type Result struct {
	Platform string
	AppName  string
	Target   string // the make target that was built
	FWZip    string // build/fw.zip for target all, else ""
	LibA     string // build/lib.a for a lib, else ""
	DryRun   bool
}

// Errors callers tell apart.
var (
	ErrNoManifest = errors.New("no mos.yml file")
)

// Build runs a local build.
func Build(ctx context.Context, req *Request) (*Result, error) {
	r := *req
	if err := r.defaults(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(r.AppDir, "mos.yml")); err != nil {
		return nil, fmt.Errorf("%s: %w", r.AppDir, ErrNoManifest)
	}
	params := *r.Params
	for {
		res, restart, err := build(ctx, &r, &params)
		if err != nil || !restart {
			return res, err
		}
		fmt.Fprintf(r.Log, "== Manifest has changed, forcing a clean rebuild...\n")
		params.Clean = true
	}
}

func (r *Request) defaults() error {
	if !filepath.IsAbs(r.AppDir) {
		return fmt.Errorf("app dir %q is not absolute", r.AppDir)
	}
	if r.BuildDir == "" {
		r.BuildDir = filepath.Join(r.AppDir, "build")
	}
	if r.GenDir == "" {
		r.GenDir = filepath.Join(r.BuildDir, "gen")
	}
	if r.BinaryLibsDir == "" {
		r.BinaryLibsDir = filepath.Join(r.BuildDir, "objs")
	}
	if r.DepsDir == "" {
		r.DepsDir = filepath.Join(r.AppDir, "deps")
	}
	if r.ModulesDir == "" {
		r.ModulesDir = filepath.Join(r.DepsDir, "modules")
	}
	if len(r.SourceGlobs) == 0 {
		r.SourceGlobs = []string{"*.c", "*.cpp"}
	}
	if r.Jobs <= 0 {
		r.Jobs = runtime.NumCPU()
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
	if r.Runner == "" {
		r.Runner = "docker"
	}
	return nil
}

// build runs one attempt; restart asks for a clean rebuild because the
// final manifest changed.
func build(ctx context.Context, r *Request, bp *protocol.BuildParams) (res *Result, restart bool, err error) {
	objsDir := filepath.Join(r.BuildDir, "objs")
	fwZip := filepath.Join(r.BuildDir, "fw.zip")
	if _, err := r.realDirs(); err != nil {
		return nil, false, err
	}
	// The last good build's fw.zip, fw/ and objs/ survive a failed build:
	// an incremental one leaves them where they are (make updates objs/,
	// fw.zip is replaced on success only); a clean one sets them aside
	// first and puts them back when it fails.
	if err := recoverLastGood(r.BuildDir); err != nil {
		return nil, false, err
	}
	if bp.Clean {
		if err := setAsideLastGood(r.BuildDir); err != nil {
			return nil, false, err
		}
		if err := removeAllBut(r.BuildDir, "build.log", lastGoodAside); err != nil {
			return nil, false, fmt.Errorf("cleaning %s: %w", r.BuildDir, err)
		}
	}
	defer func() {
		if err == nil {
			if rerr := dropLastGood(r.BuildDir); rerr != nil {
				fmt.Fprintf(r.Log, "Warning: %v\n", rerr)
			}
			return
		}
		if rerr := restoreLastGood(r.BuildDir); rerr != nil {
			fmt.Fprintf(r.Log, "Warning: %v\n", rerr)
		}
		if note := protocol.LastGoodNote(r.BuildDir); note != "" {
			fmt.Fprintln(r.Log, note)
		}
	}()
	if err := os.MkdirAll(r.GenDir, 0o755); err != nil {
		return nil, false, err
	}

	popts := libs.Options{
		AppDir:        r.AppDir,
		DepsDir:       r.DepsDir,
		ModulesDir:    r.ModulesDir,
		LibsDirs:      r.LibsDirs,
		BinaryLibsDir: r.BinaryLibsDir,
		CacheDir:      r.LibsCacheDir,
		Log:           r.Log,
		Confine:       r.Confine,
		FetchPolicy:   r.Fetch,
	}
	popts.ApplyParams(bp)
	provider, err := libs.New(popts)
	if err != nil {
		return nil, false, err
	}
	mreq := &manifest.Request{
		AppDir:      r.AppDir,
		Cwd:         r.AppDir,
		MosVersion:  r.MosVersion,
		Provider:    provider,
		GenDir:      r.GenDir,
		SourceGlobs: r.SourceGlobs,
		Warn:        func(msg string) { fmt.Fprintln(r.Log, msg) },
		Log:         func(msg string) { fmt.Fprintln(r.Log, msg) },
		Confine:     r.Confine,
	}
	mreq.ApplyParams(bp)
	resolved, err := manifest.Resolve(ctx, mreq)
	if err != nil {
		return nil, false, err
	}
	m := resolved.Manifest

	// The final manifest decides whether objects can be kept. Its paths
	// are written as make sees them (the sandbox's /mos/ctx), like vars.mk:
	// the same app in another dir (a server context copied from another)
	// is then the same manifest, not a reason to rebuild everything.
	final, err := genfiles.MarshalFinal(m)
	if err != nil {
		return nil, false, err
	}
	final = asMakeSees(final, r.AppDir, r.makePath())
	finalFile := filepath.Join(r.GenDir, "mos_final.yml")
	old, readErr := os.ReadFile(finalFile)
	if !bytes.Equal(old, final) {
		if err := os.WriteFile(finalFile, final, 0o644); err != nil {
			return nil, false, err
		}
		if readErr == nil && !bp.Clean {
			return nil, true, nil
		}
	}
	if m.Type == "app" {
		if err := genfiles.WriteDepsManifest(r.GenDir, resolved.DepsManifest); err != nil {
			return nil, false, err
		}
		if err := genfiles.WriteDepsInit(r.GenDir, resolved.DepsInitC, resolved.MTime); err != nil {
			return nil, false, err
		}
	}

	target := bp.BuildTarget
	var extra []string
	switch m.Type {
	case "app":
	case "lib":
		target = libArchive(objsDir, m.Platform)
		extra = append(extra, "MGOS_MAIN_COMPONENT=moslib")
	default:
		return nil, false, fmt.Errorf("invalid project type: %q", m.Type)
	}
	extra = append(extra, r.CmdExtra...)

	schemaFile, err := genfiles.WriteConfSchema(r.GenDir, m.ConfigSchema, resolved.MTime)
	if err != nil {
		return nil, false, err
	}

	if !bp.NoPlatformCheck && !contains(m.Platforms, m.Platform) {
		return nil, false, fmt.Errorf("can't build for the platform %s; supported platforms are: %v (use --no-platform-check to override)",
			m.Platform, m.Platforms)
	}

	run, err := r.runner(resolved.MosDir, m.Platform)
	if err != nil {
		return nil, false, err
	}
	sources := absAll(r.AppDir, m.Sources, false)
	includes := absAll(r.AppDir, m.Includes, true)
	fsFiles := absAll(r.AppDir, m.Filesystem, false)
	binLibs := absAll(r.AppDir, m.BinaryLibs, true)
	fmt.Fprintf(r.Log, "Sources: %v\nInclude dirs: %v\nBinary libs: %v\nBuilding %s...\n", sources, includes, binLibs, m.Name)

	vars, err := makeVars(m, run, r, sources, includes, fsFiles, binLibs, schemaFile, resolved.MosDir)
	if err != nil {
		return nil, false, err
	}
	varsFile, err := genfiles.WriteVarsMk(r.GenDir, vars)
	if err != nil {
		return nil, false, err
	}
	makefile, err := platformMakefile(resolved.MosDir, m.Platform)
	if err != nil {
		return nil, false, err
	}
	var varArgs []string
	if mk, err := os.ReadFile(makefile); err == nil && bytes.Contains(mk, []byte("MGOS_VARS_FILE")) {
		varArgs = []string{"MGOS_VARS_FILE=" + run.Path(varsFile)}
	} else {
		for _, k := range sortedKeys(vars) {
			varArgs = append(varArgs, k+"="+strings.NewReplacer("\r", " ", "\n", " ").Replace(vars[k]))
		}
	}
	if strings.Contains(target, "/") && !filepath.IsAbs(target) {
		target = filepath.Join(r.AppDir, target)
	}
	mounts := []string{r.BuildDir, r.GenDir}
	for _, dirs := range [][]string{resolved.SourceDirs, includes, resolved.FSDirs, resolved.BinaryLibDirs} {
		mounts = append(mounts, absAll(r.AppDir, dirs, true)...)
	}
	job := &runner.Job{
		AppDir:   r.AppDir,
		MosDir:   resolved.MosDir,
		Makefile: makefile,
		Target:   run.Path(target),
		Jobs:     r.Jobs,
		Vars:     varArgs,
		Extra:    extra,
		Mounts:   mounts,
		Writes:   []string{r.BuildDir, r.GenDir},
		Log:      r.Log,
		DryRun:   bp.DryRun,
	}
	if err := run.Run(ctx, job); err != nil {
		return nil, false, err
	}
	if removed, err := r.realDirs(); err != nil {
		return nil, false, err
	} else if len(removed) > 0 {
		return nil, false, fmt.Errorf("%w: the build made %s a link or a file where a dir belongs (removed)", manifest.ErrOutside, strings.Join(removed, ", "))
	}
	res = &Result{Platform: m.Platform, AppName: m.Name, Target: target, DryRun: bp.DryRun}
	if bp.DryRun {
		return res, false, nil
	}
	switch {
	case m.Type == "lib":
		res.LibA = filepath.Join(r.BuildDir, "lib.a")
		if err := linkOrCopy(target, res.LibA); err != nil {
			return nil, false, fmt.Errorf("lib archive: %w", err)
		}
	case target == defaultTarget:
		fw := filepath.Join(r.BuildDir, "fw", fmt.Sprintf("%s-%s-last.zip", m.Name, m.Platform))
		res.FWZip = fwZip
		if err := linkOrCopy(fw, fwZip); err != nil {
			return nil, false, fmt.Errorf("firmware: %w", err)
		}
	}
	return res, false, nil
}

const defaultTarget = "all"

// CcacheStatsFile, in the build dir, holds ccache's counters of the last
// build with ccache (its stats_log: `ccache --show-log-stats` reads it).
const CcacheStatsFile = ccachestats.File

// libArchive is the make target of a lib build (upstream: moslib component
// on esp32).
func libArchive(objsDir, platform string) string {
	if platform == "esp32" {
		return filepath.Join(objsDir, "moslib", "libmoslib.a")
	}
	return filepath.Join(objsDir, "lib.a")
}

// runner picks the make runner; the docker image comes from the platform's
// sdk.version unless --build-image gave one.
// realDirs, for a confined build (the server's), removes any link among
// the build dir, its gen, objs and fw dirs and the deps dir, which mos
// writes and removes outside the sandbox: a build could have made one
// lead to another context. It returns what it removed.
func (r *Request) realDirs() ([]string, error) {
	if r.Confine == nil {
		return nil, nil
	}
	var rels []string
	for _, d := range []string{r.BuildDir, r.GenDir, filepath.Join(r.BuildDir, "objs"), filepath.Join(r.BuildDir, "fw"), r.DepsDir} {
		rel, err := filepath.Rel(r.AppDir, d)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue // not below the app dir: confinement checks it
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	return filetree.RealDirs(r.AppDir, rels...)
}

// makePath maps a host path to where make sees it, as the runner will
// (without needing what the runner needs to run).
func (r *Request) makePath() func(string) string {
	if r.Runner == "docker" {
		d := r.Docker
		d.Sandbox = r.Sandbox
		return d.Path
	}
	return (&runner.Native{Sandbox: r.Sandbox}).Path
}

// asMakeSees rewrites the paths below appDir in b to where make sees them.
func asMakeSees(b []byte, appDir string, path func(string) string) []byte {
	to := path(appDir)
	if to == appDir {
		return b
	}
	for _, end := range []string{"/", "\n", `"`, "'"} {
		b = bytes.ReplaceAll(b, []byte(appDir+end), []byte(to+end))
	}
	return b
}

func (r *Request) runner(mosDir, platform string) (runner.Runner, error) {
	var cc *runner.Ccache
	if r.Ccache != nil {
		c := *r.Ccache
		if c.StatsLog == "" {
			c.StatsLog = filepath.Join(r.BuildDir, CcacheStatsFile)
		}
		cc = &c
	}
	switch r.Runner {
	case "native":
		return &runner.Native{Sandbox: r.Sandbox, Ccache: cc}, nil
	case "docker":
		d := r.Docker
		d.Sandbox = r.Sandbox
		d.Ccache = cc
		if d.Image == "" {
			f := filepath.Join(mosDir, "platforms", platform, "sdk.version")
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("failed to read sdk version file %q: %w", f, err)
			}
			d.Image = strings.TrimSpace(string(data))
		}
		return &d, nil
	}
	return nil, fmt.Errorf("unknown build runner %q", r.Runner)
}

// platformMakefile finds platforms/<p>/Makefile.build, or the old layout
// fw/platforms/<p>/Makefile.build.
func platformMakefile(mosDir, platform string) (string, error) {
	p := filepath.Join(mosDir, "platforms", platform, "Makefile.build")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	old := filepath.Join(mosDir, "fw", "platforms", platform, "Makefile.build")
	if _, err := os.Stat(old); err == nil {
		return old, nil
	}
	return "", fmt.Errorf("platform %q: no Makefile.build in %s", platform, filepath.Join(mosDir, "platforms", platform))
}

// makeVars is every variable make gets: the manifest's build vars plus the
// ones mos sets, which the manifest must not set itself (MGOS_PATH aside).
func makeVars(m *manifest.Manifest, run runner.Runner, r *Request, sources, includes, fsFiles, binLibs []string,
	schemaFile, mosDir string) (map[string]string, error) {
	var unsafe []error
	paths := func(key string, ps []string) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = run.Path(p)
			if err := genfiles.CheckShellSafe(key, out[i]); err != nil {
				unsafe = append(unsafe, err)
			}
		}
		return strings.Join(out, " ")
	}
	for _, f := range []struct{ key, v string }{{"name", m.Name}, {"version", m.Version}} {
		if err := genfiles.CheckShellSafe(f.key, f.v); err != nil {
			unsafe = append(unsafe, err)
		}
	}
	for _, sym := range m.FFISymbols {
		if err := genfiles.CheckShellSafe("ffi_symbols", sym); err != nil {
			unsafe = append(unsafe, err)
		}
	}
	cflags, err := genfiles.CFlags("cflags", m.CFlags, m.CDefs)
	if err != nil {
		return nil, err
	}
	cxxflags, err := genfiles.CFlags("cxxflags", m.CXXFlags, m.CDefs)
	if err != nil {
		return nil, err
	}
	ours := map[string]string{
		"PLATFORM":       m.Platform,
		"BUILD_DIR":      run.Path(filepath.Join(r.BuildDir, "objs")),
		"FW_DIR":         run.Path(filepath.Join(r.BuildDir, "fw")),
		"GEN_DIR":        run.Path(r.GenDir),
		"FS_STAGING_DIR": run.Path(filepath.Join(r.BuildDir, "fs")),
		"APP":            m.Name,
		"APP_VERSION":    m.Version,
		"APP_SOURCES":    paths("sources", sources),
		"APP_INCLUDES":   paths("includes", includes),
		"APP_FS_FILES":   paths("filesystem", fsFiles),
		"APP_BIN_LIBS":   paths("binary_libs", binLibs),
		"FFI_SYMBOLS":    strings.Join(m.FFISymbols, " "),
		"APP_CFLAGS":     cflags,
		"APP_CXXFLAGS":   cxxflags,
		"MANIFEST_FINAL": run.Path(filepath.Join(r.GenDir, "mos_final.yml")),
	}
	if schemaFile != "" {
		ours["APP_CONF_SCHEMA"] = run.Path(schemaFile)
	}
	if err := errors.Join(unsafe...); err != nil {
		return nil, err
	}
	// Everything is literal text to make, but for the plain $(NAME)
	// references build vars may hold (genfiles.BuildVarValue).
	for k, v := range ours {
		ours[k] = genfiles.MakeLiteral(v)
	}
	vars := map[string]string{}
	for _, k := range sortedKeys(m.BuildVars) {
		v, err := genfiles.BuildVarValue(k, m.BuildVars[k])
		if err != nil {
			return nil, err
		}
		vars[k] = v
	}
	var clash []string
	for _, k := range sortedKeys(ours) {
		if _, ok := vars[k]; ok {
			clash = append(clash, k)
		}
		vars[k] = ours[k]
	}
	if len(clash) > 0 {
		msgs := make([]string, len(clash))
		for i, k := range clash {
			msgs[i] = fmt.Sprintf("build variable %q should not be given in \"mos.yml\" since it's set by the mos tool automatically", k)
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	vars["MGOS_PATH"] = genfiles.MakeLiteral(run.MosPath(mosDir))
	return vars, nil
}

// absAll makes paths absolute against dir; with mustExist, missing ones are
// dropped (as upstream does for includes and binary libs).
func absAll(dir string, ps []string, mustExist bool) []string {
	var out []string
	for _, p := range ps {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if mustExist {
			if _, err := os.Stat(p); err != nil {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// removeAllBut empties dir except for the named entries.
func removeAllBut(dir string, keep ...string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if contains(keep, e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// linkOrCopy makes dst the same file as src: a hard link, else a copy.
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
