package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mongoose-os/mos/cli/manifest/expr"
	"github.com/mongoose-os/mos/common/protocol"
)

// PrebuiltError is a lib whose sources are listed but missing, and for
// which no prebuilt binary could be found either.
type PrebuiltError struct {
	Lib       string
	FetchErrs []error
}

func (e *PrebuiltError) Error() string {
	msg := fmt.Sprintf("neither sources nor prebuilt binary exists for the lib %q "+
		"(a lib without code must not list \"sources\" in its mos.yml)", e.Lib)
	if len(e.FetchErrs) > 0 {
		msg += "; fetching binaries failed: " + errors.Join(e.FetchErrs...).Error()
	}
	return msg
}

func (e *PrebuiltError) Unwrap() []error { return e.FetchErrs }

// finalize turns the aggregate into the final manifest: names and texts
// expanded, modules prepared, path lists resolved to files, lib sources or
// prebuilt binaries chosen, generated file contents computed.
func (rs *resolver) finalize(m *Manifest) (*Result, error) {
	req := rs.req
	res := &Result{MTime: rs.mtime}
	appDir := req.AppDir

	if m.Name == "" {
		m.Name = filepath.Base(appDir)
	}
	if err := checkAppName(m.Name); err != nil {
		return nil, err
	}
	vars := rs.vars.Clone()
	vars.Set(expr.MosPlatform, m.Platform)
	vars.Set(expr.Manifest, tree(m))
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"name", &m.Name}, {"author", &m.Author}, {"version", &m.Version},
		{"summary", &m.Summary}, {"description", &m.Description},
	} {
		v, err := expr.Expand(vars, *f.v, expr.Strict)
		if err != nil {
			return nil, fmt.Errorf("while expanding %s: %w", f.key, err)
		}
		*f.v = v
	}

	// Modules: make sure mongoose-os is there, then fetch each, later
	// entries first.
	found := false
	for i := range m.Modules {
		if m.Modules[i].Name == MosModuleName {
			found = true
			if m.Modules[i].Version == "" {
				m.Modules[i].Version = m.MongooseOSVersion
			}
			break
		}
	}
	if !found {
		m.Modules = append(m.Modules, Dep{Name: MosModuleName, Location: MosModuleLocation, Version: m.MongooseOSVersion})
	}
	moduleRepo := map[string]Fetched{}
	for i := len(m.Modules) - 1; i >= 0; i-- {
		mod := &m.Modules[i]
		if _, done := moduleRepo[mod.Name]; done {
			continue
		}
		f, err := req.Provider.Module(rs.ctx, mod, appDir, m.ModulesVersion, m.Platform)
		if err != nil {
			return nil, fmt.Errorf("failed to prepare module %q: %w", mod.Name, err)
		}
		f.Dir = absJoin(rs.cwd, f.Dir)
		if err := req.Confine.checkDir(f.Dir, "", "modules "+mod.Name, mod.Location); err != nil {
			return nil, err
		}
		moduleRepo[mod.Name] = f
		vars.Set(expr.ModulePathVar(mod.Name), f.Dir)
		if mod.Name == MosModuleName {
			res.MosDir = f.Dir
		}
	}

	var err error
	if m.Sources, err = expr.ExpandAll(vars, m.Sources, expr.Strict); err != nil {
		return nil, fmt.Errorf("app sources: %w", err)
	}
	for i := range m.LibsHandled {
		lh := &m.LibsHandled[i]
		vars.Set(expr.LibPathVar(lh.Lib.Name), lh.Path)
		if lh.Sources, err = expr.ExpandAll(vars, lh.Sources, expr.Strict); err != nil {
			return nil, fmt.Errorf("lib %q: sources: %w", lh.Lib.Name, err)
		}
		lh.Version = depVersion(lh.Lib, m.LibsVersion)
		lh.UserVersion = lh.Manifest.Version
	}
	for _, f := range []struct {
		key  string
		list *[]string
	}{
		{"includes", &m.Includes}, {"filesystem", &m.Filesystem},
		{"binary_libs", &m.BinaryLibs}, {"tests", &m.Tests},
	} {
		if *f.list, err = expr.ExpandAll(vars, *f.list, expr.Strict); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	m.Sources = prefixPaths(m.Sources, appDir)
	m.Includes = prefixPaths(m.Includes, appDir)
	m.Filesystem = prefixPaths(m.Filesystem, appDir)
	m.BinaryLibs = prefixPaths(m.BinaryLibs, appDir)
	m.Tests = prefixPaths(m.Tests, appDir)
	if m.CFlags, err = expr.ExpandAll(vars, m.CFlags, expr.Strict); err != nil {
		return nil, fmt.Errorf("while expanding cflags: %w", err)
	}
	if m.CXXFlags, err = expr.ExpandAll(vars, m.CXXFlags, expr.Strict); err != nil {
		return nil, fmt.Errorf("while expanding cxxflags: %w", err)
	}

	globs := req.SourceGlobs
	if len(globs) == 0 {
		globs = DefaultSourceGlobs
	}
	if m.Sources, res.SourceDirs, err = resolvePaths(rs.cwd, m.Sources, globs); err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	if m.Filesystem, res.FSDirs, err = resolvePaths(rs.cwd, m.Filesystem, []string{"*"}); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	if m.Filesystem, err = applyFSFilters(m.Filesystem, m.FSFilters); err != nil {
		return nil, err
	}
	m.FSFilters = nil

	if m.Type == TypeApp {
		if err := rs.libSources(m, vars, globs, res); err != nil {
			return nil, err
		}
		dm, err := depsManifest(m, moduleRepo)
		if err != nil {
			return nil, fmt.Errorf("failed to generate deps manifest: %w", err)
		}
		res.DepsManifest = dm
		if req.DepsVersions != nil {
			if err := CheckDepsVersions(dm, req.DepsVersions); err != nil {
				if req.StrictDepsVersions {
					return nil, fmt.Errorf("error validating dependencies (strict mode): %w", err)
				}
				rs.rd.warnf("%s", err)
			}
		}
		res.DepsInitC = depsInitC(m, dm, moduleRepo)
		m.Sources = append(m.Sources, filepath.Join(rs.genDir(), DepsInitFile))
	}

	if m.BinaryLibs, res.BinaryLibDirs, err = resolvePaths(rs.cwd, m.BinaryLibs, []string{"*.a"}); err != nil {
		return nil, fmt.Errorf("binary_libs: %w", err)
	}
	if m.Tests, _, err = resolvePaths(rs.cwd, m.Tests, []string{"*"}); err != nil {
		return nil, fmt.Errorf("tests: %w", err)
	}

	if err := rs.confineFinal(m, res); err != nil {
		return nil, err
	}

	m.Platforms = intersectPlatforms(m.Platforms, mosPlatforms(res.MosDir))
	sort.Strings(m.Platforms)

	res.Manifest = m
	return res, nil
}

