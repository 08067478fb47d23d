// Package version implements `mos version`.
package version

import (
	"fmt"
	"io"

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
	return writeVersion(opts.IO.Out, ver.Version, ver.PackageVersion, ver.BuildID)
}

// writeVersion prints stock mos's lines; the fork's package version, when
// the build has one, goes on its own line so that tools reading
// "Version: 2.20.0" still see the presented version.
func writeVersion(w io.Writer, version, pkg, buildID string) error {
	s := fmt.Sprintf("The Mongoose OS command line tool\nVersion: %s\n", version)
	if pkg != "" {
		s += fmt.Sprintf("Package version: %s\n", pkg)
	}
	s += fmt.Sprintf("Build ID: %s\n", buildID)
	_, err := io.WriteString(w, s)
	return err
}
