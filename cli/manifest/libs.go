package manifest

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest/expr"
)

// appNode is the app's node in the deps and init graphs.
const appNode = "app"

// Implicit lib every app gets unless no_implicit_init_deps is set.
const (
	coreLibName     = "core"
	coreLibLocation = "https://github.com/mongoose-os-libs/core"
)

// pendingLibs is a manifest whose libs: are still to be processed, and the
// graph node that refers to them.
type pendingLibs struct {
	parent string
	m      *Manifest
}

// NameMismatchError: a lib's own name (in its mos.yml) and the name its
// reference uses (or would derive) disagree.
type NameMismatchError struct {
	Name     string // the name in the lib's mos.yml
	Location string
	RefName  string // the name in the referring entry ("" when it had none)
	From     string // origin of the referring manifest
}

func (e *NameMismatchError) Error() string {
	if e.RefName == "" {
		return fmt.Sprintf("Library %q at %q must be referred to as %q from %q", e.Name, e.Location, e.Name, e.From)
	}
	return fmt.Sprintf("Library %q at %q is referred to as %q from %q", e.Name, e.Location, e.RefName, e.From)
}

// LibError is a lib that could not be obtained or read.
type LibError struct {
	Name, Location string
	Err            error
}

func (e *LibError) Error() string {
	return fmt.Sprintf("lib %q (%s): %v", e.Name, e.Location, e.Err)
}

func (e *LibError) Unwrap() error { return e.Err }

// haveVar is the MGOS_HAVE_<ID> variable announcing lib name.
func haveVar(name string) string {
	return "MGOS_HAVE_" + strings.ToUpper(expr.Ident(name))
}

// prepareApp applies what only the app manifest gets: the implicit core
// lib, --lib-extra, MGOS and the CLI's cdefs and flags.
func (rs *resolver) prepareApp(app *Manifest) {
	if !app.NoImplInitDeps && !hasLib(app.Libs, coreLibName) {
		app.Libs = append(app.Libs, Dep{Location: coreLibLocation})
	}
	for _, l := range rs.req.ExtraLibs {
		_ = normalizeDep(&l)
		n, _ := location.LibName(l.Name, l.Type, l.Location)
		if !hasLib(app.Libs, n) {
			app.Libs = append(app.Libs, l)
		}
	}
	app.BuildVars["MGOS"] = "1"
	app.CDefs["MGOS"] = "1"
	for k, v := range rs.req.CDefs {
		app.CDefs[k] = v
	}
	app.CFlags = concat(app.CFlags, rs.req.CFlagsExtra)
	app.CXXFlags = concat(app.CXXFlags, rs.req.CXXFlagsExtra)
}

// hasLib says whether one of list has name (names as normalization gives
// them; entries that cannot be named do not count).
func hasLib(list []Dep, name string) bool {
	for _, l := range list {
		_ = normalizeDep(&l)
		if n, err := location.LibName(l.Name, l.Type, l.Location); err == nil && n == name {
			return true
		}
	}
	return false
}