func (rs *resolver) genDir() string {
	if rs.req.GenDir != "" {
		return absJoin(rs.cwd, rs.req.GenDir)
	}
	return absJoin(rs.cwd, filepath.Join(rs.req.AppDir, "build", "gen"))
}

// depVersion is the version an entry asks for, or the default.
func depVersion(d Dep, def string) string {
	if d.Version != "" {
		return d.Version
	}
	return def
}

// libSources adds each lib's source files to the app's, or a prebuilt
// binary of the lib when its sources are missing (or preferred).
func (rs *resolver) libSources(m *Manifest, vars *expr.Vars, globs []string, res *Result) error {
	board := ""
	if v, ok := vars.Get("build_vars.BOARD"); ok {
		board, _ = v.(string)
	}
	for i := range m.LibsHandled {
		lh := &m.LibsHandled[i]
		listed := len(lh.Sources) > 0
		files, dirs, err := resolvePaths(rs.cwd, lh.Sources, globs)
		if err != nil {
			return fmt.Errorf("lib %q: sources: %w", lh.Lib.Name, err)
		}
		lh.Sources = files

		binary := ""
		var fetchErrs []error
		if (len(files) == 0 && listed) || rs.req.PreferPrebuiltLibs {
			var variants []string
			if lh.Lib.Variant != "" {
				variants = append(variants, lh.Lib.Variant)
			}
			if board != "" {
				variants = append(variants, m.Platform+"-"+board)
			}
			variants = append(variants, m.Platform)
			version := depVersion(lh.Lib, m.LibsVersion)
			for _, variant := range variants {
				p, err := rs.req.Provider.PrebuiltLib(rs.ctx, &lh.Lib, variant, version)
				if err != nil {
					if ctxErr := rs.ctx.Err(); ctxErr != nil {
						return ctxErr
					}
					fetchErrs = append(fetchErrs, fmt.Errorf("variant %s: %w", variant, err))
					continue
				}
				if p != "" {
					binary = absJoin(rs.cwd, p)
					rs.logf("Prebuilt binary for %q: %s", lh.Lib.Name, binary)
					break
				}
			}
		}
		switch {
		case binary != "":
			lh.Sources = []string{}
			lh.BinaryLibs = append(lh.BinaryLibs, binary)
			m.BinaryLibs = append(m.BinaryLibs, binary)
		case len(files) == 0 && listed:
			return &PrebuiltError{Lib: lh.Lib.Name, FetchErrs: fetchErrs}
		default:
			m.Sources = append(m.Sources, files...)
		}
		res.SourceDirs = append(res.SourceDirs, dirs...)
	}
	return nil
}

