// Package version implements `mos version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/cmdutil"
	ver "github.com/mongoose-os/mos/common/version"
)

// VersionOptions are the inputs of `mos version`.
type VersionOptions struct {
	IO *cmdutil.IOStreams
}

// NewCmdVersion returns the version command; runF replaces the run in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "version",
		Short: "Show the version and build id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	_, err := fmt.Fprintf(opts.IO.Out, "The Mongoose OS command line tool\nVersion: %s\nBuild ID: %s\n",
		ver.Version, ver.BuildID)
	return err
}