// drainLibs processes queued manifests level by level until no new lib is
// found.
func (rs *resolver) drainLibs() error {
	for len(rs.queue) > 0 {
		batch := rs.queue
		rs.queue = nil
		for _, p := range batch {
			if err := rs.prepareLibs(p.parent, p.m); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepareLibs processes the libs: of m (referred to by graph node parent)
// in list order and empties the list.
func (rs *resolver) prepareLibs(parent string, m *Manifest) error {
	for i := range m.Libs {
		if err := rs.ctx.Err(); err != nil {
			return err
		}
		if err := rs.prepareLib(parent, i, m); err != nil {
			return err
		}
	}
	m.Libs = nil
	return nil
}

// prepareLib handles the lib reference p.Libs[i].
func (rs *resolver) prepareLib(parent string, i int, p *Manifest) error {
	e := &p.Libs[i]
	refName := e.Name
	if err := normalizeDep(e); err != nil {
		return fmt.Errorf("%s: libs[%d]: %w", p.Origin, i, err)
	}
	if known := rs.byRef[e.Name]; known != nil {
		rs.reencounter(parent, p, &known.Lib, e)
		return nil
	}
	rs.logf("Reading lib %q at %q...", e.Name, e.Location)

	if err := rs.confineLib(p, i, e, ""); err != nil {
		return err
	}
	f, err := rs.req.Provider.Lib(rs.ctx, e, rs.req.AppDir, rs.app.LibsVersion, p.Platform)
	if err != nil {
		if rs.req.SkipLib != nil && rs.req.SkipLib(err) {
			return nil
		}
		return &LibError{Name: e.Name, Location: e.Location, Err: err}
	}
	dir := absJoin(rs.cwd, f.Dir)
	if err := rs.confineLib(p, i, e, dir); err != nil {
		return err
	}

	if rs.libPlatform == "" {
		rs.libPlatform = p.Platform
	}
	lm, mtime, err := rs.rd.readComponent(dir, rs.libPlatform, rs.req.BuildVars, rs.vars)
	if err != nil {
		return err
	}
	if lm.Platform == "" && !rs.req.PlatformOptional {
		return fmt.Errorf("%s: %w", lm.Origin, ErrNoPlatform)
	}
	if mtime.After(rs.mtime) {
		rs.mtime = mtime
	}

	// Reconcile the referring name with the lib's own.
	if lm.Name != "" {
		if refName != "" && refName != lm.Name {
			return &NameMismatchError{Name: lm.Name, Location: e.Location, RefName: refName, From: p.Origin}
		}
		if refName == "" && e.Name != lm.Name {
			return &NameMismatchError{Name: lm.Name, Location: e.Location, From: p.Origin}
		}
	}
	if refName != "" {
		e.Name = refName
	}
	name, err := location.LibName(e.Name, e.Type, e.Location)
	if err != nil {
		return fmt.Errorf("%s: lib at %q: %w", p.Origin, e.Location, err)
	}
	rs.logf("Handling lib %q at %q...", name, e.Location)

	if known := rs.handled[name]; known != nil {
		rs.byRef[e.Name] = known
		rs.reencounter(parent, p, &known.Lib, e)
		return nil
	}

	rs.queue = append(rs.queue, pendingLibs{parent: name, m: lm})
	rs.deps.addNode(name)
	rs.initDeps.addNode(name)
	rs.deps.addEdge(parent, name)
	if !p.NoImplInitDeps {
		rs.initDeps.addEdge(parent, name)
	}
	have := haveVar(name)
	setVar(&p.BuildVars, have, "1")
	setVar(&p.CDefs, have, "1")

	lh := &LibHandled{
		Lib:         *e,
		Path:        dir,
		Deps:        []string{},
		RepoVersion: f.RepoVersion,
		RepoDirty:   f.RepoDirty,
		Manifest:    lm,
	}
	rs.handled[name] = lh
	rs.byRef[e.Name] = lh
	rs.initDeps.addNodeWithEdges(name, lm.InitAfter)
	if !lm.NoImplInitDeps && name != coreLibName {
		rs.initDeps.addEdge(name, coreLibName)
	}
	for _, b := range lm.InitBefore {
		rs.initDeps.addNodeWithEdges(b, []string{name})
	}
	return nil
}

// reencounter handles a reference to a lib that is already known: only
// the graph edges are added, and the app may change the variant.
func (rs *resolver) reencounter(parent string, p *Manifest, had, now *Dep) {
	if had.Location == now.Location {
		rs.logf("Lib %q at %q: already handled...", had.Name, had.Location)
	} else {
		rs.logf("Lib %q at %q: overridden by same at %q...", had.Name, now.Location, had.Location)
	}
	rs.deps.addEdge(parent, had.Name)
	if !p.NoImplInitDeps {
		rs.initDeps.addEdge(parent, had.Name)
	}
	if parent == appNode && now.Variant != "" {
		had.Variant = now.Variant
	}
}

// orderLibs computes the libs order and the init order from the graphs and
// returns the handled libs in libs order (copies, with init_deps set) and
// the init order.
func (rs *resolver) orderLibs() ([]LibHandled, []string, error) {
	order, cycle := rs.deps.order()
	if cycle != nil {
		return nil, nil, &CycleError{Path: cycle}
	}
	if len(order) > 0 {
		order = order[:len(order)-1] // the app comes last
	}

	byName := map[string]*LibHandled{}
	for n, lh := range rs.handled {
		c := *lh
		byName[n] = &c
	}

	// Init deps may be globs on both ends: match them against the libs
	// present, dropping what matches nothing.
	expanded := newGraph()
	for _, n := range rs.initDeps.sortedNodes() {
		if n == appNode {
			continue
		}
		froms := matchNames(nil, n, order)
		var tos []string
		for _, d := range rs.initDeps.edges[n] {
			tos = matchNames(tos, d, order)
		}
		for _, f := range froms {
			expanded.addNodeWithEdges(f, tos)
		}
	}
	for _, n := range expanded.sortedNodes() {
		if lh := byName[n]; lh != nil {
			deps := append([]string{}, expanded.edges[n]...)
			sort.Strings(deps)
			lh.InitDeps = deps
		}
	}
	initOrder, cycle := expanded.order()
	if cycle != nil {
		return nil, nil, &CycleError{Init: true, Path: cycle}
	}

	libs := make([]LibHandled, 0, len(order))
	for _, n := range order {
		libs = append(libs, *byName[n])
	}
	return libs, initOrder, nil
}

func setVar(m *map[string]string, k, v string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
}

// absJoin makes p absolute against dir (cleaned, symlinks kept).
func absJoin(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
