package manifest

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/mongoose-os/mos/cli/manifest/expr"
)

type mergeOpts struct {
	// skipSources leaves the target's sources alone (aggregation keeps
	// each lib's sources apart).
	skipSources bool
	// mode for ${...} in the high side's build_vars and cdefs.
	mode expr.Mode
	// initDeps also concatenates init_after and init_before (only done for
	// a platform submanifest).
	initDeps bool
}

// merge merges the low side l and the high side h into t, which is one of
// the two; fields merge does not handle keep t's value. lDir and hDir, when
// set, prefix the relative paths of each side. The high side's build_vars
// and cdefs are expanded with l as the current manifest.
func (r *reader) merge(t, l, h *Manifest, lDir, hDir string, vars *expr.Vars, o mergeOpts) error {
	if err := r.checkMessages(l); err != nil {
		return err
	}
	if err := r.checkMessages(h); err != nil {
		return err
	}

	byName := map[string]Dep{}
	for _, m := range append(append([]Dep(nil), l.Modules...), h.Modules...) {
		if m.Name == "" {
			return fmt.Errorf("module not normalized (no name): %+v", m)
		}
		byName[m.Name] = m
	}
	var modules []Dep
	for _, m := range byName {
		modules = append(modules, m)
	}
	sort.Slice(modules, func(i, j int) bool { return modules[i].Name < modules[j].Name })

	vars = vars.Clone()
	vars.Set(expr.Manifest, tree(l))
	buildVars, err := mergeMap(l.BuildVars, h.BuildVars, vars, o.mode)
	if err != nil {
		return fmt.Errorf("handling build_vars: %w", err)
	}
	cdefs, err := mergeMap(l.CDefs, h.CDefs, vars, o.mode)
	if err != nil {
		return fmt.Errorf("handling cdefs: %w", err)
	}

	if !o.skipSources {
		t.Sources = concat(prefixPaths(l.Sources, lDir), prefixPaths(h.Sources, hDir))
	}
	t.Includes = concat(prefixPaths(l.Includes, lDir), prefixPaths(h.Includes, hDir))
	t.Filesystem = concat(prefixPaths(l.Filesystem, lDir), prefixPaths(h.Filesystem, hDir))
	t.BinaryLibs = concat(prefixPaths(l.BinaryLibs, lDir), prefixPaths(h.BinaryLibs, hDir))
	t.Modules = modules
	t.Libs = concat(l.Libs, h.Libs)
	t.ConfigSchema = concat(l.ConfigSchema, h.ConfigSchema)
	t.CFlags = concat(l.CFlags, h.CFlags)
	t.CXXFlags = concat(l.CXXFlags, h.CXXFlags)
	if o.initDeps {
		t.InitAfter = concat(l.InitAfter, h.InitAfter)
		t.InitBefore = concat(l.InitBefore, h.InitBefore)
	}
	t.BuildVars = buildVars
	t.CDefs = cdefs
	t.Platforms = intersectPlatforms(l.Platforms, h.Platforms)
	t.Conds = concat(prefixCondPaths(l.Conds, lDir), prefixCondPaths(h.Conds, hDir))
	return nil
}

// concat returns a new slice holding a then b (nil when both are nil, so
// that absent stays absent).
func concat[T any](a, b []T) []T {
	if a == nil && b == nil {
		return nil
	}
	out := make([]T, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// mergeMap returns l overwritten by h's entries, whose values are expanded
// with vars.
func mergeMap(l, h map[string]string, vars *expr.Vars, mode expr.Mode) (map[string]string, error) {
	out := make(map[string]string, len(l)+len(h))
	for k, v := range l {
		out[k] = v
	}
	for _, k := range sortedKeys(h) {
		v, err := expr.Expand(vars, h[k], mode)
		if err != nil {
			return nil, fmt.Errorf("handling %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// intersectPlatforms: an empty side puts no restriction; otherwise h's
// entries that l also has, in h's order.
func intersectPlatforms(l, h []string) []string {
	if len(l) == 0 {
		return h
	}
	if len(h) == 0 {
		return l
	}
	in := map[string]bool{}
	for _, p := range l {
		in[p] = true
	}
	out := []string{}
	for _, p := range h {
		if in[p] {
			out = append(out, p)
		}
	}
	return out
}

// prefixPaths puts dir in front of every relative entry of list that does
// not start with '$' or '@'; a leading '+' or '-' stays in front. The
// result is never nil.
func prefixPaths(list []string, dir string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, prefixPath(s, dir))
	}
	return out
}

func prefixPath(s, dir string) string {
	sign := ""
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	if dir != "" && s != "" && s[0] != '$' && s[0] != '@' && !filepath.IsAbs(s) {
		s = filepath.Join(dir, s)
	}
	return sign + s
}

// prefixCondPaths returns conds whose apply blocks have their path lists
// prefixed with dir (the apply blocks are copied, not changed).
func prefixCondPaths(conds []Cond, dir string) []Cond {
	out := make([]Cond, 0, len(conds))
	for _, c := range conds {
		if c.Apply != nil {
			a := *c.Apply
			a.Sources = prefixPaths(a.Sources, dir)
			a.Includes = prefixPaths(a.Includes, dir)
			a.Filesystem = prefixPaths(a.Filesystem, dir)
			a.BinaryLibs = prefixPaths(a.BinaryLibs, dir)
			c.Apply = &a
		}
		out = append(out, c)
	}
	return out
}
