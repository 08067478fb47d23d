package manifest

import (
	"encoding/json"
	"fmt"

	"github.com/mongoose-os/mos/cli/manifest/expr"
)

func (rs *resolver) logf(format string, args ...any) {
	if rs.req.Log != nil {
		rs.req.Log(fmt.Sprintf(format, args...))
	}
}

// ReadAppForUpload reads the app manifest alone, as the remote-build
// client does before staging: mos.yml merged with mos_<platform>.yml
// (platform from the argument, else from the file; lower-cased), empty
// type -> app, the CLI build vars merged in. Then the app's own conds are
// decided once against this manifest (mos.platform and mos.version set):
// the true ones are applied and all are dropped. Libs are not read.
// appDir may be relative to cwd ("" = the process's working dir).
func ReadAppForUpload(appDir, cwd, platform string, buildVars map[string]string, mosVersion string) (*Manifest, error) {
	rd := newReader(cwd, nil)
	vars := expr.NewVars()
	vars.Set(expr.MosVersion, mosVersion)
	m, _, err := rd.readComponent(appDir, platform, buildVars, vars)
	if err != nil {
		return nil, err
	}
	if m.Platform == "" {
		return nil, ErrNoPlatform
	}
	vars.Set(expr.MosPlatform, m.Platform)
	if err := expandConds(rd, vars, m, m, true); err != nil {
		return nil, fmt.Errorf("expanding app manifest's conds: %w", err)
	}
	return m, nil
}

// evalVars are the variables `mos eval-manifest-expr` evaluates against:
// the final manifest, mos.version and mos.platform.
func evalVars(m *Manifest, platform, mosVersion string) *expr.Vars {
	vars := expr.NewVars()
	vars.Set(expr.MosVersion, mosVersion)
	if platform == "" {
		platform = m.Platform
	}
	vars.Set(expr.MosPlatform, platform)
	vars.Set(expr.Manifest, tree(m))
	return vars
}

// EvalExpr evaluates an expression (the `when:` language, e.g.
// "build_vars.BOARD" or `mos.platform == "esp32"`) against a final
// manifest. platform "" means the manifest's own.
func EvalExpr(m *Manifest, platform, mosVersion, expression string) (any, error) {
	return expr.Eval(evalVars(m, platform, mosVersion), expression)
}

// EvalExprOutput is what `mos eval-manifest-expr` prints: the value of
// the expression as indented JSON, in which ${...} are then expanded
// against the same variables (an expansion that fails is an error).
func EvalExprOutput(m *Manifest, platform, mosVersion, expression string) (string, error) {
	vars := evalVars(m, platform, mosVersion)
	v, err := expr.Eval(vars, expression)
	if err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("formatting the value: %w", err)
	}
	return expr.Expand(vars, string(data), expr.Strict)
}
