// Package gitcredentials implements `mos git-credentials`: a git credential
// helper (git-credential(1)) answering with the --credentials entry for the
// host git asks about, so plain git commands reach the same private repos
// as mos build does.
package gitcredentials

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mongoose-os/mos/cli/buildflags"
	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/protocol"
)

// GitCredentialsOptions are the inputs of `mos git-credentials`.
type GitCredentialsOptions struct {
	IO          *cmdutil.IOStreams
	Credentials string // --credentials
	GHToken     string // --gh-token
	Operation   string // get, store or erase; "" is get, as stock answers any call
}

// NewCmdGitCredentials returns the git-credentials command; runF replaces
// the run in tests.
func NewCmdGitCredentials(f *cmdutil.Factory, runF func(*GitCredentialsOptions) error) *cobra.Command {
	opts := &GitCredentialsOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "git-credentials [get|store|erase]",
		Short: "Git credential helper serving --credentials",
		Long: `A git credential helper: git writes what it needs on stdin (host=...), and
for "get" this answers username= and password= from the --credentials entry
for that host (HOST:PORT, then HOST, then an entry without a host). "store"
and "erase" change nothing. Configure git with, for example:

  git config --global credential.helper '!mos git-credentials --credentials @/path/to/creds'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Operation = args[0]
			}
			switch opts.Operation {
			case "", "get", "store", "erase":
			default:
				return cmdutil.FlagErrorf("unknown git credential operation %q: want get, store or erase", opts.Operation)
			}
			if runF != nil {
				return runF(opts)
			}
			return gitCredentialsRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Credentials, "credentials", "", "credentials: TOKEN, HOST:TOKEN or HOST:USER:PASS, comma-separated, or @FILE")
	fl.StringVar(&opts.GHToken, "gh-token", "", "deprecated, use --credentials github.com:TOKEN")
	_ = fl.MarkHidden("gh-token")
	return cmd
}

func gitCredentialsRun(opts *GitCredentialsOptions) error {
	creds, err := buildflags.ParseCredentials(opts.Credentials, opts.GHToken)
	if err != nil {
		return fmt.Errorf("invalid --credentials: %w", err)
	}
	if len(creds) == 0 {
		return cmdutil.FlagErrorf("git-credentials needs --credentials")
	}
	attrs, err := readAttrs(opts.IO.In)
	if err != nil {
		return fmt.Errorf("reading git's request from stdin: %w", err)
	}
	if opts.Operation != "" && opts.Operation != "get" {
		return nil
	}
	c := lookup(creds, attrs["host"])
	if c == nil {
		return nil // git tries its next helper, or fails
	}
	_, err = fmt.Fprintf(opts.IO.Out, "username=%s\npassword=%s\n", c.User, c.Pass)
	return err
}

// readAttrs reads key=value lines up to a blank line or the end.
func readAttrs(r io.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			attrs[k] = v
		}
	}
	return attrs, sc.Err()
}

// lookup finds the entry for host (which may carry a port): the exact
// entry, the host without its port, then the host-less one.
func lookup(creds map[string]protocol.Credentials, host string) *protocol.Credentials {
	keys := []string{host}
	if h, _, err := net.SplitHostPort(host); err == nil {
		keys = append(keys, h)
	}
	keys = append(keys, "")
	for _, k := range keys {
		if c, ok := creds[k]; ok {
			return &c
		}
	}
	return nil
}
