package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mongoose-os/mos/cli/location"
)

// Confinement limits the files a build may use to a few dirs: the build
// server confines a build to its context (and its lib cache). A path that
// resolves outside them, also through a symlink, is refused with a
// *ConfineError. The zero of *Confinement (nil) confines nothing.
type Confinement struct {
	// dirs are absolute, cleaned and symlink-resolved; dirs[0] is the
	// context, which messages name paths relative to.
	dirs []string
}

// NewConfinement confines a build to dirs (each must exist); the first
// is the build context.
func NewConfinement(dirs ...string) (*Confinement, error) {
	if len(dirs) == 0 {
		return nil, errors.New("confinement: no dir given")
	}
	c := &Confinement{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("confinement: %s: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("confinement: %w", err)
		}
		c.dirs = append(c.dirs, filepath.Clean(real))
	}
	return c, nil
}

// Dirs returns the dirs the build is confined to (symlinks resolved), the
// context first.
func (c *Confinement) Dirs() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.dirs...)
}

// ErrOutside is what every ConfineError is (errors.Is).
var ErrOutside = errors.New("outside the build context")

// ConfineError is a path of the build that leads outside its context.
type ConfineError struct {
	Origin string // file the value comes from, relative to the context when inside ("" if none)
	Key    string // e.g. "filesystem[0]", "libs[1].location", "--lib foo"
	Value  string // as written
	Leads  string // where it leads when that is not plain from Value (a symlink); "" otherwise
}

