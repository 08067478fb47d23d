package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"unicode"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
)

// Top-level names of the upload that staging creates.
const (
	depsDir      = "deps"
	modulesDir   = "deps/modules"
	localLibsDir = "local_libs"
)

// treeSource is a dir on disk uploaded under a name prefix.
type treeSource struct {
	dir    string // disk path
	prefix string // slash zip name prefix
	what   string // for messages: "--lib foo", "local lib foo", "sources[0]"
}

// plan is what staging decided from the manifest and the custom
// locations, before any file is read: which dirs go where, which parts of
// the app dir are uploaded, and the manifest and locations to send.
type plan struct {
	manifest  *manifest.Manifest // rewritten for the upload
	trees     []treeSource       // out-of-tree dirs, in the order found
	whitelist *whitelist         // app dir: what is uploaded
	exclude   map[string]bool    // app dir: slash paths never uploaded
	// Custom locations that stay in build_params: git URLs, which the
	// server fetches itself (stock tried to copy them and failed).
	libs, modules map[string]string
	// warnings name the entries that match nothing on disk.
	warnings []string
}

// planInput is what planning reads. Paths use syntax ps; stat tells
// whether a path is a dir (an error wrapping fs.ErrNotExist when missing),
// so planning can be run on Windows paths anywhere.
type planInput struct {
	ps                       pathSyntax
	appDir, buildDir, genDir string
	manifest                 *manifest.Manifest
	libs, modules            map[string]string // --lib, --module NAME -> location
	localLibs                *localDeps        // libs found on this machine; nil for none
	stat                     func(path string) (isDir bool, err error)
	// readDir lists a dir's names, for the disk's spelling of in-app
	// entries and for the warnings; nil skips both.
	readDir func(path string) ([]string, error)
}

func (in planInput) fs() diskFS { return diskFS{stat: in.stat, readDir: in.readDir} }

// inApp returns the disk's spelling of the components rel of an in-app
// path (as typed without readDir) and whether it exists.
func (in planInput) inApp(app absPath, rel []string) ([]string, bool, error) {
	if in.readDir == nil {
		return rel, true, nil
	}
	return in.ps.onDisk(app, rel, in.fs())
}

// makePlan stages the manifest as stock does (remote-build-protocol.md §3)
// without its holes: nested dirs named build are uploaded, in-tree local
// libs at any depth are uploaded, external code gets slash names. It
// rewrites in.manifest in place.
func makePlan(in planInput) (*plan, error) {
	ps := in.ps
	app := ps.resolve(in.appDir, ".")
	m := in.manifest
	pl := &plan{
		manifest:  m,
		whitelist: newWhitelist(),
		exclude:   map[string]bool{"build": true, manifest.FileName: true},
		libs:      map[string]string{},
		modules:   map[string]string{},
	}
	for _, d := range []string{in.buildDir, in.genDir} {
		if d == "" {
			continue
		}
		if rel, ok := ps.relInside(app, ps.resolve(in.appDir, d)); ok && len(rel) > 0 {
			if canon, _, err := in.inApp(app, rel); err == nil {
				rel = canon
			}
			pl.exclude[slashJoin(rel...)] = true
		}
	}
	pl.whitelist.addPath(manifest.FileName)
	pl.whitelist.addPath(depsDir)
	pl.whitelist.addPath(localLibsDir)

	switch m.Type {
	case manifest.TypeApp, manifest.TypeLib:
	default:
		return nil, fmt.Errorf("invalid project type: %q", m.Type)
	}
	if m.Name == "" && len(app.parts) > 0 {
		m.Name = app.parts[len(app.parts)-1]
	}
	if strings.IndexFunc(m.Name, unicode.IsSpace) >= 0 {
		return nil, fmt.Errorf("app name (%q) should not contain spaces", m.Name)
	}

	if in.localLibs == nil {
		in.localLibs = &localDeps{}
	}
	if err := pl.addCustom(in, "--lib", in.libs, depsDir, pl.libs, nil); err != nil {
		return nil, err
	}
	if err := pl.addCustom(in, "--module", in.modules, modulesDir, pl.modules, in.localLibs.moduleDirs); err != nil {
		return nil, err
	}
	if err := pl.addLocalLibs(in, app); err != nil {
		return nil, err
	}

	for _, f := range []struct {
		key     string
		entries []string
	}{
		{"sources", m.Sources},
		{"includes", m.Includes},
		{"filesystem", m.Filesystem},
		{"binary_libs", m.BinaryLibs},
	} {
		for i, e := range f.entries {
			newName, found, err := pl.addExternal(in, app, e)
			if err != nil {
				return nil, fmt.Errorf("mos.yml: %s[%d] %q: %w", f.key, i, e, err)
			}
			if newName != "" {
				f.entries[i] = newName
			}
			if !found && f.key != "binary_libs" {
				pl.warnings = append(pl.warnings, fmt.Sprintf("mos.yml: %s[%d] %q matches nothing", f.key, i, e))
			}
		}
	}
	for i, e := range m.ExtraFiles {
		if rel, ok := ps.relInside(app, ps.resolve(in.appDir, e)); ok {
			canon, _, err := in.inApp(app, rel)
			if err != nil {
				return nil, fmt.Errorf("mos.yml: extra_files[%d] %q: %w", i, e, err)
			}
			pl.whitelist.addFirst(canon)
		}
	}

	localLibs := map[string]string{} // name -> dir
	for i := range m.Libs {
		if err := pl.addLocalLib(in, app, &m.Libs[i], localLibs); err != nil {
			return nil, fmt.Errorf("mos.yml: libs[%d]: %w", i, err)
		}
	}
	return pl, nil
}