// resolvePaths turns a path list into existing files. Entries are files,
// dirs (standing for dir/<glob> for each of globs) or globs; a leading '-'
// removes what the entry resolves to from the result, '+' is a no-op.
// Relative entries are taken against cwd; results are absolute. dirs are
// the dirs of the entries that add files, minus those of removing entries.
func resolvePaths(cwd string, list, globs []string) (files, dirs []string, err error) {
	var add, remove []string
	for _, e := range list {
		switch {
		case e == "":
		case e[0] == '-':
			remove = append(remove, e[1:])
		case e[0] == '+':
			add = append(add, e[1:])
		default:
			add = append(add, e)
		}
	}
	addFiles, addDirs, err := expandEntries(cwd, add, globs)
	if err != nil {
		return nil, nil, err
	}
	rmFiles, rmDirs, err := expandEntries(cwd, remove, globs)
	if err != nil {
		return nil, nil, err
	}
	gone := map[string]bool{}
	for _, f := range rmFiles {
		gone[f] = true
	}
	goneDir := map[string]bool{}
	for _, d := range rmDirs {
		goneDir[d] = true
	}
	for _, f := range addFiles {
		if !gone[f] {
			files = append(files, f)
		}
	}
	for _, d := range addDirs {
		if !goneDir[d] {
			dirs = append(dirs, d)
		}
	}
	return files, dirs, nil
}

// expandEntries resolves entries without +/- prefixes; see resolvePaths.
// Nothing is deduplicated.
func expandEntries(cwd string, entries, globs []string) (files, dirs []string, err error) {
	var patterns []string
	for _, e := range entries {
		p := absJoin(cwd, filepath.FromSlash(e))
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			for _, g := range globs {
				patterns = append(patterns, filepath.Join(p, g))
			}
			dirs = append(dirs, p)
			continue
		case err == nil:
		case !errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Errorf("%s: %w", e, err)
		default:
			// Not there: maybe a glob; matching nothing drops it silently.
			matches, err := filepath.Glob(p)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e, err)
			}
			if len(matches) == 0 {
				continue
			}
		}
		patterns = append(patterns, p)
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, matches...)
	}
	return files, dirs, nil
}

