// Package update implements `mos update`: stock mos replaces itself with a
// download from mongoose-os.com; this fork is updated the way it was
// installed, so the command says how instead of fetching stock mos.
package update

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/cmdutil"
	ver "github.com/mongoose-os/mos/common/version"
)

// UpdateOptions are the inputs of `mos update`.
type UpdateOptions struct {
	IO      *cmdutil.IOStreams
	Channel string // stock's optional update channel or version; not used
	// PackageVersion is this build's own release ("" for a build from
	// source).
	PackageVersion string
}

// NewCmdUpdate returns the update command; runF replaces the run in tests.
func NewCmdUpdate(f *cmdutil.Factory, runF func(*UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{IO: f.IO, PackageVersion: ver.PackageVersion}
	return &cobra.Command{
		Use:   "update [channel]",
		Short: "Say how this build of mos is updated (it does not replace itself)",
		Long: `Stock mos updates itself from mongoose-os.com. This fork is updated the way
it was installed: its Debian package, its release archive, or a build from
source. The optional channel or version of stock's update is accepted and
ignored.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Channel = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return updateRun(opts)
		},
	}
}

func updateRun(opts *UpdateOptions) error {
	return writeHowTo(opts.IO.Out, opts.PackageVersion, opts.Channel)
}

func writeHowTo(w io.Writer, pkg, channel string) error {
	installed := "built from source"
	if pkg != "" {
		installed = "package version " + pkg
	}
	s := fmt.Sprintf("This mos is a fork of stock mos %s (%s); it does not update itself.\n", ver.Version, installed)
	if channel != "" {
		s += fmt.Sprintf("The update channel %q is stock's; this fork has no channels.\n", channel)
	}
	s += `Update it the way it was installed:
  Debian/Ubuntu package: apt-get install ./mos_<version>_<arch>.deb (a newer package), or apt-get upgrade from your team's repository
  Release archive:       unpack a newer mos-<version>-<os>-<arch>.tar.gz (.zip on Windows) over the old binary
  From source:           git pull && make build (or make install PREFIX=...)
For stock mos itself, run its own "mos update".
`
	_, err := io.WriteString(w, s)
	return err
}