// addCustom plans --lib/--module dirs: each local one is uploaded as
// <under>/<dir> instead of what the app's own deps/ holds there; dir is
// dirs[name] when known (a module's repo name, where the server's lookup
// of its git location goes), else the name.
func (pl *plan) addCustom(in planInput, flag string, locs map[string]string, under string, kept, dirs map[string]string) error {
	names := make([]string, 0, len(locs))
	for n := range locs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		loc := locs[n]
		if location.IsGit("", loc) {
			kept[n] = loc
			continue
		}
		if err := protocol.CheckPathComponent(flag+" name", n); err != nil {
			return err
		}
		prefix := under + "/" + n
		if d, ok := dirs[n]; ok {
			prefix = under + "/" + d
		}
		pl.trees = append(pl.trees, treeSource{dir: in.ps.join(in.ps.resolve(in.appDir, loc)), prefix: prefix, what: flag + " " + n})
		pl.exclude[prefix] = true
	}
	return nil
}

// addExternal handles one sources/includes/filesystem/binary_libs entry,
// returning its new value ("" to keep it) and whether it matches anything
// on disk (true when that is not known). In-tree ones whitelist their
// first component as the disk spells it, and are sent as a slash path
// below the app in that spelling (the server is Linux: a backslash is a
// name character there, and case matters); out-of-tree ones upload their
// dir under stock's "_"-joined name, returned (plus the glob) as the
// entry's new value.
func (pl *plan) addExternal(in planInput, app absPath, entry string) (string, bool, error) {
	ps := in.ps
	abs := ps.resolve(in.appDir, entry)
	if rel, ok := ps.relInside(app, abs); ok {
		canon, found, err := in.inApp(app, rel)
		if err != nil {
			return "", false, err
		}
		pl.whitelist.addFirst(canon)
		if !ps.windows && !ps.isAbs(entry) && strings.Join(canon, "/") == strings.Join(rel, "/") {
			return "", found, nil // as written: nothing to mend
		}
		if len(canon) == 0 {
			return ".", found, nil
		}
		return slashJoin(canon...), found, nil
	}
	dir, glob := abs, ""
	isDir, err := in.stat(ps.join(abs))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	found := err == nil
	if err != nil || !isDir {
		// A glob, a missing path or a file: upload the dir holding it.
		if len(abs.parts) == 0 {
			return "", false, fmt.Errorf("%s: not a directory", ps.join(abs))
		}
		glob = abs.parts[len(abs.parts)-1]
		dir = absPath{vol: abs.vol, parts: abs.parts[:len(abs.parts)-1]}
		isDir, err := in.stat(ps.join(dir))
		if err != nil {
			return "", false, err
		}
		if !isDir {
			return "", false, fmt.Errorf("%s: not a directory", ps.join(dir))
		}
		if !found && hasGlob(glob) {
			found = true // unknown without readDir
			if in.readDir != nil {
				_, found, _ = ps.onDisk(dir, []string{glob}, in.fs())
			}
		}
	}
	name := flatName(dir, glob != "")
	if !pl.hasTree(name) {
		pl.trees = append(pl.trees, treeSource{dir: ps.join(dir), prefix: name, what: "external dir " + ps.join(dir)})
		pl.whitelist.addPath(name)
	}
	return slashJoin(name, glob), found, nil
}

func (pl *plan) hasTree(prefix string) bool {
	for _, t := range pl.trees {
		if t.prefix == prefix {
			return true
		}
	}
	return false
}

// addLocalLib handles one libs entry: a lib in a local dir is uploaded, at
// its relative place when inside the app (any depth), else as
// local_libs/<name>; its location becomes that slash path.
func (pl *plan) addLocalLib(in planInput, app absPath, l *manifest.Dep, seen map[string]string) error {
	ps := in.ps
	loc := l.Location
	if loc == "" {
		loc = l.Origin
	}
	if loc == "" || location.IsGit(l.Type, loc) {
		return nil
	}
	abs := ps.resolve(in.appDir, loc)
	if rel, ok := ps.relInside(app, abs); ok {
		if len(rel) == 0 {
			return fmt.Errorf("local lib %q is the app dir itself", loc)
		}
		canon, _, err := in.inApp(app, rel)
		if err != nil {
			return err
		}
		relName := slashJoin(canon...)
		pl.whitelist.addPath(relName)
		l.Location, l.Origin = relName, ""
		return nil
	}
	name := l.Name
	if name == "" {
		parsed, err := location.Parse(l.Type, loc)
		if err != nil {
			return err
		}
		name = parsed.Name
	}
	if err := protocol.CheckPathComponent("local lib name", name); err != nil {
		return err
	}
	dir := ps.join(abs)
	if prev, ok := seen[name]; ok && prev != dir {
		return fmt.Errorf("two local libs named %q: %s and %s", name, prev, dir)
	}
	prefix := localLibsDir + "/" + name
	if _, ok := seen[name]; !ok {
		seen[name] = dir
		pl.trees = append(pl.trees, treeSource{dir: dir, prefix: prefix, what: "local lib " + name})
		pl.exclude[prefix] = true
	}
	l.Location, l.Origin = prefix, ""
	return nil
}