// applyFSFilters keeps the files whose base name the first matching
// filter includes, or that no filter matches.
func applyFSFilters(files []string, filters []*FSFilter) ([]string, error) {
	if len(filters) == 0 {
		return files, nil
	}
	var out []string
	for i, f := range files {
		base := filepath.Base(f)
		keep := true
		for _, flt := range filters {
			if flt == nil {
				continue
			}
			if flt.Include != "" && flt.Exclude != "" {
				return nil, fmt.Errorf("fs_filters entry %d: only one of include or exclude is allowed", i)
			}
			if flt.Include != "" {
				if ok, _ := path.Match(flt.Include, base); ok {
					keep = true
					break
				}
			}
			if flt.Exclude != "" {
				if ok, _ := path.Match(flt.Exclude, base); ok {
					keep = false
					break
				}
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	return out, nil
}

// mosPlatforms lists the platforms the mos dir supports: the dirs
// platforms/* holding an sdk.version file, sorted.
func mosPlatforms(mosDir string) []string {
	if mosDir == "" {
		return nil
	}
	matches, _ := filepath.Glob(filepath.Join(mosDir, "platforms", "*", "sdk.version"))
	var out []string
	for _, p := range matches {
		out = append(out, filepath.Base(filepath.Dir(p)))
	}
	sort.Strings(out)
	return out
}

// depsManifest lists what went into the build: libs and modules sorted by
// name, with versions and the checksums of prebuilt binaries.
func depsManifest(m *Manifest, moduleRepo map[string]Fetched) (*protocol.DepsManifest, error) {
	dm := &protocol.DepsManifest{AppName: m.Name, ManifestVersion: protocol.DepsManifestVersion}
	for _, lh := range m.LibsHandled {
		e := &protocol.DepsManifestEntry{
			Name:        lh.Lib.Name,
			Location:    lh.Lib.Location,
			Version:     lh.Version,
			UserVersion: lh.UserVersion,
			RepoVersion: lh.RepoVersion,
			RepoDirty:   lh.RepoDirty,
		}
		for _, bl := range lh.BinaryLibs {
			data, err := os.ReadFile(bl)
			if err != nil {
				return nil, fmt.Errorf("checksumming binary lib of %q: %w", lh.Lib.Name, err)
			}
			sum := sha256.Sum256(data)
			e.Blobs = append(e.Blobs, &protocol.DepsBlobEntry{
				Name:   filepath.Base(bl),
				Size:   len(data),
				SHA256: hex.EncodeToString(sum[:]),
			})
		}
		sort.Slice(e.Blobs, func(i, j int) bool { return e.Blobs[i].Name < e.Blobs[j].Name })
		dm.Libs = append(dm.Libs, e)
	}
	sort.Slice(dm.Libs, func(i, j int) bool { return dm.Libs[i].Name < dm.Libs[j].Name })
	for _, mod := range m.Modules {
		f := moduleRepo[mod.Name]
		dm.Modules = append(dm.Modules, &protocol.DepsManifestEntry{
			Name:        mod.Name,
			Location:    mod.Location,
			Version:     depVersion(mod, m.ModulesVersion),
			RepoVersion: f.RepoVersion,
			RepoDirty:   f.RepoDirty,
		})
	}
	sort.Slice(dm.Modules, func(i, j int) bool { return dm.Modules[i].Name < dm.Modules[j].Name })
	return dm, nil
}

// DepsVersionsError lists how a build's deps differ from --deps-versions.
type DepsVersionsError struct {
	Failures []string
}

func (e *DepsVersionsError) Error() string {
	return "deps validation failures: " + strings.Join(e.Failures, "; ")
}

// CheckDepsVersions compares the deps a build has with the ones wanted
// (--deps-versions): user and repo versions, dirtiness, and the size and
// hash of prebuilt binaries (not for "latest", whose binaries change).
func CheckDepsVersions(have, want *protocol.DepsManifest) error {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	for _, h := range have.Libs {
		w := findEntry(want.Libs, h.Name)
		if w == nil {
			failf("%s: no entry found", h.Name)
			continue
		}
		if w.UserVersion != "" && h.UserVersion != w.UserVersion {
			failf("%s: want user version %s, have %s", h.Name, w.UserVersion, h.UserVersion)
		}
		if w.RepoVersion != "" && h.RepoVersion != w.RepoVersion {
			failf("%s: want repo version %s, have %s", h.Name, w.RepoVersion, h.RepoVersion)
		}
		if h.RepoDirty && !w.RepoDirty {
			failf("%s: repo is dirty", h.Name)
		}
		for _, hb := range h.Blobs {
			var wb *protocol.DepsBlobEntry
			for _, b := range w.Blobs {
				if b.Name == hb.Name {
					wb = b
					break
				}
			}
			if wb == nil {
				failf("%s: %s: no entry found", h.Name, hb.Name)
				continue
			}
			if h.Version == "latest" {
				continue
			}
			if (hb.Size > 0 && hb.Size != wb.Size) || (hb.SHA256 != "" && hb.SHA256 != wb.SHA256) {
				failf("%s: %s: want %d/%s, have %d/%s", h.Name, hb.Name, wb.Size, wb.SHA256, hb.Size, hb.SHA256)
			}
		}
	}
	for _, h := range have.Modules {
		w := findEntry(want.Modules, h.Name)
		if w == nil {
			failf("%s: no entry found", h.Name)
			continue
		}
		if w.RepoVersion != "" && h.RepoVersion != w.RepoVersion {
			failf("%s: want repo version %s, have %s", h.Name, w.RepoVersion, h.RepoVersion)
		}
		if h.RepoDirty && !w.RepoDirty {
			failf("%s: repo is dirty", h.Name)
		}
	}
	if len(fails) > 0 {
		return &DepsVersionsError{Failures: fails}
	}
	return nil
}

func findEntry(entries []*protocol.DepsManifestEntry, name string) *protocol.DepsManifestEntry {
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	return nil
}
