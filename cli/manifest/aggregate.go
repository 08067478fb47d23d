package manifest

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mongoose-os/mos/cli/manifest/expr"
)

// allLibs in a path list stands for "this path in every lib".
const allLibs = "@all_libs"

// CondError is the `error:` of a true cond.
type CondError struct {
	When, Text string
}

func (e *CondError) Error() string { return e.Text }

// aggregate merges the chain (root manifest, libs in libs order, app) into
// one manifest and runs the cond rounds until no cond is left. app must
// have LibsHandled set in libs order. When a cond adds libs, it returns
// (nil, true, nil): the caller processes them and calls again.
func (rs *resolver) aggregate(app *Manifest) (*Manifest, bool, error) {
	root, _, err := rs.rd.readFile(rootOrigin, rs.vars, true)
	if err != nil {
		return nil, false, err
	}
	if err := rs.expandConds(root, root, false); err != nil {
		return nil, false, fmt.Errorf("%s: %w", rootOrigin, err)
	}

	for {
		if err := rs.ctx.Err(); err != nil {
			return nil, false, err
		}
		type member struct {
			name string
			dir  string
			m    *Manifest
			lh   *LibHandled // nil for the root and the app
		}
		chain := []member{{name: "root_manifest", m: root}}
		for i := range app.LibsHandled {
			lh := &app.LibsHandled[i]
			chain = append(chain, member{name: lh.Lib.Name, dir: lh.Path, m: lh.Manifest, lh: lh})
		}
		chain = append(chain, member{name: appNode, m: app})

		acc := &Manifest{}
		for _, c := range chain {
			cur := *c.m
			if c.lh != nil {
				c.lh.Sources = prefixPaths(cur.Sources, c.dir)
			}
			opts := mergeOpts{skipSources: true, mode: expr.Strict}
			if err := rs.rd.merge(&cur, acc, &cur, "", c.dir, rs.vars, opts); err != nil {
				return nil, false, fmt.Errorf("expanding %q: %w", c.name, err)
			}
			acc = &cur
		}
		if len(acc.Conds) == 0 {
			return acc, false, nil
		}

		// Conds are applied to the components they belong to, but decided
		// against the aggregate: the app's first, then the libs' in libs
		// order. A component that gains libs stops the round.
		if err := rs.expandConds(app, acc, true); err != nil {
			return nil, false, fmt.Errorf("expanding app manifest's conds: %w", err)
		}
		if len(app.Libs) > 0 {
			return nil, true, nil
		}
		for _, lh := range app.LibsHandled {
			if lh.Manifest == nil || len(lh.Manifest.Conds) == 0 {
				continue
			}
			if err := rs.expandConds(lh.Manifest, acc, false); err != nil {
				return nil, false, fmt.Errorf("expanding %q conds: %w", lh.Lib.Name, err)
			}
			if len(lh.Manifest.Libs) > 0 {
				return nil, true, nil
			}
		}
	}
}

// expandConds applies the true conds of dst, deciding each `when` against
// ref, and removes them all from dst (conds inside applied blocks are
// added and wait for the next round).
func (rs *resolver) expandConds(dst, ref *Manifest, isApp bool) error {
	return expandConds(rs.rd, rs.vars, dst, ref, isApp)
}

func expandConds(rd *reader, vars *expr.Vars, dst, ref *Manifest, isApp bool) error {
	conds := dst.Conds
	dst.Conds = nil
	vars = vars.Clone()
	vars.Set(expr.Manifest, tree(ref))
	for i, c := range conds {
		ok, err := expr.EvalBool(vars, c.When)
		if err != nil {
			return fmt.Errorf("evaluating cond \"when\" expression '%s': %w", c.When, err)
		}
		if !ok {
			continue
		}
		if c.Error != "" {
			return &CondError{When: c.When, Text: c.Error}
		}
		if c.Apply == nil {
			continue
		}
		apply := *c.Apply
		apply.Origin = fmt.Sprintf("%s cond %d", dst.Origin, i+1)
		if err := rd.merge(dst, dst, &apply, "", "", vars, mergeOpts{mode: expr.Keep}); err != nil {
			return err
		}
		if isApp && apply.Name != "" {
			dst.Name = apply.Name
		}
		if apply.Description != "" {
			dst.Description = apply.Description
		}
		if apply.Version != "" {
			dst.Version = apply.Version
		}
	}
	return nil
}

// expandAllLibs replaces each "@all_libs<rest>" entry by "<lib dir><rest>"
// for every lib in libs order.
func expandAllLibs(list []string, libs []LibHandled) []string {
	out := []string{}
	for _, p := range list {
		rest, ok := strings.CutPrefix(p, allLibs)
		if !ok {
			out = append(out, p)
			continue
		}
		for _, lh := range libs {
			out = append(out, filepath.Join(lh.Path, rest))
		}
	}
	return out
}
