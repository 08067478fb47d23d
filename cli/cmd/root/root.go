// Package root assembles the mos command tree, binds the global flags and
// turns a command's error into a message and an exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mongoose-os/mos/cli/cmd/build"
	"github.com/mongoose-os/mos/cli/cmd/clone"
	"github.com/mongoose-os/mos/cli/cmd/createfwbundle"
	"github.com/mongoose-os/mos/cli/cmd/evalexpr"
	"github.com/mongoose-os/mos/cli/cmd/gitcredentials"
	"github.com/mongoose-os/mos/cli/cmd/stock"
	"github.com/mongoose-os/mos/cli/cmd/update"
	"github.com/mongoose-os/mos/cli/cmd/version"
	"github.com/mongoose-os/mos/cli/cmdutil"
)

// NewCmdRoot returns the mos command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mos <command> [flags]",
		Short: "The Mongoose OS command line tool, with fast remote builds",
		Long: `The Mongoose OS command line tool (a fork of mos 2.20.0) whose remote
builds reuse the build server's context, keep exec bits and cache build/gen.

Any flag not given on the command line is taken from MOS_<FLAG>, e.g.
MOS_PLATFORM=esp32 or MOS_KEEP_BUILD_DIR=true.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ApplyEnv(cmd.Flags(), f.Getenv); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			if f.Global.Chdir != "" {
				if err := os.Chdir(f.Global.Chdir); err != nil {
					return fmt.Errorf("-C %s: %w", f.Global.Chdir, err)
				}
			}
			if names := cmdutil.NoEffectGiven(cmd.Flags()); f.Global.Verbose && len(names) > 0 {
				fmt.Fprintf(f.IO.ErrOut, "No effect in this build of mos (accepted as stock mos accepts them): --%s\n",
					strings.Join(names, ", --"))
			}
			return nil
		},
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})

	pf := cmd.PersistentFlags()
	pf.StringVarP(&f.Global.Chdir, "chdir", "C", "", "change to this directory first")
	pf.BoolVar(&f.Global.Verbose, "verbose", false, "verbose output (build logs to stderr too)")
	pf.StringVar(&f.Global.TempDir, "temp-dir", "", "directory for temporary files (default ~/.mos/tmp)")
	pf.BoolVar(&f.Global.KeepTempFiles, "keep-temp-files", false, "keep temporary files after the command")
	// Read by the commands run by stock mos, from their own arguments.
	pf.String(stock.Flag, "", "stock mos binary for the commands this build leaves to stock mos (or "+stock.EnvVar+", or "+stock.PathBinary+" on PATH)")
	full := pf.Bool("full", false, "with help: also show the hidden flags")
	// Every other flag of stock mos is accepted anywhere, as stock does.
	if err := cmdutil.AddNoEffectFlags(pf); err != nil {
		panic(err) // the table is wrong; a test catches it
	}
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if *full {
			c.Flags().VisitAll(func(fl *pflag.Flag) { fl.Hidden = false })
			c.InheritedFlags().VisitAll(func(fl *pflag.Flag) { fl.Hidden = false })
		}
		defaultHelp(c, args)
	})

	cmd.AddGroup(
		&cobra.Group{ID: ownGroup, Title: "Commands:"},
		&cobra.Group{ID: stock.GroupID, Title: "Commands run by stock mos (--stock-mos PATH, " + stock.EnvVar + " or " + stock.PathBinary + " on PATH):"},
	)
	cmd.SetHelpCommandGroupID(ownGroup)
	own := []*cobra.Command{version.NewCmdVersion(f, nil)}
	for _, add := range extraCommands {
		own = append(own, add(f))
	}
	for _, c := range own {
		c.GroupID = ownGroup
		cmd.AddCommand(c)
	}
	for _, c := range stock.Commands {
		cmd.AddCommand(stock.NewCmdStock(f, c, nil))
	}
	return cmd
}

const ownGroup = "own"

// extraCommands are the commands beyond version; kept in one list so the
// tree is assembled in one place.
var extraCommands = []func(*cmdutil.Factory) *cobra.Command{
	func(f *cmdutil.Factory) *cobra.Command { return build.NewCmdBuild(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return evalexpr.NewCmdEvalExpr(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return createfwbundle.NewCmdCreateFWBundle(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return clone.NewCmdClone(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return gitcredentials.NewCmdGitCredentials(f, nil) },
	func(f *cmdutil.Factory) *cobra.Command { return update.NewCmdUpdate(f, nil) },
}

// Main runs mos with the process's arguments and returns the exit code.
// SIGINT and SIGTERM cancel the command's context, so a build stops its
// make or Docker container instead of leaving it running.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cmdutil.New(), os.Args[1:])
}

// Run executes the command tree with args and reports errors on f.IO.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	return report(f.IO.ErrOut, cmd.ExecuteContext(ctx))
}

func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, cmdutil.ErrSilent) {
		return 1
	}
	var se *stock.ExitError
	if errors.As(err, &se) {
		return se.Code // stock mos said why
	}
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) {
		fmt.Fprintf(w, "Error: %v\nRun \"mos help\" for usage.\n", err)
		return 2
	}
	fmt.Fprintf(w, "Error: %v\n", err)
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