func (e *ConfineError) Error() string {
	var b strings.Builder
	if e.Origin != "" {
		b.WriteString(e.Origin + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Value + " is outside the build context")
	if e.Leads != "" {
		b.WriteString(" (it leads to " + e.Leads + ")")
	}
	return b.String()
}

func (e *ConfineError) Is(target error) bool { return target == ErrOutside }

// inside says whether the absolute, cleaned path p is one of the dirs or
// below one.
func (c *Confinement) inside(p string) bool {
	for _, d := range c.dirs {
		if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// resolve returns where absolute path p leads: symlinks resolved for as
// much of it as exists (the rest appended as written, cleaned).
func resolve(p string) string {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return filepath.Clean(real)
	}
	p = filepath.Clean(p)
	var rest []string
	for dir := p; ; {
		parent := filepath.Dir(dir)
		rest = append([]string{filepath.Base(dir)}, rest...)
		if parent == dir {
			return p
		}
		if real, err := filepath.EvalSymlinks(parent); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		dir = parent
	}
}

// Check returns a *ConfineError when the absolute path p resolves outside
// the confinement; origin, key and value say where p came from.
func (c *Confinement) Check(p, origin, key, value string) error {
	if c == nil {
		return nil
	}
	clean := filepath.Clean(p)
	real := resolve(clean)
	if c.inside(clean) && c.inside(real) {
		return nil
	}
	e := &ConfineError{Origin: c.name(origin), Key: key, Value: value}
	if real != clean && c.inside(clean) {
		e.Leads = real
	}
	return e
}

// display is how a path the engine resolved is named in a message:
// relative to the context when it lies there (its last element not
// resolved, so a symlink shows as itself), else as it is.
func (c *Confinement) display(p string) string {
	dir := resolve(filepath.Dir(p))
	if rel, err := filepath.Rel(c.dirs[0], filepath.Join(dir, filepath.Base(p))); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

// name is p relative to the context when it is inside, else p.
func (c *Confinement) name(p string) string {
	if p == "" || c == nil || !filepath.IsAbs(p) {
		return p
	}
	if rel, err := filepath.Rel(c.dirs[0], resolve(p)); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

// CheckLocation refuses a lib or module location that would read files
// outside the confinement: a local path (relative to base) that resolves
// outside, a file:// URL outside, or a git transport that is not a
// network one (ext::, fd::, a local path given as git repo).
func (c *Confinement) CheckLocation(typ, loc, base, origin, key string) error {
	if c == nil || loc == "" {
		return nil
	}
	l, err := location.Parse(typ, loc)
	if err != nil {
		return nil // reported by whoever uses the location
	}
	if l.Kind == location.Local {
		p := loc
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		return c.Check(p, origin, key, loc)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		// host:path shorthand (ssh) or something git will parse itself:
		// only plain [user@]host:path is a network location.
		if strings.Contains(loc, "::") || strings.HasPrefix(loc, "-") {
			return &ConfineError{Origin: c.name(origin), Key: key, Value: loc}
		}
		return nil
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		return nil
	case "file":
		return c.Check(filepath.FromSlash(u.Path), origin, key, loc)
	}
	return &ConfineError{Origin: c.name(origin), Key: key, Value: loc}
}

// checkManifest refuses the path entries of one manifest file (and of its
// conds' apply blocks) that lead outside the confinement. Relative entries
// are taken against dir, the component's dir, as the engine prefixes them;
// entries starting with '$' or '@' are expanded later and checked once
// resolved (checkResolved). A '-' entry only removes files and is let be.
// Module locations are taken against locBase, as the provider does.
func (c *Confinement) checkManifest(m *Manifest, dir, locBase, key string) error {
	return c.checkManifestIn(m, m.Origin, dir, locBase, key)
}

// checkManifestIn is checkManifest for a manifest written in origin (a
// cond's apply block has no origin of its own).
func (c *Confinement) checkManifestIn(m *Manifest, origin, dir, locBase, key string) error {
	if c == nil || m == nil {
		return nil
	}
	for _, l := range []struct {
		name string
		list []string
	}{
		{"sources", m.Sources}, {"includes", m.Includes}, {"filesystem", m.Filesystem},
		{"binary_libs", m.BinaryLibs}, {"tests", m.Tests},
	} {
		for i, e := range l.list {
			p := strings.TrimPrefix(e, "+")
			if p == "" || p[0] == '-' || p[0] == '$' || p[0] == '@' {
				continue
			}
			p = filepath.FromSlash(p)
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if err := c.Check(globBase(p), origin, key+l.name+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
	}
	for i := range m.Modules {
		d := &m.Modules[i]
		loc := d.Location
		if loc == "" {
			loc = d.Origin
		}
		if err := c.CheckLocation(d.Type, loc, locBase, origin, key+"modules["+strconv.Itoa(i)+"].location"); err != nil {
			return err
		}
	}
	for i, cond := range m.Conds {
		if err := c.checkManifestIn(cond.Apply, origin, dir, locBase, fmt.Sprintf("%sconds[%d].apply.", key, i)); err != nil {
			return err
		}
	}
	return nil
}

// globBase is the part of p before its first glob character's component
// (p itself when it has none): what a glob can match lies below it.
func globBase(p string) string {
	i := strings.IndexAny(p, "*?[")
	if i < 0 {
		return p
	}
	return filepath.Dir(p[:i+1])
}

// checkResolved refuses files and dirs of the final manifest that lead
// outside, symlinks resolved: what globs matched, what ${...} and
// @all_libs expanded to, the lib sources and prebuilt binaries.
func (c *Confinement) checkResolved(key string, paths []string) error {
	if c == nil {
		return nil
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := c.Check(p, "", key, c.display(p)); err != nil {
			return err
		}
	}
	return nil
}

// checkDir refuses a lib or module dir outside the confinement (a
// --lib/--libs-dir/--module dir, or a symlinked dir in deps/); loc is the
// location it was found for.
func (c *Confinement) checkDir(dir, origin, key, loc string) error {
	if c == nil {
		return nil
	}
	if err := c.Check(dir, origin, key, c.display(dir)); err != nil {
		var ce *ConfineError
		if errors.As(err, &ce) {
			ce.Key += " (location " + loc + ")"
		}
		return err
	}
	return nil
}

// confineLib refuses the lib entry p.Libs[i] (its location before the
// provider is asked, dir once it answered) when it leads outside.
func (rs *resolver) confineLib(p *Manifest, i int, e *Dep, dir string) error {
	c := rs.req.Confine
	if c == nil {
		return nil
	}
	key := "libs[" + strconv.Itoa(i) + "].location"
	if dir == "" {
		return c.CheckLocation(e.Type, e.Location, rs.cwd, p.Origin, key)
	}
	return c.checkDir(dir, p.Origin, "libs["+strconv.Itoa(i)+"] "+e.Name, e.Location)
}

// confineFinal refuses what the final manifest resolved to when it leads
// outside: files and dirs of sources, filesystem, binary_libs, tests and
// includes, symlinks resolved.
func (rs *resolver) confineFinal(m *Manifest, res *Result) error {
	c := rs.req.Confine
	if c == nil {
		return nil
	}
	includes := make([]string, 0, len(m.Includes))
	for _, inc := range m.Includes {
		if inc != "" {
			includes = append(includes, absJoin(rs.cwd, filepath.FromSlash(inc)))
		}
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{
		{"sources", m.Sources}, {"sources", res.SourceDirs},
		{"filesystem", m.Filesystem}, {"filesystem", res.FSDirs},
		{"binary_libs", m.BinaryLibs}, {"binary_libs", res.BinaryLibDirs},
		{"tests", m.Tests}, {"includes", includes},
	} {
		if err := c.checkResolved(l.key, l.paths); err != nil {
			return err
		}
	}
	return nil
}
