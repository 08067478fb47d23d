// Package evalexpr implements `mos eval-manifest-expr EXPR`: it resolves the
// app's final manifest (libs included) and prints the value of an
// expression of the `when:` language against it, as upstream does.
package evalexpr

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/cli/libs"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/version"
)

// EvalExprOptions are the inputs of eval-manifest-expr.
type EvalExprOptions struct {
	IO *cmdutil.IOStreams
	buildflags.Flags
	Dir  string // app dir
	Expr string
	// Provider makes the lib provider; nil means the real one (package libs).
	Provider func(opts libs.Options) (manifest.Provider, error)
}

// NewCmdEvalExpr returns the command; runF replaces the run in tests.
func NewCmdEvalExpr(f *cmdutil.Factory, runF func(context.Context, *EvalExprOptions) error) *cobra.Command {
	opts := &EvalExprOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "eval-manifest-expr EXPR",
		Short: "Evaluate an expression against the app's final manifest",
		Example: `  mos eval-manifest-expr --platform esp32 build_vars.MGOS_HAVE_WIFI
  mos eval-manifest-expr --platform esp32 'mos.platform == "esp32"'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wd, err := f.WorkDir()
			if err != nil {
				return err
			}
			opts.Dir, opts.Expr = wd, args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return evalExprRun(cmd.Context(), opts)
		},
	}
	opts.Flags.Register(cmd.Flags())
	return cmd
}

func evalExprRun(ctx context.Context, opts *EvalExprOptions) error {
	bp, err := opts.Params(opts.Dir)
	if err != nil {
		return err
	}
	popts := libs.Options{
		AppDir:     opts.Dir,
		DepsDir:    optAbs(opts.Dir, opts.DepsDir),
		ModulesDir: optAbs(opts.Dir, opts.ModulesDir),
		Log:        io.Discard,
	}
	for _, d := range opts.LibsDirs {
		popts.LibsDirs = append(popts.LibsDirs, buildflags.AbsFrom(opts.Dir, d))
	}
	popts.ApplyParams(bp)
	newProvider := opts.Provider
	if newProvider == nil {
		newProvider = func(o libs.Options) (manifest.Provider, error) { return libs.New(o) }
	}
	provider, err := newProvider(popts)
	if err != nil {
		return err
	}
	req := &manifest.Request{
		AppDir:           opts.Dir,
		Cwd:              opts.Dir,
		PlatformOptional: true,
		MosVersion:       version.Presented(),
		Provider:         provider,
		Warn:             func(msg string) { fmt.Fprintln(opts.IO.ErrOut, msg) },
	}
	req.ApplyParams(bp)
	res, err := manifest.Resolve(ctx, req)
	if err != nil {
		return err
	}
	out, err := manifest.EvalExprOutput(res.Manifest, bp.Platform, version.Presented(), opts.Expr)
	if err != nil {
		return fmt.Errorf("evaluating %q: %w", opts.Expr, err)
	}
	_, err = fmt.Fprintln(opts.IO.Out, out)
	return err
}

func optAbs(dir, p string) string {
	if p == "" {
		return ""
	}
	return buildflags.AbsFrom(dir, p)
}
